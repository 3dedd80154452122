using System;
using Transport.IoUring.Internal;
using Transport.IoUring.Interop;

namespace Transport.IoUring;

/// <summary>
/// Whether io_uring can serve here, asked without starting a server: the kernel is probed once per
/// process (a small ring is created and closed), and the locked memory the default rings would be
/// charged is checked against RLIMIT_MEMLOCK.
/// </summary>
public static class IoUringTransport
{
    private static readonly Lazy<string?> s_unavailableReason = new(FindUnavailableReason);

    /// <summary>
    /// True when <c>UseIoUring()</c> can serve on io_uring on this machine, in this process: Linux,
    /// io_uring present and allowed (no seccomp filter or <c>kernel.io_uring_disabled</c> blocks it),
    /// the required operations present (5.6+), and room in RLIMIT_MEMLOCK for at least one ring.
    /// When false, the transport serves on Kestrel's Sockets transport and <see cref="UnavailableReason"/> says why.
    /// </summary>
    public static bool IsSupported => s_unavailableReason.Value is null;

    /// <summary>
    /// Why io_uring cannot serve here (the errno and what to do, as the fallback warning says it),
    /// or null when it can.
    /// </summary>
    public static string? UnavailableReason => s_unavailableReason.Value;

    private static string? FindUnavailableReason()
    {
        var capabilities = RingCapabilities.Current;
        var plan = RingMemoryPlan.ForProcess(new IoUringTransportOptions(), capabilities);
        if (!capabilities.IsSupported)
        {
            return capabilities.Errno == Errno.ENOMEM ? plan.DescribeLockedMemoryFailure(capabilities.UnavailableReason!) : capabilities.UnavailableReason;
        }

        return plan.RingCount == 0 ? plan.DescribeShortfall() : null;
    }
}
