using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Transport.IoUring.Interop;

/// <summary>
/// One io_uring instance: the mmap'd submission and completion rings and the syscalls on them.
/// Not thread-safe: with SINGLE_ISSUER only the thread that created the ring may submit, register
/// or reap, so every call comes from the owning <c>RingThread</c>.
/// </summary>
internal sealed unsafe class Ring : IDisposable
{
    private readonly int _ringFd;
    private int _enterFd;
    private uint _enterFlags;

    private readonly nint _sqRingPtr;
    private readonly nuint _sqRingSize;
    private readonly nint _cqRingPtr;   // equals _sqRingPtr with IORING_FEAT_SINGLE_MMAP
    private readonly nuint _cqRingSize;
    private readonly nint _sqesPtr;
    private readonly nuint _sqesSize;

    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint* _sqFlags;
    private readonly uint _sqMask;
    private readonly Sqe* _sqes;
    private uint _sqeTail;      // next SQE to hand out; published to *_sqTail on submit

    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint* _cqOverflow;
    private readonly uint _cqMask;
    private readonly Cqe* _cqes;

    // Counted by the owning thread with plain increments; other threads read them with Volatile.Read.
    private long _enterCalls;
    private long _submittedSqes;
    private long _reapedCqes;

    // Dispose and reads of the kernel's overflow counter from other threads (metrics) take this
    // lock, so the counter is never read from unmapped memory; the ring's own thread never does.
    private readonly object _unmapLock = new();
    private uint _cqOverflowAtDispose;
    private bool _disposed;

    private Ring(int fd, in IoUringParams p)
    {
        _ringFd = fd;
        _enterFd = fd;
        SetupFlags = p.Flags;
        Features = p.Features;
        SqEntries = p.SqEntries;
        CqEntries = p.CqEntries;

        _sqRingSize = p.SqOff.Array + p.SqEntries * sizeof(uint);
        _cqRingSize = p.CqOff.Cqes + p.CqEntries * (uint)sizeof(Cqe);
        bool singleMmap = (p.Features & Interop.Features.SingleMmap) != 0;
        if (singleMmap)
        {
            _sqRingSize = _cqRingSize = Math.Max(_sqRingSize, _cqRingSize);
        }

        try
        {
            _sqRingPtr = MapOrThrow(fd, _sqRingSize, MmapOffsets.SqRing);
            _cqRingPtr = singleMmap ? _sqRingPtr : MapOrThrow(fd, _cqRingSize, MmapOffsets.CqRing);
            _sqesSize = p.SqEntries * (uint)sizeof(Sqe);
            _sqesPtr = MapOrThrow(fd, _sqesSize, MmapOffsets.Sqes);
        }
        catch
        {
            Unmap();
            LibC.Close(fd);
            throw;
        }

        byte* sq = (byte*)_sqRingPtr;
        _sqHead = (uint*)(sq + p.SqOff.Head);
        _sqTail = (uint*)(sq + p.SqOff.Tail);
        _sqFlags = (uint*)(sq + p.SqOff.Flags);
        _sqMask = *(uint*)(sq + p.SqOff.RingMask);
        _sqes = (Sqe*)_sqesPtr;
        _sqeTail = *_sqTail;

        // The SQ index array maps ring slots to SQEs; an identity mapping lets SQE i live in slot i.
        uint* array = (uint*)(sq + p.SqOff.Array);
        for (uint i = 0; i < p.SqEntries; i++)
        {
            array[i] = i;
        }

        byte* cq = (byte*)_cqRingPtr;
        _cqHead = (uint*)(cq + p.CqOff.Head);
        _cqTail = (uint*)(cq + p.CqOff.Tail);
        _cqOverflow = (uint*)(cq + p.CqOff.Overflow);
        _cqMask = *(uint*)(cq + p.CqOff.RingMask);
        _cqes = (Cqe*)(cq + p.CqOff.Cqes);
    }

