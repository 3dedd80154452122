using System;
using System.Buffers;

namespace Transport.IoUring.Interop;

/// <summary>
/// The gather list of one sendmsg: up to <see cref="Capacity"/> iovecs in native memory and the pins
/// that keep their segments in place while the kernel reads them. A connection holds one only while
/// a multi-segment send is in flight; idle connections hold none (<see cref="Pool"/>).
/// </summary>
internal sealed class GatherList : IDisposable
{
    public const int Capacity = 64;

    private readonly MemoryHandle[] _pins = new MemoryHandle[Capacity];
    private int _count;

    public IoVecBuffer IoVecs { get; } = new(Capacity);

    /// <summary>Pins the non-empty segments of <paramref name="buffer"/>, up to <see cref="Capacity"/>; the rest is left for the next send.</summary>
    public void Fill(in ReadOnlySequence<byte> buffer)
    {
        int count = 0;
        foreach (var segment in buffer)
        {
            if (segment.IsEmpty)
            {
                continue;
            }

            if (count == Capacity)
            {
                break;
            }

            _pins[count] = segment.Pin();
            IoVecs.Set(count, LibC.AddressOf(_pins[count]), segment.Length);
            count++;
        }

        _count = count;
        IoVecs.Seal(count);
    }

    /// <summary>Unpins the segments once the kernel is done with them.</summary>
    public void Release()
    {
        for (int i = 0; i < _count; i++)
        {
            _pins[i].Dispose();
            _pins[i] = default;
        }

        _count = 0;
    }

    public void Dispose()
    {
        Release();
        IoVecs.Dispose();
    }

    /// <summary>Gather lists of one ring, rented on its thread for the length of one send.</summary>
    public sealed class Pool : IDisposable
    {
        private const int MaxRetained = 256;
        private readonly System.Collections.Generic.Stack<GatherList> _lists = new();

        public GatherList Rent() => _lists.TryPop(out var list) ? list : new GatherList();

        public void Return(GatherList list)
        {
            list.Release();
            if (_lists.Count < MaxRetained)
            {
                _lists.Push(list);
            }
            else
            {
                list.Dispose();
            }
        }

        public void Dispose()
        {
            while (_lists.TryPop(out var list))
            {
                list.Dispose();
            }
        }
    }
}
