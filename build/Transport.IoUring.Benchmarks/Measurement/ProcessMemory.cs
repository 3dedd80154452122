using System;
using System.Globalization;
using System.IO;

namespace Transport.IoUring.Benchmarks.Measurement;

/// <summary>Resident memory of a process from <c>/proc/PID/status</c>, in KiB.</summary>
/// <param name="PeakResidentKiB">VmHWM: the peak resident set since the process started.</param>
/// <param name="ResidentKiB">VmRSS: the resident set now.</param>
internal readonly record struct ProcessMemory(long PeakResidentKiB, long ResidentKiB)
{
    public static ProcessMemory Parse(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        long? hwm = null, rss = null;
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = ParseKiB(line);
            }
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = ParseKiB(line);
            }
        }

        if (hwm is null || rss is null)
        {
            throw new FormatException("/proc/PID/status has no VmHWM or VmRSS line (a kernel thread, or a zombie?)");
        }

        return new ProcessMemory(hwm.Value, rss.Value);
    }

    public static ProcessMemory? TryRead(int pid)
    {
        try
        {
            return Parse(File.ReadAllText($"/proc/{pid}/status"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    // "VmHWM:	   52344 kB"
    private static long ParseKiB(string line)
    {
        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3 || parts[2] != "kB")
        {
            throw new FormatException($"Unexpected /proc/PID/status line '{line}'");
        }

        return long.Parse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture);
    }
}
