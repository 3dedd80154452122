using System;
using System.Globalization;

namespace Transport.IoUring.Benchmarks.Measurement;

/// <summary>
/// CPU time of one process from <c>/proc/PID/stat</c>, in clock ticks (<c>sysconf(_SC_CLK_TCK)</c>).
/// <see cref="Own"/> is utime + stime of all its threads, living and exited;
/// <see cref="WaitedChildren"/> is cutime + cstime of the children it has reaped.
/// </summary>
internal readonly record struct ProcessCpuTimes(long UserTicks, long SystemTicks, long ChildUserTicks, long ChildSystemTicks)
{
    public long Own => UserTicks + SystemTicks;

    public long WaitedChildren => ChildUserTicks + ChildSystemTicks;

    /// <summary>Parses the one line of <c>/proc/PID/stat</c>.</summary>
    /// <remarks>
    /// The second field is the command name in parentheses and may itself hold spaces and
    /// parentheses, so fields are counted from the last ')' (proc(5)): after it come state (3),
    /// ..., utime (14), stime (15), cutime (16), cstime (17).
    /// </remarks>
    public static ProcessCpuTimes Parse(string statLine)
    {
        ArgumentNullException.ThrowIfNull(statLine);
        int close = statLine.LastIndexOf(')');
        if (close < 0)
        {
            throw new FormatException($"Not a /proc/PID/stat line (no ')'): '{Shorten(statLine)}'");
        }

        var fields = statLine[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), so field n is fields[n - 3].
        if (fields.Length < 15)
        {
            throw new FormatException($"Too few fields in /proc/PID/stat line: '{Shorten(statLine)}'");
        }

        return new ProcessCpuTimes(
            ParseTicks(fields[14 - 3]),
            ParseTicks(fields[15 - 3]),
            ParseTicks(fields[16 - 3]),
            ParseTicks(fields[17 - 3]));
    }

    /// <summary>Reads <c>/proc/PID/stat</c>; null when the process is gone.</summary>
    public static ProcessCpuTimes? TryRead(int pid)
    {
        try
        {
            return Parse(System.IO.File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (System.IO.IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The calling process's own times (and those of the children it has reaped).</summary>
    public static ProcessCpuTimes ReadSelf() => Parse(System.IO.File.ReadAllText("/proc/self/stat"));

    private static long ParseTicks(string field) => long.Parse(field, NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "…";
}
