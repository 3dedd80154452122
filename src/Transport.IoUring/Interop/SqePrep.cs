using System.Runtime.CompilerServices;

namespace Transport.IoUring.Interop;

/// <summary>
/// One helper per opcode, each filling one zeroed SQE and nothing else (liburing's io_uring_prep_*).
/// </summary>
internal static unsafe class SqePrep
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Nop(Sqe* sqe, ulong userData)
    {
        sqe->Opcode = Opcode.Nop;
        sqe->Fd = -1;
        sqe->UserData = userData;
    }

    /// <summary>Accept; <paramref name="multishot"/> (5.19) keeps posting one CQE per connection.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accept(Sqe* sqe, int listenFd, bool multishot, ulong userData)
    {
        sqe->Opcode = Opcode.Accept;
        sqe->Fd = listenFd;
        sqe->OpFlags = SocketConstants.SOCK_CLOEXEC;
        sqe->IoPrio = multishot ? IoPrioFlags.AcceptMultishot : (ushort)0;
        sqe->UserData = userData;
    }

    /// <summary>Recv into a caller buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Recv(Sqe* sqe, int fd, byte* buffer, uint length, int msgFlags, ulong userData)
    {
        sqe->Opcode = Opcode.Recv;
        sqe->Fd = fd;
        sqe->Addr = (ulong)buffer;
        sqe->Len = length;
        sqe->OpFlags = (uint)msgFlags;
        sqe->UserData = userData;
    }

    /// <summary>Multishot recv (6.0) picking buffers from provided-buffer group <paramref name="bufferGroup"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RecvMultishot(Sqe* sqe, int fd, ushort bufferGroup, ulong userData)
    {
        sqe->Opcode = Opcode.Recv;
        sqe->Fd = fd;
        sqe->Flags = SqeFlags.BufferSelect;
        sqe->IoPrio = IoPrioFlags.RecvMultishot;
        sqe->BufIndex = bufferGroup;
        sqe->UserData = userData;
    }

    /// <summary>Single-shot recv picking one buffer from a provided-buffer group (kernels before 6.0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RecvSelect(Sqe* sqe, int fd, ushort bufferGroup, ulong userData)
    {
        sqe->Opcode = Opcode.Recv;
        sqe->Fd = fd;
        sqe->Flags = SqeFlags.BufferSelect;
        sqe->BufIndex = bufferGroup;
        sqe->UserData = userData;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Send(Sqe* sqe, int fd, byte* buffer, uint length, int msgFlags, ulong userData)
    {
        sqe->Opcode = Opcode.Send;
        sqe->Fd = fd;
        sqe->Addr = (ulong)buffer;
        sqe->Len = length;
        sqe->OpFlags = (uint)msgFlags;
        sqe->UserData = userData;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SendMsg(Sqe* sqe, int fd, MsgHdr* msg, int msgFlags, ulong userData)
    {
        sqe->Opcode = Opcode.SendMsg;
        sqe->Fd = fd;
        sqe->Addr = (ulong)msg;
        sqe->Len = 1;
        sqe->OpFlags = (uint)msgFlags;
        sqe->UserData = userData;
    }

    /// <summary>Poll for <paramref name="events"/>; <paramref name="multishot"/> (5.13) stays armed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PollAdd(Sqe* sqe, int fd, uint events, bool multishot, ulong userData)
    {
        sqe->Opcode = Opcode.PollAdd;
        sqe->Fd = fd;
        sqe->OpFlags = events;
        sqe->Len = multishot ? PollFlags.AddMulti : 0;
        sqe->UserData = userData;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Read(Sqe* sqe, int fd, byte* buffer, uint length, ulong userData)
    {
        sqe->Opcode = Opcode.Read;
        sqe->Fd = fd;
        sqe->Addr = (ulong)buffer;
        sqe->Len = length;
        sqe->Off = ulong.MaxValue; // -1: current position, as for a pipe or eventfd
        sqe->UserData = userData;
    }

    /// <summary>
    /// Read into registered buffer <paramref name="bufferIndex"/> (IORING_OP_READ_FIXED). On a socket
    /// this is a recv; with RWF_NOWAIT it returns -EAGAIN instead of waiting for data.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ReadFixed(Sqe* sqe, int fd, byte* buffer, uint length, ushort bufferIndex, uint rwFlags, ulong userData)
    {
        sqe->Opcode = Opcode.ReadFixed;
        sqe->Fd = fd;
        sqe->Addr = (ulong)buffer;
        sqe->Len = length;
        sqe->Off = ulong.MaxValue; // a socket has no file position
        sqe->OpFlags = rwFlags;
        sqe->BufIndex = bufferIndex;
        sqe->UserData = userData;
    }

    /// <summary>Cancels the request whose user_data is <paramref name="targetUserData"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Cancel(Sqe* sqe, ulong targetUserData, ulong userData)
    {
        sqe->Opcode = Opcode.AsyncCancel;
        sqe->Fd = -1;
        sqe->Addr = targetUserData;
        sqe->UserData = userData;
    }

    /// <summary>A relative timeout that completes with -ETIME after <paramref name="timespec"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Timeout(Sqe* sqe, KernelTimespec* timespec, ulong userData)
    {
        sqe->Opcode = Opcode.Timeout;
        sqe->Fd = -1;
        sqe->Addr = (ulong)timespec;
        sqe->Len = 1;
        sqe->UserData = userData;
    }
}
