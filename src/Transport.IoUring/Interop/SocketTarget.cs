using System.Runtime.CompilerServices;

namespace Transport.IoUring.Interop;

/// <summary>
/// The socket an SQE names: a plain fd, or a slot of the ring's fixed-file table (direct
/// descriptor) with IOSQE_FIXED_FILE. Every socket request of a connection is prepared with it, so
/// the two kinds differ in one flag and nowhere else.
/// </summary>
internal readonly struct SocketTarget
{
    private SocketTarget(int fdOrSlot, byte sqeFlags)
    {
        FdOrSlot = fdOrSlot;
        SqeFlags = sqeFlags;
    }

    /// <summary>The fd, or the fixed-file slot when <see cref="IsDirect"/>.</summary>
    public int FdOrSlot { get; }

    /// <summary>IOSQE_FIXED_FILE for a direct descriptor, else 0.</summary>
    public byte SqeFlags { get; }

    public bool IsDirect => SqeFlags != 0;

    public static SocketTarget Fd(int fd) => new(fd, 0);

    public static SocketTarget Direct(int slot) => new(slot, Interop.SqeFlags.FixedFile);

    public override string ToString() => IsDirect ? $"fixed slot {FdOrSlot}" : $"fd {FdOrSlot}";

    /// <summary>Puts the target into an SQE an SqePrep helper has filled with <see cref="FdOrSlot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe Sqe* Apply(Sqe* sqe)
    {
        sqe->Flags |= SqeFlags;
        return sqe;
    }
}
