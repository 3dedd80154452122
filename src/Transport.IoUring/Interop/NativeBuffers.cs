using System;
using System.Runtime.InteropServices;

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
internal sealed unsafe class EventFd : IDisposable
{
    private ulong* _buffer;

    public EventFd()
    {
        Fd = LibC.EventFd(0, SocketConstants.EFD_CLOEXEC);
        if (Fd < 0)
        {
            throw new RingException("eventfd failed", LibC.LastErrno);
        }

        _buffer = (ulong*)NativeMemory.AllocZeroed(sizeof(ulong));
    }

    public int Fd { get; private set; }

    internal byte* Buffer => (byte*)_buffer;

    public void Signal()
    {
        ulong one = 1;
        LibC.Write(Fd, &one, sizeof(ulong));
    }

    /// <summary>Closes the fd; the buffer is freed only when <paramref name="readInFlight"/> is false (else it is left to the process).</summary>
    public void Close(bool readInFlight)
    {
        if (Fd >= 0)
        {
            LibC.Close(Fd);
            Fd = -1;
        }

        if (_buffer != null && !readInFlight)
        {
            NativeMemory.Free(_buffer);
        }

        _buffer = null;
    }

    public void Dispose() => Close(readInFlight: false);
}
