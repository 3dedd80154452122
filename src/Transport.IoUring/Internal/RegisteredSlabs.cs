using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// Which of a ring's pool slabs are registered with its kernel table of buffers (PollAndReceive
/// mode), so reads into pipe memory can be IORING_OP_READ_FIXED. A slab is registered on first use,
/// in the slot of its pool index; when the pool evicts it, the slot is emptied on the ring thread
/// before the index goes back to the pool. Ring thread only, except <see cref="ReleaseAsync"/>.
/// </summary>
internal sealed class RegisteredSlabs
{
    private readonly RegisteredBufferTable _table;
    private readonly PinnedBlockMemoryPool _pool;
    private readonly RingThread _ringThread;
    private readonly ILogger _logger;
    private SlabState[] _states = new SlabState[64];
    private bool _limitLogged;
    private long _fixedBufferReads;
    private long _registered;

    public RegisteredSlabs(RegisteredBufferTable table, PinnedBlockMemoryPool pool, RingThread ringThread, ILogger logger)
    {
        _table = table;
        _pool = pool;
        _ringThread = ringThread;
        _logger = logger;
    }

    /// <summary>Where a slot of the table stands with respect to the slab of the same pool index.</summary>
    public enum SlabState : byte
    {
        /// <summary>No registration tried yet: the slab is new, or its index was reused after an eviction.</summary>
        NotTried,

        /// <summary>The slab's pages are in the slot; reads into it are READ_FIXED.</summary>
        Registered,

        /// <summary>The kernel refused (ENOMEM: RLIMIT_MEMLOCK); reads into the slab use plain recv.</summary>
        NotRegistrable,
    }

    /// <summary>Reads that went into registered pipe memory (IORING_OP_READ_FIXED); any thread.</summary>
    public long FixedBufferReads => Volatile.Read(ref _fixedBufferReads);

    /// <summary>Slots holding a slab now; any thread.</summary>
    public long RegisteredCount => Volatile.Read(ref _registered);

    /// <summary>The state of slot <paramref name="index"/> (tests).</summary>
    public SlabState StateOf(int index) => index < _states.Length ? _states[index] : SlabState.NotTried;

    /// <summary>
    /// The registered-buffer index of the pool slab <paramref name="memory"/> lies in, registering
    /// the slab on first use; -1 when it is not (or cannot be) registered.
    /// </summary>
    public int GetFixedBufferIndex(Memory<byte> memory)
    {
        Debug.Assert(_ringThread.IsOnRingThread);
        if (!_pool.TryGetSlab(memory, out int slab, out byte[]? array) || slab >= _table.Slots)
        {
            return -1;
        }

        if (slab >= _states.Length)
        {
            Array.Resize(ref _states, Math.Max(slab + 1, _states.Length * 2));
        }

        switch (_states[slab])
        {
            case SlabState.NotTried:
                int errno = _table.TryRegister(slab, LibC.AddressOfPinned(array), array.Length);
                if (errno != 0)
                {
                    _states[slab] = SlabState.NotRegistrable;
                    if (!_limitLogged)
                    {
                        _limitLogged = true;
                        IoUringLog.RegisteredBuffersLimited(_logger, _ringThread.Id, slab, LibC.Describe(errno));
                    }

                    return -1;
                }

                _states[slab] = SlabState.Registered;
                Volatile.Write(ref _registered, _registered + 1);
                break;

            case SlabState.NotRegistrable:
                return -1;
        }

        Volatile.Write(ref _fixedBufferReads, _fixedBufferReads + 1);
        return slab;
    }

    /// <summary>
    /// Empties the slots of evicted slabs on the ring thread, then gives their indexes back to the
    /// pool. The arrays stay referenced (so not collected) until then. Completes when done, or when
    /// the ring stops first (its table is unregistered whole at teardown).
    /// </summary>
    public Task ReleaseAsync(List<PinnedBlockMemoryPool.EvictedSlab> slabs)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ringThread.Schedule(static state =>
        {
            var (self, slabs, done) = ((RegisteredSlabs, List<PinnedBlockMemoryPool.EvictedSlab>, TaskCompletionSource))state!;
            self.Release(slabs);
            done.TrySetResult();
        }, (this, slabs, done));
        return Task.WhenAny(done.Task, _ringThread.Stopped);
    }

    private void Release(List<PinnedBlockMemoryPool.EvictedSlab> slabs)
    {
        Debug.Assert(_ringThread.IsOnRingThread);
        foreach (var slab in slabs)
        {
            if (slab.Index < _states.Length && _states[slab.Index] == SlabState.Registered)
            {
                int errno = _table.TryUnregister(slab.Index);
                if (errno != 0)
                {
                    // The slot may still name the slab's pages: its index is never reused and the
                    // array stays alive in the pool, rather than risk the kernel reading through it.
                    IoUringLog.SlabUnregisterFailed(_logger, _ringThread.Id, slab.Index, LibC.Describe(errno));
                    _pool.Quarantine(slab);
                    continue;
                }

                Volatile.Write(ref _registered, _registered - 1);
            }

            if (slab.Index < _states.Length)
            {
                _states[slab.Index] = SlabState.NotTried;
            }

            _pool.ReleaseSlabIndex(slab.Index);
        }
    }
}
