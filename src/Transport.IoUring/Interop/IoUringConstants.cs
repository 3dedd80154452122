namespace Transport.IoUring.Interop;

// Values from /usr/include/linux/io_uring.h and the kernel's uapi headers. Kernel versions in the
// comments say where each first appeared; RingCapabilities decides which ones a ring may use.

internal static class SysCallNumbers
{
    // Identical on x86_64 and arm64 (io_uring was added after the unified syscall table).
    public const long IoUringSetup = 425;
    public const long IoUringEnter = 426;
    public const long IoUringRegister = 427;
}

internal static class Opcode
{
    public const byte Nop = 0;
    public const byte ReadFixed = 4;
    public const byte PollAdd = 6;
    public const byte PollRemove = 7;
    public const byte SendMsg = 9;
    public const byte Timeout = 11;
    public const byte Accept = 13;
    public const byte AsyncCancel = 14;
    public const byte Close = 19;
    public const byte Read = 22;
    public const byte Write = 23;
    public const byte Send = 26;
    public const byte Recv = 27;
    public const byte Shutdown = 34;
    public const byte Socket = 45;      // 5.19; its presence stands in for multishot accept (5.19)
    public const byte SendZc = 47;      // 6.0
    public const byte SendMsgZc = 48;   // 6.1
}

internal static class SqeFlags
{
    public const byte FixedFile = 1 << 0;
    public const byte IoDrain = 1 << 1;
    public const byte IoLink = 1 << 2;
    public const byte IoHardLink = 1 << 3;
    public const byte Async = 1 << 4;
    public const byte BufferSelect = 1 << 5;
    public const byte CqeSkipSuccess = 1 << 6;
}

internal static class SetupFlags
{
    public const uint CqSize = 1u << 3;
    public const uint Clamp = 1u << 4;
    public const uint SubmitAll = 1u << 7;          // 5.18
    public const uint CoopTaskrun = 1u << 8;        // 5.19
    public const uint TaskrunFlag = 1u << 9;        // 5.19
    public const uint SingleIssuer = 1u << 12;      // 6.0
    public const uint DeferTaskrun = 1u << 13;      // 6.1
}

internal static class Features
{
    public const uint SingleMmap = 1u << 0;   // 5.4
    public const uint NoDrop = 1u << 1;       // 5.5
    public const uint SubmitStable = 1u << 2;
    public const uint FastPoll = 1u << 5;     // 5.7
    public const uint ExtArg = 1u << 8;       // 5.11
    public const uint NativeWorkers = 1u << 9;
    public const uint RsrcTags = 1u << 10;    // 5.13
    public const uint CqeSkip = 1u << 11;     // 5.17
    public const uint LinkedFile = 1u << 12;  // 5.17
    public const uint RecvSendBundle = 1u << 14; // 6.10: IORING_RECVSEND_BUNDLE is accepted on recv and send
}

/// <summary>Offsets passed to mmap(2) on the ring fd to map each of its regions.</summary>
internal static class MmapOffsets
{
    public const long SqRing = 0;
    public const long CqRing = 0x8000000;
    public const long Sqes = 0x10000000;
}

/// <summary>Bits of the SQ ring's flags word, written by the kernel.</summary>
internal static class SqRingFlags
{
    public const uint NeedWakeup = 1u << 0;
    public const uint CqOverflow = 1u << 1;   // completions wait in the kernel's overflow list
    public const uint TaskRun = 1u << 2;      // 5.19
}

/// <summary>Flags of one struct io_uring_probe_op.</summary>
internal static class ProbeOpFlags
{
    public const ushort Supported = 1 << 0;
}

internal static class EnterFlags
{
    public const uint GetEvents = 1u << 0;
    public const uint RegisteredRing = 1u << 4; // 5.18
}

internal static class RegisterOp
{
    public const uint RegisterBuffers = 0;
    public const uint UnregisterBuffers = 1;
    public const uint RegisterProbe = 8;
    public const uint RegisterBuffers2 = 15;
    public const uint RegisterBuffersUpdate = 16;
    public const uint RegisterRingFds = 20;
    public const uint UnregisterRingFds = 21;
    public const uint RegisterPbufRing = 22;
    public const uint UnregisterPbufRing = 23;
}

/// <summary>Flags of struct io_uring_buf_reg (IORING_REGISTER_PBUF_RING), in the field the 6.1 header still calls pad.</summary>
internal static class PbufRingFlags
{
    public const ushort Incremental = 2;   // IOU_PBUF_RING_INC, 6.12: a buffer is consumed in parts
}

internal static class RsrcFlags
{
    public const uint RegisterSparse = 1u << 0;   // IORING_RSRC_REGISTER_SPARSE, 5.19
}

internal static class RwFlags
{
    public const uint NoWait = 0x00000008;         // RWF_NOWAIT: -EAGAIN instead of waiting
}

internal static class CqeFlags
{
    public const uint Buffer = 1u << 0;
    public const uint More = 1u << 1;
    public const uint SockNonEmpty = 1u << 2;
    public const uint Notif = 1u << 3;
    public const uint BufMore = 1u << 4;      // 6.12: an incrementally consumed buffer stays with the kernel for more
    public const int BufferShift = 16;

    /// <summary>In the result of a zero-copy notification: the kernel copied the data after all (6.2).</summary>
    public const uint NotifUsageZcCopied = 1u << 31;
}

internal static class PollFlags
{
    public const uint AddMulti = 1u << 0;       // 5.13, in sqe->len
    public const uint PollIn = 0x0001;
    public const uint PollErr = 0x0008;
    public const uint PollHup = 0x0010;
    public const uint PollRdHup = 0x2000;
}

internal static class IoPrioFlags
{
    public const ushort RecvSendPollFirst = 1 << 0;
    public const ushort RecvMultishot = 1 << 1;    // 6.0
    public const ushort RecvSendFixedBuf = 1 << 2;
    public const ushort SendZcReportUsage = 1 << 3; // 6.2
    public const ushort RecvSendBundle = 1 << 4;   // 6.10: one recv fills several provided buffers
    public const ushort AcceptMultishot = 1 << 0;  // 5.19
}

internal static class CancelFlags
{
    public const uint All = 1u << 0;
    public const uint Fd = 1u << 1;
}

internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int EPIPE = 32;
    public const int ENOSYS = 38;
    public const int ENOBUFS = 105;
    public const int ENOTCONN = 107;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ETIMEDOUT = 110;
    public const int ETIME = 62;
    public const int EPROTO = 71;
    public const int EALREADY = 114;
    public const int ECANCELED = 125;
}

internal static class SocketConstants
{
    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int SO_LINGER = 13;
    public const int SO_REUSEPORT = 15;
    public const int IPPROTO_TCP = 6;
    public const int TCP_NODELAY = 1;
    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
}
