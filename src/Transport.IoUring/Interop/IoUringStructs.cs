using System.Runtime.InteropServices;

namespace Transport.IoUring.Interop;

// Layouts mirror /usr/include/linux/io_uring.h (struct names in comments). Every size and field
// offset is checked against the header by InteropLayoutTests.

/// <summary>struct io_uring_sqe: one submission queue entry (64 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct Sqe
{
    [FieldOffset(0)] public byte Opcode;
    [FieldOffset(1)] public byte Flags;
    [FieldOffset(2)] public ushort IoPrio;
    [FieldOffset(4)] public int Fd;
    [FieldOffset(8)] public ulong Off;          // also addr2, cmd_op
    [FieldOffset(16)] public ulong Addr;        // also splice_off_in
    [FieldOffset(24)] public uint Len;
    [FieldOffset(28)] public uint OpFlags;      // rw_flags, msg_flags, poll32_events, accept_flags, cancel_flags, timeout_flags …
    [FieldOffset(32)] public ulong UserData;
    [FieldOffset(40)] public ushort BufIndex;   // also buf_group
    [FieldOffset(42)] public ushort Personality;
    [FieldOffset(44)] public uint FileIndex;    // also splice_fd_in, addr_len
    [FieldOffset(48)] public ulong Addr3;
    [FieldOffset(56)] public ulong Pad2;
}

/// <summary>struct io_uring_cqe: one completion queue entry (16 bytes, no CQE32).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Cqe
{
    public ulong UserData;
    public int Res;
    public uint Flags;
}

/// <summary>struct io_sqring_offsets.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SqRingOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Flags;
    public uint Dropped;
    public uint Array;
    public uint Resv1;
    public ulong UserAddr;
}

/// <summary>struct io_cqring_offsets.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CqRingOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Overflow;
    public uint Cqes;
    public uint Flags;
    public uint Resv1;
    public ulong UserAddr;
}

/// <summary>struct io_uring_params: in/out argument of io_uring_setup.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoUringParams
{
    public uint SqEntries;
    public uint CqEntries;
    public uint Flags;
    public uint SqThreadCpu;
    public uint SqThreadIdle;
    public uint Features;
    public uint WqFd;
    public fixed uint Resv[3];
    public SqRingOffsets SqOff;
    public CqRingOffsets CqOff;
}

/// <summary>struct io_uring_probe_op.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ProbeOp
{
    public byte Op;
    public byte Resv;
    public ushort Flags;
    public uint Resv2;
}

/// <summary>struct io_uring_probe header; <c>ops_len</c> <see cref="ProbeOp"/> entries follow it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ProbeHeader
{
    public byte LastOp;
    public byte OpsLen;
    public ushort Resv;
    public fixed uint Resv2[3];
}

/// <summary>struct io_uring_buf: one entry of a provided-buffer ring.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BufRingEntry
{
    public ulong Addr;
    public uint Len;
    public ushort Bid;
    public ushort Resv; // in entry 0 this is the ring's tail (struct io_uring_buf_ring)
}

/// <summary>struct io_uring_buf_reg: argument of IORING_REGISTER_PBUF_RING.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BufRingRegistration
{
    public ulong RingAddr;
    public uint RingEntries;
    public ushort Bgid;
    public ushort Pad;
    public fixed ulong Resv[3];
}

/// <summary>struct io_uring_rsrc_update: argument of IORING_REGISTER_RING_FDS.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RsrcUpdate
{
    public uint Offset;
    public uint Resv;
    public ulong Data;
}

/// <summary>struct io_uring_rsrc_register: argument of IORING_REGISTER_BUFFERS2.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RsrcRegister
{
    public uint Nr;
    public uint Flags;
    public ulong Resv2;
    public ulong Data;
    public ulong Tags;
}

/// <summary>struct io_uring_rsrc_update2: argument of IORING_REGISTER_BUFFERS_UPDATE.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RsrcUpdate2
{
    public uint Offset;
    public uint Resv;
    public ulong Data;
    public ulong Tags;
    public uint Nr;
    public uint Resv2;
}

/// <summary>struct __kernel_timespec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KernelTimespec
{
    public long Sec;
    public long Nsec;
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public void* Base;
    public nuint Length;
}

/// <summary>struct msghdr (LP64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    public void* Name;
    public uint NameLen;
    public IoVec* Iov;
    public nuint IovLen;
    public void* Control;
    public nuint ControlLen;
    public int Flags;
}

/// <summary>struct linger.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Linger
{
    public int OnOff;
    public int Seconds;
}
