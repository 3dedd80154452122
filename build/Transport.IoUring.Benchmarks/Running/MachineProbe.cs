using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Transport.IoUring.Benchmarks.LoadGenerators;
using Transport.IoUring.Benchmarks.Measurement;
using Transport.IoUring.Benchmarks.Results;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>Describes the machine a run happens on.</summary>
internal static class MachineProbe
{
    public static MachineInfo Describe() => new()
    {
        Host = Environment.MachineName,
        Cores = Environment.ProcessorCount,
        CpuModel = CpuModel(),
        Kernel = ReadTrimmed("/proc/sys/kernel/osrelease") ?? RuntimeInformation.OSDescription,
        Os = OsName(),
        DotnetRuntime = Environment.Version.ToString(),
        ClockTicksPerSecond = ClockTicks.PerSecond,
        OpenFilesLimit = IdleConnections.OpenFilesLimit() ?? 0,
    };

    /// <summary>The 1-minute load average from /proc/loadavg.</summary>
    public static double? LoadAverage()
    {
        var text = ReadTrimmed("/proc/loadavg");
        return text is not null && double.TryParse(text.Split(' ')[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var load) ? load : null;
    }

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string OsName()
    {
        try
        {
            var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
            return line is null ? RuntimeInformation.OSDescription : line["PRETTY_NAME=".Length..].Trim('"');
        }
        catch (IOException)
        {
            return RuntimeInformation.OSDescription;
        }
    }

    private static string? ReadTrimmed(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
