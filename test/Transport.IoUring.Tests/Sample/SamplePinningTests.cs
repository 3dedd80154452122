using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// PinRingThreads pins ring i to the i-th CPU the process may use: under <c>taskset -c N</c> (or a
/// container's cpuset) ring 0 goes to CPU N, not to CPU 0, which the process may not use.
/// </summary>
public sealed class SamplePinningTests
{
    [TwoCpuFact]
    public async Task UnderTasksetRingThreadsArePinnedToTheAllowedCpusInOrder()
    {
        int[] online = OnlineCpus();

        // The process may use every online CPU but the first, so "CPU i" and "the i-th allowed CPU" differ for every ring.
        int[] allowed = online[1..];
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions
        {
            CommandPrefix = ["taskset", "-c", string.Join(',', allowed)],
            Environment = new Dictionary<string, string>
            {
                ["Kestrel__Transport__IoUring__PinRingThreads"] = "true",
                ["Kestrel__Transport__IoUring__RingCount"] = (allowed.Length + 1).ToString(CultureInfo.InvariantCulture),
            },
        });
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));

        for (int ring = 0; ring <= allowed.Length; ring++)
        {
            string status = RingThreadStatus(server.Pid, $"io_uring ring {ring}");
            string cpus = status.Split('\n').Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))["Cpus_allowed_list:".Length..].Trim();

            // One more ring than allowed CPUs: the last wraps around to the first allowed CPU.
            Assert.Equal(allowed[ring % allowed.Length].ToString(CultureInfo.InvariantCulture), cpus);
        }
    }

    private static string RingThreadStatus(int pid, string name)
    {
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == name.Substring(0, Math.Min(name.Length, 15)))
            {
                return File.ReadAllText(Path.Combine(task, "status"));
            }
        }

        throw new InvalidOperationException($"no thread named \"{name}\" in process {pid}");
    }

    private static int[] OnlineCpus()
    {
        // "0-1", "0,2-3"
        var cpus = new List<int>();
        foreach (string part in File.ReadAllText("/sys/devices/system/cpu/online").Trim().Split(','))
        {
            string[] range = part.Split('-');
            int first = int.Parse(range[0], CultureInfo.InvariantCulture);
            int last = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : first;
            cpus.AddRange(Enumerable.Range(first, last - first + 1));
        }

        return cpus.ToArray();
    }

    /// <summary>Skipped on one CPU: the first allowed CPU is then CPU 0, and nothing tells the two rules apart.</summary>
    private sealed class TwoCpuFactAttribute : FactAttribute
    {
        public TwoCpuFactAttribute()
        {
            if (OnlineCpus().Length < 2)
            {
                Skip = "needs two online CPUs";
            }
        }
    }
}
