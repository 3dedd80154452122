using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;

namespace Transport.IoUring.Interop;

/// <summary>
/// A provided-buffer ring (IORING_REGISTER_PBUF_RING, 5.19): a ring of buffer descriptors shared
/// with the kernel, from which recv picks buffers. The transport copies each completion into the
/// connection's input pipe and hands the buffers straight back, so a buffer is lent to the kernel
/// for one completion only and idle connections hold none.
/// </summary>
/// <remarks>
/// <para>
/// With receive bundles (IORING_RECVSEND_BUNDLE, 6.10) one completion may have filled several
/// buffers: the CQE names the first and the byte count, and the others are the ones that followed
/// it in the ring, so the ring remembers where it placed each buffer id (<see cref="Take"/> walks
/// from there).
/// </para>
/// <para>
/// With incremental consumption (IOU_PBUF_RING_INC, 6.12) the kernel uses a buffer in parts: a
/// small read takes only the bytes it needs, the next read (of any connection of the ring)
/// continues where it stopped, and the buffer comes back to the transport only when the kernel has
/// used it up. Kernel and transport both keep the current offset of such a buffer; the CQE carries
/// only the buffer id and the count. This ring keeps that offset per buffer id.
/// </para>
/// <para>
/// Both rely on completions being handled in the order the kernel took the buffers, as the
/// kernel's own accounting does: a recv that selects from a buffer ring commits its buffers and
/// posts its CQE under the ring lock (with DEFER_TASKRUN every recv runs on the ring's thread), and
/// the transport never sets IOSQE_ASYNC, which the kernel's incremental-consumption patch names as
/// the case where a buffer is consumed whole whatever the read's size.
/// </para>
/// </remarks>
internal sealed unsafe class ProvidedBufferRing : IDisposable
{
    private readonly Ring _ring;
    private readonly BufRingEntry* _entries;
    private readonly nuint _entriesSize;
    private readonly byte* _buffers;
    private readonly uint _mask;

    // Where Add last placed each buffer id (a ring position, wrapping like the tail): a bundle's
    // further buffers are the ones placed after its first.
    private readonly ushort[] _positionOf;

    // Incremental: bytes of each buffer the kernel has already used (0 for a fresh buffer).
    private readonly int[]? _consumedOf;

    // The buffers of the completion being taken (Take … Release).
    private readonly ushort[] _takenIds;
    private readonly int[] _takenOffsets;
    private readonly int[] _takenLengths;
    private int _takenCount;
    private bool _lastTakenKept;

    private ushort _tail;
    private bool _registered;
    private bool _disposed;

