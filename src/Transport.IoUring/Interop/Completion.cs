using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Transport.IoUring.Interop;

/// <summary>
/// One reaped completion, as the layers above <c>Interop/</c> see it: the CQE's user_data and
/// result, with its flag word decoded here (more to come, provided buffer id, socket non-empty)
/// rather than by every handler. Same layout as <see cref="Cqe"/>, so reaping is a plain copy.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct Completion
{
    private readonly ulong _userData;
    private readonly int _result;
    private readonly uint _flags;

    public Completion(ulong userData, int result, uint flags)
    {
        _userData = userData;
        _result = result;
        _flags = flags;
    }

    public ulong UserData => _userData;

    /// <summary>The operation's result: a count or fd when ≥ 0, else -errno.</summary>
    public int Result => _result;

    /// <summary>IORING_CQE_F_MORE: a multishot request goes on; this is not its final completion.</summary>
    public bool HasMore
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (_flags & CqeFlags.More) != 0;
    }

    /// <summary>IORING_CQE_F_BUFFER: the kernel picked a provided buffer, <see cref="BufferId"/>.</summary>
    public bool HasBuffer => (_flags & CqeFlags.Buffer) != 0;

    /// <summary>The provided buffer the kernel wrote into (valid when <see cref="HasBuffer"/>).</summary>
    public ushort BufferId
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (ushort)(_flags >> CqeFlags.BufferShift);
    }

    /// <summary>IORING_CQE_F_BUF_MORE (6.12): the kernel goes on filling the incrementally consumed buffer <see cref="BufferId"/>.</summary>
    public bool HasBufferMore => (_flags & CqeFlags.BufMore) != 0;

    /// <summary>IORING_CQE_F_SOCK_NONEMPTY: the socket still had data queued after this receive.</summary>
    public bool SocketNonEmpty => (_flags & CqeFlags.SockNonEmpty) != 0;

    /// <summary>The raw flag word, for diagnostics.</summary>
    public uint Flags => _flags;

    public override string ToString() => $"user_data 0x{_userData:X16}, res {_result}, flags 0x{_flags:X}";
}
