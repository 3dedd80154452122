using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Transport.IoUring.Interop;

/// <summary>
/// A msghdr and its iovec array in native memory, for SENDMSG. The kernel reads them when the
/// request is issued and again if it has to retry, so they live as long as the connection.
/// </summary>
internal sealed unsafe class IoVecBuffer : IDisposable
{
    private IoVec* _iovecs;
    private MsgHdr* _header;

    public IoVecBuffer(int capacity)
    {
        Capacity = capacity;
        _iovecs = (IoVec*)NativeMemory.Alloc((nuint)(capacity * sizeof(IoVec)));
        _header = (MsgHdr*)NativeMemory.AllocZeroed((nuint)sizeof(MsgHdr));
    }

    public int Capacity { get; }

    internal MsgHdr* Header => _header;

    public void Set(int index, nint address, int length)
    {
        if ((uint)index >= (uint)Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        _iovecs[index].Base = (void*)address;
        _iovecs[index].Length = (nuint)length;
    }

    /// <summary>Makes the header describe the first <paramref name="count"/> iovecs.</summary>
    public void Seal(int count)
    {
        *_header = default;
        _header->Iov = _iovecs;
        _header->IovLen = (nuint)count;
    }

    public void Dispose()
    {
        if (_iovecs != null)
        {
            NativeMemory.Free(_iovecs);
            NativeMemory.Free(_header);
            _iovecs = null;
            _header = null;
        }
    }
}

/// <summary>A struct __kernel_timespec in native memory, for IORING_OP_TIMEOUT.</summary>
internal sealed unsafe class TimeoutSpec : IDisposable
{
    private KernelTimespec* _timespec = (KernelTimespec*)NativeMemory.AllocZeroed((nuint)sizeof(KernelTimespec));

    internal KernelTimespec* Pointer => _timespec;

    public void Set(int milliseconds)
    {
        _timespec->Sec = milliseconds / 1000;
        _timespec->Nsec = (milliseconds % 1000) * 1_000_000L;
    }

    public void Dispose()
    {
        if (_timespec != null)
        {
            NativeMemory.Free(_timespec);
            _timespec = null;
        }
    }
}

/// <summary>
/// An eventfd with the 8-byte buffer a ring reads it into. Other threads <see cref="Signal"/> it to
/// wake a ring that is blocked in io_uring_enter.
/// </summary>
/// <remarks>
/// <see cref="Signal"/> runs on any thread and may race with <see cref="Close"/> on the ring's: a
/// signaller that read the fd number just before the close would write into whatever file next
/// gets that number. So signallers announce themselves in <c>_state</c> (its low bits count those
/// inside <see cref="Signal"/>), <see cref="Close"/> sets the closed bit first and then waits for
/// the count to drain, and a signaller that finds the bit set writes nothing.
/// </remarks>
internal sealed unsafe class EventFd : IDisposable
{
    private const int ClosedBit = 1 << 30;

    private readonly int _fd;
    private ulong* _buffer;
    private int _state;

    public EventFd()
    {
        _fd = LibC.EventFd(0, SocketConstants.EFD_CLOEXEC);
        if (_fd < 0)
        {
            throw new RingException("eventfd failed", LibC.LastErrno);
        }

        _buffer = (ulong*)NativeMemory.AllocZeroed(sizeof(ulong));
    }

    public int Fd => _fd;

    public bool IsClosed => (Volatile.Read(ref _state) & ClosedBit) != 0;

    internal byte* Buffer => (byte*)_buffer;

    /// <summary>
    /// Runs between a signaller's check of the closed bit and its write: tests widen the window of
    /// the race with <see cref="Close"/> here. Null in production.
    /// </summary>
    internal Action? BeforeSignalWrite;

    /// <summary>Adds 1 to the counter, waking a read armed on it; does nothing once closed. Any thread.</summary>
    public void Signal()
    {
        if ((Interlocked.Increment(ref _state) & ClosedBit) == 0)
        {
            BeforeSignalWrite?.Invoke();
            ulong one = 1;
            LibC.Write(_fd, &one, sizeof(ulong));
        }

        Interlocked.Decrement(ref _state);
    }

    /// <summary>
    /// Closes the fd once no <see cref="Signal"/> is inside its write; the buffer is freed only when
    /// <paramref name="readInFlight"/> is false (else it is left to the process).
    /// </summary>
    public void Close(bool readInFlight)
    {
        if ((Interlocked.Or(ref _state, ClosedBit) & ClosedBit) != 0)
        {
            return;
        }

        var spin = new SpinWait();
        while ((Volatile.Read(ref _state) & ~ClosedBit) != 0)
        {
            spin.SpinOnce();
        }

        LibC.Close(_fd);
        if (_buffer != null && !readInFlight)
        {
            NativeMemory.Free(_buffer);
        }

        _buffer = null;
    }

    public void Dispose() => Close(readInFlight: false);
}