    public ProvidedBufferRing(Ring ring, ushort groupId, int entries, int bufferSize, bool incremental = false)
    {
        Debug.Assert(entries > 0 && (entries & (entries - 1)) == 0, "entries must be a power of two");
        _ring = ring;
        GroupId = groupId;
        Entries = entries;
        BufferSize = bufferSize;
        _mask = (uint)entries - 1;
        Incremental = incremental;
        _positionOf = new ushort[entries];
        _consumedOf = incremental ? new int[entries] : null;
        _takenIds = new ushort[entries];
        _takenOffsets = new int[entries];
        _takenLengths = new int[entries];

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
        reg.Pad = incremental ? PbufRingFlags.Incremental : (ushort)0; // the flags field since 6.4
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

    /// <summary>Registered with IOU_PBUF_RING_INC: the kernel consumes buffers in parts.</summary>
    public bool Incremental { get; }

    /// <summary>Completions whose bytes spanned more than one buffer (receive bundles at work).</summary>
    public long MultiBufferCompletions { get; private set; }

    /// <summary>Completions that began inside a buffer earlier completions had partly used (incremental consumption at work).</summary>
    public long PartialBufferReuses { get; private set; }

    /// <summary>
    /// True when the kernel accepts a buffer ring with these flags: without flags since 5.19,
    /// with <paramref name="incremental"/> (IOU_PBUF_RING_INC) since 6.12 (EINVAL before).
    /// </summary>
    public static bool IsSupported(Ring ring, bool incremental = false)
    {
        try
        {
            using var probe = new ProvidedBufferRing(ring, groupId: 0, entries: 2, bufferSize: 64, incremental);
            return true;
        }
        catch (RingException)
        {
            return false;
        }
    }

    /// <summary>The bytes the kernel wrote into buffer <paramref name="bufferId"/>, from its start.</summary>
    public ReadOnlySpan<byte> GetBuffer(ushort bufferId, int length) => GetBuffer(bufferId, 0, length);

    /// <summary>The bytes the kernel wrote into buffer <paramref name="bufferId"/> at <paramref name="offset"/>.</summary>
    public ReadOnlySpan<byte> GetBuffer(ushort bufferId, int offset, int length)
    {
        Debug.Assert(bufferId < Entries && offset >= 0 && offset + length <= BufferSize);
        return new ReadOnlySpan<byte>(_buffers + ((nint)bufferId * BufferSize) + offset, length);
    }

    /// <summary>
    /// Takes the <paramref name="length"/> bytes of one receive completion that began in buffer
    /// <paramref name="firstId"/>: returns how many buffers they span; <see cref="Segment"/> gives
    /// each one's bytes, in order, and <see cref="Release"/> then hands back the buffers the kernel
    /// is done with. One completion at a time, on the ring's thread.
    /// </summary>
    /// <param name="firstId">The buffer id of the CQE.</param>
    /// <param name="length">The CQE's result (> 0).</param>
    /// <param name="bufferMore">IORING_CQE_F_BUF_MORE of the completion: the kernel keeps the last buffer for more.</param>
    /// <param name="bundle">The recv was a bundle (IORING_RECVSEND_BUNDLE).</param>
    public int Take(ushort firstId, int length, bool bufferMore, bool bundle)
    {
        Debug.Assert(_takenCount == 0, "the previous completion's buffers were not released");
        Debug.Assert(firstId < Entries && length > 0);
        ushort position = _positionOf[firstId];
        ushort id = firstId;
        int offset = _consumedOf?[firstId] ?? 0;
        if (offset > 0)
        {
            PartialBufferReuses++;
        }

        int remaining = length;
        int count = 0;
        while (true)
        {
            int taken = Math.Min(remaining, BufferSize - offset);
            _takenIds[count] = id;
            _takenOffsets[count] = offset;
            _takenLengths[count] = taken;
            count++;
            remaining -= taken;
            if (remaining == 0 || count == Entries)
            {
                Debug.Assert(remaining == 0, $"a completion of {length} bytes runs past the {Entries} buffers of the ring");
                _lastTakenKept = Incremental && LastBufferStaysWithKernel(offset + taken, bufferMore, bundle);
                break;
            }

            // The rest is in the buffers placed after this one (only a bundle spans buffers; a
            // buffer after the first is always fresh).
            Debug.Assert(bundle, "a completion without a bundle spans more than one buffer");
            position++;
            id = _entries[position & _mask].Bid;
            offset = 0;
        }

        if (count > 1)
        {
            MultiBufferCompletions++;
        }

        _takenCount = count;
        return count;
    }

    /// <summary>The bytes of buffer <paramref name="index"/> (0 … count − 1) of the completion being taken.</summary>
    public ReadOnlySpan<byte> Segment(int index)
    {
        Debug.Assert(index < _takenCount);
        return GetBuffer(_takenIds[index], _takenOffsets[index], _takenLengths[index]);
    }

    /// <summary>
    /// Hands back every buffer of the completion being taken that the kernel is done with; an
    /// incrementally consumed buffer it still uses stays lent, with its new offset remembered.
    /// </summary>
    public void Release()
    {
        int count = _takenCount;
        _takenCount = 0;
        for (int i = 0; i < count; i++)
        {
            ushort id = _takenIds[i];
            if (i == count - 1 && _lastTakenKept)
            {
                _consumedOf![id] = _takenOffsets[i] + _takenLengths[i];
                return;
            }

            if (_consumedOf is not null)
            {
                _consumedOf[id] = 0;
            }

            Add(id);
        }
    }

    /// <summary>Gives buffer <paramref name="bufferId"/> back to the kernel (visible after <see cref="Publish"/>).</summary>
    public void Add(ushort bufferId)
    {
        _positionOf[bufferId] = _tail;
        BufRingEntry* e = &_entries[_tail & _mask];
        e->Addr = (ulong)(_buffers + (nint)bufferId * BufferSize);
        e->Len = (uint)BufferSize;
        e->Bid = bufferId;
        _tail++;
    }

    // Whether the kernel still uses the last buffer of an incremental completion, whose bytes end at
    // usedEnd. Without a bundle the completion's IORING_CQE_F_BUF_MORE says so; it is the only
    // witness when a recv ran unlocked in io-wq, where the kernel consumes the whole buffer at
    // selection. A bundle commits exactly what it received (io_kbuf_inc_commit: a buffer stays
    // while bytes remain in it), so there the count decides: kernels before the fix that added
    // IORING_CQE_F_BUF_MORE to the bundle-retry flag mask (2026) could drop or keep a stale flag.
    private bool LastBufferStaysWithKernel(int usedEnd, bool bufferMore, bool bundle) =>
        bundle ? usedEnd < BufferSize : bufferMore;

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
