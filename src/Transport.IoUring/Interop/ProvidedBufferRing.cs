using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;

namespace Transport.IoUring.Interop;

/// <summary>
/// A provided-buffer ring (IORING_REGISTER_PBUF_RING, 5.19): a ring of buffer descriptors shared
/// with the kernel, from which multishot recv picks a buffer per completion. The transport copies
/// each completion into the connection's input pipe and hands the buffer straight back, so a
/// buffer is lent to the kernel for one completion only and idle connections hold none.
/// </summary>
internal sealed unsafe class ProvidedBufferRing : IDisposable
{
    private readonly Ring _ring;
    private readonly BufRingEntry* _entries;
    private readonly nuint _entriesSize;
    private readonly byte* _buffers;
    private readonly uint _mask;
    private ushort _tail;
    private bool _registered;
    private bool _disposed;

    public ProvidedBufferRing(Ring ring, ushort groupId, int entries, int bufferSize)
    {
        Debug.Assert(entries > 0 && (entries & (entries - 1)) == 0, "entries must be a power of two");
        _ring = ring;
        GroupId = groupId;
        Entries = entries;
        BufferSize = bufferSize;
        _mask = (uint)entries - 1;

        // The descriptor ring must be page aligned: anonymous mmap gives that.
        _entriesSize = (nuint)(entries * sizeof(BufRingEntry));
        nint mem = LibC.Mmap(0, _entriesSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, 0);
        if (mem == LibC.MAP_FAILED)
        {
            throw new RingException("mmap of the provided-buffer ring failed", LibC.LastErrno);
        }

        _entries = (BufRingEntry*)mem;
        _buffers = (byte*)NativeMemory.AlignedAlloc((nuint)entries * (nuint)bufferSize, 4096);

        BufRingRegistration reg = default;
        reg.RingAddr = (ulong)_entries;
        reg.RingEntries = (uint)entries;
        reg.Bgid = groupId;
        int ret = ring.Register(RegisterOp.RegisterPbufRing, &reg, 1);
        if (ret < 0)
        {
            Free();
            throw new RingException("IORING_REGISTER_PBUF_RING failed", -ret);
        }

        _registered = true;
        for (int i = 0; i < entries; i++)
        {
            Add((ushort)i);
        }

        Publish();
    }

    public ushort GroupId { get; }
    public int Entries { get; }
    public int BufferSize { get; }

    public static bool IsSupported(Ring ring)
    {
        try
        {
            using var probe = new ProvidedBufferRing(ring, groupId: 0, entries: 2, bufferSize: 64);
            return true;
        }
        catch (RingException)
        {
            return false;
        }
    }

    /// <summary>The bytes the kernel wrote into buffer <paramref name="bufferId"/>.</summary>
    public ReadOnlySpan<byte> GetBuffer(ushort bufferId, int length)
    {
        Debug.Assert(bufferId < Entries && length <= BufferSize);
        return new ReadOnlySpan<byte>(_buffers + (nint)bufferId * BufferSize, length);
    }

    /// <summary>Gives buffer <paramref name="bufferId"/> back to the kernel (visible after <see cref="Publish"/>).</summary>
    public void Add(ushort bufferId)
    {
        BufRingEntry* e = &_entries[_tail & _mask];
        e->Addr = (ulong)(_buffers + (nint)bufferId * BufferSize);
        e->Len = (uint)BufferSize;
        e->Bid = bufferId;
        _tail++;
    }

    /// <summary>Makes the added buffers visible to the kernel (release store of the ring tail).</summary>
    public void Publish()
    {
        // The tail overlays entry 0's resv field (struct io_uring_buf_ring).
        Volatile.Write(ref _entries->Resv, _tail);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_registered)
        {
            BufRingRegistration reg = default;
            reg.Bgid = GroupId;
            _ring.Register(RegisterOp.UnregisterPbufRing, &reg, 1);
            _registered = false;
        }

        Free();
    }

    private void Free()
    {
        if (_entries != null)
        {
            LibC.Munmap((nint)_entries, _entriesSize);
        }

        if (_buffers != null)
        {
            NativeMemory.AlignedFree(_buffers);
        }
    }
}
