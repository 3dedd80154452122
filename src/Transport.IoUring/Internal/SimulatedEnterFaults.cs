using System.Threading;

namespace Transport.IoUring.Internal;

/// <summary>
/// A test seam: every <c>interval</c>-th io_uring_enter of a ring returns -errno without entering the
/// kernel (tests of the loop's EINTR/EAGAIN/EBUSY handling and of its rate-limited error log). Set
/// from the internal options <see cref="IoUringTransportOptions.SimulatedEnterErrno"/>; absent (null)
/// in production, where the loop pays one null check per turn for it.
/// </summary>
internal sealed class SimulatedEnterFaults
{
    private readonly int _errno;
    private readonly int _interval;
    private long _injected;

    private SimulatedEnterFaults(int errno, int interval)
    {
        _errno = errno;
        _interval = interval;
    }

    /// <summary>Enters replaced by a failure so far (any thread).</summary>
    public long Injected => Volatile.Read(ref _injected);

    public static SimulatedEnterFaults? From(IoUringTransportOptions options) =>
        options.SimulatedEnterErrno != 0 ? new SimulatedEnterFaults(options.SimulatedEnterErrno, options.SimulatedEnterErrorInterval) : null;

    /// <summary>Ring thread: true (and the -errno to return) when the enter about to be made is to fail.</summary>
    public bool TryFail(long enterCalls, out int result)
    {
        if ((enterCalls + _injected + 1) % _interval != 0)
        {
            result = 0;
            return false;
        }

        Volatile.Write(ref _injected, _injected + 1);
        result = -_errno;
        return true;
    }
}
