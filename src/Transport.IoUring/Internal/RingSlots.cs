using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace Transport.IoUring.Internal;

/// <summary>
/// The slots of one ring: every connection and acceptor holds one while any of its requests may
/// still complete, and every request's user_data names the slot and the generation it was given.
/// A slot's generation changes each time it is freed, so a completion that arrives for an owner
/// that is gone is recognised by its generation and dropped, and never reaches the owner that took
/// the slot next. Ring thread only.
/// </summary>
internal sealed class RingSlots
{
    private IRingSlotOwner?[] _owners = new IRingSlotOwner?[64];
    private uint[] _generations = new uint[64];
    private readonly Stack<int> _free = new();
    private int _used;

    /// <summary>Slots held now.</summary>
    public int Count { get; private set; }

    /// <summary>Takes a free slot for an owner about to be built; <see cref="Occupy"/> puts it there.</summary>
    public int Reserve(out uint generation)
    {
        int slot;
        if (!_free.TryPop(out slot))
        {
            slot = _used++;
            if (slot == _owners.Length)
            {
                Array.Resize(ref _owners, slot * 2);
                Array.Resize(ref _generations, slot * 2);
            }
        }

        generation = _generations[slot];
        Count++;
        return slot;
    }

    public void Occupy(int slot, IRingSlotOwner owner)
    {
        Debug.Assert(_owners[slot] is null);
        _owners[slot] = owner;
    }

    /// <summary>Frees a slot once nothing of its owner is in flight; its next owner gets a new generation.</summary>
    public void Free(int slot)
    {
        Debug.Assert(Count > 0);
        _owners[slot] = null;
        _generations[slot] = (_generations[slot] + 1) & UserData.GenerationMask;
        _free.Push(slot);
        Count--;
    }

    /// <summary>The owner a completion is for, or null when the slot is free or has changed hands since.</summary>
    public IRingSlotOwner? Find(int slot, uint generation)
    {
        return (uint)slot < (uint)_used && _generations[slot] == generation ? _owners[slot] : null;
    }

    /// <summary>The owners now holding slots (a copy: owners may free their slots while it is walked).</summary>
    public IRingSlotOwner[] Snapshot()
    {
        var owners = new List<IRingSlotOwner>(Count);
        for (int i = 0; i < _used; i++)
        {
            if (_owners[i] is { } owner)
            {
                owners.Add(owner);
            }
        }

        return owners.ToArray();
    }
}
