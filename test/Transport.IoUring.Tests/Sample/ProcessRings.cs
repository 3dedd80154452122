using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Transport.IoUring.Tests.Sample;

/// <summary>The io_uring instances a process holds, as /proc shows them.</summary>
public static class ProcessRings
{
    /// <summary>Every open fd of <paramref name="pid"/> with its link target ("anon_inode:[io_uring]", "socket:[…]", …).</summary>
    public static IReadOnlyList<(int Fd, string Target)> OpenFds(int pid)
    {
        var fds = new List<(int, string)>();
        foreach (string path in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(path).LinkTarget;
            }
            catch (IOException)
            {
                continue; // Closed while we looked.
            }

            if (target is not null && int.TryParse(Path.GetFileName(path), NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
            {
                fds.Add((fd, target));
            }
        }

        return fds;
    }

    /// <summary>The fds of <paramref name="pid"/> whose link target names io_uring.</summary>
    public static IReadOnlyList<int> IoUringFds(int pid)
        => OpenFds(pid).Where(f => f.Target.Contains("io_uring", StringComparison.Ordinal)).Select(f => f.Fd).ToArray();

    /// <summary>
    /// The "Name:\tvalue" lines of /proc/pid/fdinfo/fd; for an io_uring fd these include SqHead, SqTail,
    /// CqHead and CqTail (32-bit counters that wrap).
    /// </summary>
    public static IReadOnlyDictionary<string, string> FdInfo(int pid, int fd)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines($"/proc/{pid}/fdinfo/{fd}"))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                values.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }

        return values;
    }

    /// <summary>A 32-bit ring counter (e.g. "CqTail") of an io_uring fd.</summary>
    public static uint RingCounter(int pid, int fd, string name)
    {
        var info = FdInfo(pid, fd);
        if (!info.TryGetValue(name, out string? value))
        {
            throw new InvalidOperationException(
                $"/proc/{pid}/fdinfo/{fd} has no {name} line; it has: {string.Join(", ", info.Keys)}.");
        }

        return uint.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
    }
}
