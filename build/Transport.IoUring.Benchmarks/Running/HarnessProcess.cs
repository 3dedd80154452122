using System;
using System.Globalization;
using System.IO;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// Tells a live harness from a killed one by PID: what a run creates (its /tmp directory, its veth
/// namespaces) carries its PID, and a later run removes only what no live harness owns.
/// </summary>
internal static class HarnessProcess
{
    /// <summary>Whether <paramref name="pid"/> is a running benchmark harness (its command line names the harness).</summary>
    public static bool IsLive(int pid)
    {
        try
        {
            string commandLine = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline");
            return commandLine.Contains("Transport.IoUring.Benchmarks", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
