using System;

namespace Transport.IoUring.Benchmarks.Measurement;

/// <summary>The arithmetic behind the CPU columns; kept apart from /proc so that it can be tested.</summary>
internal static class CpuAccounting
{
    /// <summary>Server CPU time per request in microseconds: ticks ÷ requests, ticks → µs at <paramref name="ticksPerSecond"/>.</summary>
    public static double? MicrosecondsPerRequest(long serverTicks, long requests, long ticksPerSecond)
    {
        if (requests <= 0)
        {
            return null;
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ticksPerSecond);
        return serverTicks * (1_000_000.0 / ticksPerSecond) / requests;
    }

    /// <summary>
    /// Softirq time of the server's cores per request, in microseconds: the kernel's network
    /// processing (receive, and on loopback the delivery of what the server sent) done on those
    /// cores in interrupt context. Not the same kind of figure as <see cref="MicrosecondsPerRequest"/>:
    /// without CONFIG_IRQ_TIME_ACCOUNTING a softirq tick is also charged to the task it
    /// interrupted, so the part that interrupted the server is in both; the part that interrupted
    /// the idle task or ran in ksoftirqd is only here (docs/benchmarks.md, "softirq-µs/req").
    /// </summary>
    public static double? SoftIrqMicrosecondsPerRequest(long serverCoresSoftIrqTicks, long requests, long ticksPerSecond)
        => MicrosecondsPerRequest(serverCoresSoftIrqTicks, requests, ticksPerSecond);

    /// <summary>Ticks as seconds.</summary>
    public static double Seconds(long ticks, long ticksPerSecond) => (double)ticks / ticksPerSecond;

    /// <summary>
    /// CPU time of everything but the server and the load generator during the window, as a
    /// percentage of the window (100 % = one core busy all the time): the machine's busy ticks
    /// less the two processes' ticks. Can come out slightly negative from tick rounding; clamped at 0.
    /// </summary>
    public static double OtherCpuPercent(long machineBusyTicks, long serverTicks, long loadGeneratorTicks, double windowSeconds, long ticksPerSecond)
    {
        if (windowSeconds <= 0)
        {
            return 0;
        }

        double otherSeconds = (machineBusyTicks - serverTicks - loadGeneratorTicks) / (double)ticksPerSecond;
        return Math.Max(0, otherSeconds / windowSeconds * 100.0);
    }

    /// <summary>Above this share of a window, other work ran on the machine and the row is flagged.</summary>
    public const double DisturbedThresholdPercent = 10.0;

    /// <summary>
    /// At or above this share of its cores the load generator, not the server, sets the pace: the
    /// row's req/s ratio then says more about the load generator, and CPU-µs/req compares servers.
    /// </summary>
    public const double LoadGeneratorBoundPercent = 95.0;
}
