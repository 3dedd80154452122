using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace Transport.IoUring.Benchmarks.Measurement;

/// <summary>
/// The machine's CPU time from the aggregate <c>cpu</c> line of <c>/proc/stat</c>, in clock ticks.
/// </summary>
/// <remarks>
/// Busy = user + nice + system + irq + softirq + steal. Idle and iowait are not busy (iowait is
/// idle time with I/O outstanding). Steal counts as busy on purpose: it is time the hypervisor gave
/// to someone else, which disturbs a measurement as much as a neighbour process. guest and
/// guest_nice are already included in user and nice. With tick-based accounting (no
/// CONFIG_IRQ_TIME_ACCOUNTING) softirq ticks are charged to the interrupted task as well, so
/// busy time and the sum of all tasks' utime + stime agree.
/// </remarks>
internal readonly record struct SystemCpuTimes(long User, long Nice, long System, long Idle, long IoWait, long Irq, long SoftIrq, long Steal)
{
    public long Busy => User + Nice + System + Irq + SoftIrq + Steal;

    public long Total => Busy + Idle + IoWait;

    /// <summary>Parses the first line of <c>/proc/stat</c> that starts with <paramref name="cpuLabel"/> ("cpu" = all cores).</summary>
    public static SystemCpuTimes Parse(string procStat, string cpuLabel = "cpu")
    {
        ArgumentNullException.ThrowIfNull(procStat);
        foreach (var rawLine in procStat.Split('\n'))
        {
            var fields = rawLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || fields[0] != cpuLabel)
            {
                continue;
            }

            if (fields.Length < 9)
            {
                throw new FormatException($"Too few fields in /proc/stat line '{rawLine}'");
            }

            return new SystemCpuTimes(
                Field(fields, 1), Field(fields, 2), Field(fields, 3), Field(fields, 4),
                Field(fields, 5), Field(fields, 6), Field(fields, 7), Field(fields, 8));
        }

        throw new FormatException($"/proc/stat has no '{cpuLabel}' line");
    }

    public static SystemCpuTimes Read() => Parse(File.ReadAllText("/proc/stat"));

    /// <summary>
    /// The sum of the per-core lines (<c>cpu0</c>, <c>cpu1</c>, …) of <paramref name="cpus"/>: the
    /// time of the cores the server is pinned to, whoever it was charged to.
    /// </summary>
    public static SystemCpuTimes ParseCores(string procStat, IEnumerable<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        var sum = default(SystemCpuTimes);
        foreach (int cpu in cpus)
        {
            sum += Parse(procStat, "cpu" + cpu.ToString(CultureInfo.InvariantCulture));
        }

        return sum;
    }

    public static SystemCpuTimes operator +(SystemCpuTimes a, SystemCpuTimes b) => new(
        a.User + b.User, a.Nice + b.Nice, a.System + b.System, a.Idle + b.Idle,
        a.IoWait + b.IoWait, a.Irq + b.Irq, a.SoftIrq + b.SoftIrq, a.Steal + b.Steal);

    public static SystemCpuTimes operator -(SystemCpuTimes a, SystemCpuTimes b) => new(
        a.User - b.User, a.Nice - b.Nice, a.System - b.System, a.Idle - b.Idle,
        a.IoWait - b.IoWait, a.Irq - b.Irq, a.SoftIrq - b.SoftIrq, a.Steal - b.Steal);

    private static long Field(string[] fields, int index) => long.Parse(fields[index], NumberStyles.Integer, CultureInfo.InvariantCulture);
}