    public int Fd => _ringFd;
    public uint SetupFlags { get; }
    public uint Features { get; }
    public uint SqEntries { get; }
    public uint CqEntries { get; }
    public bool UsesRegisteredRingFd => (_enterFlags & EnterFlags.RegisteredRing) != 0;

    /// <summary>Requests handed out whose final CQE (one without IORING_CQE_F_MORE) is not reaped yet.</summary>
    public long InFlight { get; private set; }

    /// <summary>SQEs handed out and not yet passed to the kernel.</summary>
    public uint PendingSubmissions => _sqeTail - Volatile.Read(ref *_sqHead);

    /// <summary>
    /// The kernel's CQ overflow counter: completions it dropped because the CQ ring was full and it
    /// could not hold them back (with IORING_FEAT_NODROP only when allocating the overflow entry
    /// failed). Safe to read from any thread, also after <see cref="Dispose"/>.
    /// </summary>
    public uint CqOverflowCount
    {
        get
        {
            lock (_unmapLock)
            {
                return _disposed ? _cqOverflowAtDispose : Volatile.Read(ref *_cqOverflow);
            }
        }
    }

    /// <summary>io_uring_enter calls made on this ring (any thread may read).</summary>
    public long EnterCalls => Volatile.Read(ref _enterCalls);

    /// <summary>SQEs the kernel consumed, as io_uring_enter reported them (any thread may read).</summary>
    public long SubmittedSqes => Volatile.Read(ref _submittedSqes);

    /// <summary>CQEs read from the completion ring (any thread may read).</summary>
    public long ReapedCqes => Volatile.Read(ref _reapedCqes);

    /// <summary>Creates a ring, or returns null and the errno of io_uring_setup or mmap.</summary>
    public static Ring? TryCreate(uint sqEntries, uint cqEntries, uint setupFlags, out int errno)
    {
        IoUringParams p = default;
        p.Flags = setupFlags | (cqEntries > 0 ? Interop.SetupFlags.CqSize : 0);
        p.CqEntries = cqEntries;
        int fd = LibC.IoUringSetup(sqEntries, &p);
        if (fd < 0)
        {
            errno = LibC.LastErrno;
            return null;
        }

        try
        {
            errno = 0;
            return new Ring(fd, p);
        }
        catch (RingException ex)
        {
            errno = ex.Errno;
            return null;
        }
    }

    /// <summary>
    /// Registers the ring's own fd with the kernel (5.18) so io_uring_enter skips the fd table
    /// look-up on every call. Returns false where the kernel does not support it.
    /// </summary>
    public bool TryRegisterRingFd()
    {
        RsrcUpdate update = new() { Offset = uint.MaxValue, Data = (ulong)_ringFd };
        int ret = LibC.IoUringRegister(_ringFd, RegisterOp.RegisterRingFds, &update, 1);
        if (ret != 1)
        {
            return false;
        }

        _enterFd = (int)update.Offset;
        _enterFlags |= EnterFlags.RegisteredRing;
        return true;
    }

    /// <summary>The next free SQE, zeroed, or null when the submission ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Sqe* TryGetSqe()
    {
        uint head = Volatile.Read(ref *_sqHead);
        if (_sqeTail - head >= SqEntries)
        {
            return null;
        }

        Sqe* sqe = &_sqes[_sqeTail & _sqMask];
        *sqe = default;
        _sqeTail++;
        InFlight++;
        return sqe;
    }

    /// <summary>Free entries in the submission ring: how many Prepare* calls may follow before a submit.</summary>
    public uint FreeSubmissionEntries => SqEntries - (_sqeTail - Volatile.Read(ref *_sqHead));

    // One method per operation the transport submits; each fills one SQE (see SqePrep). The caller
    // makes room first (FreeSubmissionEntries, then Submit): a full ring here is a bug, never a
    // hidden io_uring_enter.

