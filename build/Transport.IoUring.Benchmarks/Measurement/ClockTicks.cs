using System;
using System.Runtime.InteropServices;

namespace Transport.IoUring.Benchmarks.Measurement;

/// <summary>The unit of /proc's CPU times: <c>sysconf(_SC_CLK_TCK)</c>, usually 100 per second.</summary>
internal static partial class ClockTicks
{
    private const int ScClkTck = 2; // _SC_CLK_TCK in glibc and musl

    private static readonly Lazy<long> s_perSecond = new(Query);

    public static long PerSecond => s_perSecond.Value;

    private static long Query()
    {
        long ticks = SysConf(ScClkTck);
        if (ticks <= 0)
        {
            throw new InvalidOperationException($"sysconf(_SC_CLK_TCK) returned {ticks}");
        }

        return ticks;
    }

    [LibraryImport("libc", EntryPoint = "sysconf", SetLastError = true)]
    private static partial long SysConf(int name);
}