    // IORING_RECVSEND_BUNDLE rides in the recv's ioprio beside IORING_RECV_MULTISHOT.
    private static void MarkBundle(Sqe* sqe, bool bundle)
    {
        if (bundle)
        {
            sqe->IoPrio |= IoPrioFlags.RecvSendBundle;
        }
    }

    public void PrepareNop(ulong userData) => SqePrep.Nop(NextSqe(), userData);

    public void PrepareAccept(int listenFd, bool multishot, ulong userData) => SqePrep.Accept(NextSqe(), listenFd, multishot, userData);

    public void PrepareRecv(int fd, nint buffer, int length, int msgFlags, ulong userData) => SqePrep.Recv(NextSqe(), fd, (byte*)buffer, (uint)length, msgFlags, userData);

    public void PrepareReadFixed(int fd, nint buffer, int length, int bufferIndex, uint rwFlags, ulong userData) => SqePrep.ReadFixed(NextSqe(), fd, (byte*)buffer, (uint)length, (ushort)bufferIndex, rwFlags, userData);

    /// <summary>Multishot recv from a provided-buffer group; with <paramref name="bundle"/> (6.10) one completion may fill several buffers.</summary>
    public void PrepareRecvMultishot(int fd, ushort bufferGroup, bool bundle, ulong userData)
    {
        Sqe* sqe = NextSqe();
        SqePrep.RecvMultishot(sqe, fd, bufferGroup, userData);
        MarkBundle(sqe, bundle);
    }

    /// <summary>Single-shot recv from a provided-buffer group; with <paramref name="bundle"/> (6.10) it may fill several buffers.</summary>
    public void PrepareRecvSelect(int fd, ushort bufferGroup, bool bundle, ulong userData)
    {
        Sqe* sqe = NextSqe();
        SqePrep.RecvSelect(sqe, fd, bufferGroup, userData);
        MarkBundle(sqe, bundle);
    }

    public void PrepareSend(int fd, nint buffer, int length, int msgFlags, ulong userData) => SqePrep.Send(NextSqe(), fd, (byte*)buffer, (uint)length, msgFlags, userData);

    public void PrepareSendMsg(int fd, IoVecBuffer message, int msgFlags, ulong userData) => SqePrep.SendMsg(NextSqe(), fd, message.Header, msgFlags, userData);

    public void PreparePollAdd(int fd, uint events, bool multishot, ulong userData) => SqePrep.PollAdd(NextSqe(), fd, events, multishot, userData);

    public void PrepareRead(EventFd eventFd, ulong userData) => SqePrep.Read(NextSqe(), eventFd.Fd, eventFd.Buffer, sizeof(ulong), userData);

    public void PrepareCancel(ulong targetUserData, ulong userData) => SqePrep.Cancel(NextSqe(), targetUserData, userData);

    public void PrepareTimeout(TimeoutSpec timeout, ulong userData) => SqePrep.Timeout(NextSqe(), timeout.Pointer, userData);

    private Sqe* NextSqe()
    {
        Sqe* sqe = TryGetSqe();
        if (sqe == null)
        {
            throw new InvalidOperationException("The submission ring is full: make room (Submit) before preparing an SQE.");
        }

        return sqe;
    }

    /// <summary>Passes the pending SQEs to the kernel without waiting for anything; returns the number submitted, or -errno.</summary>
    public int Submit()
    {
        Volatile.Write(ref *_sqTail, _sqeTail);
        uint pending = _sqeTail - Volatile.Read(ref *_sqHead);
        int ret = LibC.IoUringEnter(_enterFd, pending, 0, _enterFlags);
        _enterCalls++;
        _submittedSqes += Math.Max(ret, 0);
        return ret < 0 ? -LibC.LastErrno : ret;
    }

    /// <summary>
    /// Publishes pending SQEs and enters the kernel once: submits them and, with
    /// <paramref name="minComplete"/> &gt; 0, waits for that many completions. Always asks for
    /// events, which with DEFER_TASKRUN is what runs the deferred completion work.
    /// Returns the number submitted, or -errno.
    /// </summary>
    public int SubmitAndWait(uint minComplete)
    {
        uint toSubmit = _sqeTail - *_sqTail;
        if (toSubmit != 0)
        {
            // Release: the kernel must see the SQE contents before the new tail.
            Volatile.Write(ref *_sqTail, _sqeTail);
        }

        // IORING_SQ_CQ_OVERFLOW: completions that did not fit the CQ ring wait in the kernel's
        // overflow list (IORING_FEAT_NODROP); this GETEVENTS enter flushes them into the ring.
        if ((Volatile.Read(ref *_sqFlags) & SqRingFlags.CqOverflow) != 0)
        {
            CqOverflowBacklogs++;
        }

        uint pending = _sqeTail - Volatile.Read(ref *_sqHead);
        int ret = LibC.IoUringEnter(_enterFd, pending, minComplete, EnterFlags.GetEvents | _enterFlags);
        _enterCalls++;
        _submittedSqes += Math.Max(ret, 0);
        return ret < 0 ? -LibC.LastErrno : ret;
    }

    /// <summary>Enters that found completions held back in the kernel's overflow list because the CQ ring was full (ring thread).</summary>
    public long CqOverflowBacklogs { get; private set; }

    /// <summary>True when the kernel has completions waiting in the CQ ring.</summary>
    public bool HasCompletions => Volatile.Read(ref *_cqTail) != *_cqHead;

    /// <summary>Reads up to <paramref name="batch"/>.Length completions and releases their slots to the kernel.</summary>
    public int ReapCompletions(Span<Completion> batch)
    {
        uint head = *_cqHead;
        uint tail = Volatile.Read(ref *_cqTail);   // acquire: CQE contents are visible once the tail is
        int count = 0;
        while (head != tail && count < batch.Length)
        {
            ref Cqe cqe = ref _cqes[head & _cqMask];
            if ((cqe.Flags & CqeFlags.More) == 0)
            {
                InFlight--;
            }

            batch[count++] = new Completion(cqe.UserData, cqe.Res, cqe.Flags);
            head++;
        }

        if (count != 0)
        {
            Volatile.Write(ref *_cqHead, head);    // release the slots back to the kernel
        }

        _reapedCqes += count;
        return count;
    }

    public int Register(uint opcode, void* arg, uint nrArgs)
    {
        int ret = LibC.IoUringRegister(_ringFd, opcode, arg, nrArgs);
        return ret < 0 ? -LibC.LastErrno : ret;
    }

    public void Dispose()
    {
        lock (_unmapLock)
        {
            if (_disposed)
            {
                return;
            }

            _cqOverflowAtDispose = Volatile.Read(ref *_cqOverflow);
            _disposed = true;
            Unmap();
        }

        LibC.Close(_ringFd);
    }

    private void Unmap()
    {
        if (_sqesPtr != 0)
        {
            LibC.Munmap(_sqesPtr, _sqesSize);
        }

        if (_cqRingPtr != 0 && _cqRingPtr != _sqRingPtr)
        {
            LibC.Munmap(_cqRingPtr, _cqRingSize);
        }

        if (_sqRingPtr != 0)
        {
            LibC.Munmap(_sqRingPtr, _sqRingSize);
        }
    }

    private static nint MapOrThrow(int fd, nuint size, long offset)
    {
        nint ptr = LibC.Mmap(0, size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_POPULATE, fd, offset);
        if (ptr == LibC.MAP_FAILED)
        {
            throw new RingException("mmap of the io_uring rings failed", LibC.LastErrno);
        }

        Debug.Assert(ptr != 0);
        return ptr;
    }
}

/// <summary>A failed io_uring syscall, with its errno.</summary>
internal sealed class RingException : Exception
{
    public RingException(string message, int errno)
        : base($"{message}: {LibC.Describe(errno)}")
    {
        Errno = errno;
    }

    public int Errno { get; }
}
