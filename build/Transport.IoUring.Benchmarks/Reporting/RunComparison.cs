using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Transport.IoUring.Benchmarks.Results;

namespace Transport.IoUring.Benchmarks.Reporting;

/// <summary>
/// <c>--compare A.json B.json</c>: the change from run A to run B per scenario and transport, and
/// of the io_uring/Sockets ratios (which carry over between runs better than absolute figures).
/// </summary>
internal static class RunComparison
{
    public static string Render(RunReport a, RunReport b, string nameA = "A", string nameB = "B")
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var md = new StringBuilder();
        md.AppendLine($"# {nameA} ({a.StartedAt:yyyy-MM-dd HH:mm}, {a.Machine.Host}) → {nameB} ({b.StartedAt:yyyy-MM-dd HH:mm}, {b.Machine.Host})");
        md.AppendLine();
        md.AppendLine("| scenario | transport | req/s A | req/s B | change | CPU-µs/req A | CPU-µs/req B | change | p99 A | p99 B |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");

        var onlyInOne = new List<string>();
        foreach (var scenarioA in a.Scenarios)
        {
            var scenarioB = b.Scenarios.FirstOrDefault(s => s.Name == scenarioA.Name);
            if (scenarioB is null)
            {
                onlyInOne.Add($"{scenarioA.Name} only in {nameA}");
                continue;
            }

            var summariesA = MarkdownReport.SummariesOf(scenarioA);
            var summariesB = MarkdownReport.SummariesOf(scenarioB);
            bool idle = scenarioA.Transports.Any(t => t.Idle is not null);
            foreach (var transport in summariesA.Keys.Union(summariesB.Keys))
            {
                var sa = summariesA.GetValueOrDefault(transport);
                var sb = summariesB.GetValueOrDefault(transport);
                double? rpsA = idle ? null : sa?.RequestsPerSecond;
                double? rpsB = idle ? null : sb?.RequestsPerSecond;
                md.AppendLine($"| {scenarioA.Name} | {transport} | {Rps(rpsA)} | {Rps(rpsB)} | {Format.Change(rpsA, rpsB)} | " +
                              $"{Format.Significant(sa?.CpuMicrosecondsPerRequest)} | {Format.Significant(sb?.CpuMicrosecondsPerRequest)} | " +
                              $"{Format.Change(sa?.CpuMicrosecondsPerRequest, sb?.CpuMicrosecondsPerRequest)} | " +
                              $"{Format.Latency(sa?.P99Microseconds)} | {Format.Latency(sb?.P99Microseconds)} |");
            }

            var ratiosA = TransportRatio.For(summariesA.Values.ToList(), MarkdownReport.IsIoUring);
            var ratiosB = TransportRatio.For(summariesB.Values.ToList(), MarkdownReport.IsIoUring);
            foreach (var ra in ratiosA)
            {
                var rb = ratiosB.FirstOrDefault(r => r.Label == ra.Label);
                if (rb is null)
                {
                    continue;
                }

                md.AppendLine($"| {scenarioA.Name} | *{ra.Label}* | {(idle ? "" : Format.Ratio(ra.RequestsPerSecond))} | {(idle ? "" : Format.Ratio(rb.RequestsPerSecond))} | " +
                              $"{(idle ? "" : Format.Change(ra.RequestsPerSecond, rb.RequestsPerSecond))} | " +
                              $"{Format.Ratio(ra.CpuMicrosecondsPerRequest)} | {Format.Ratio(rb.CpuMicrosecondsPerRequest)} | " +
                              $"{Format.Change(ra.CpuMicrosecondsPerRequest, rb.CpuMicrosecondsPerRequest)} | | |");
            }
        }

        foreach (var scenarioB in b.Scenarios.Where(s => a.Scenarios.All(x => x.Name != s.Name)))
        {
            onlyInOne.Add($"{scenarioB.Name} only in {nameB}");
        }

        if (onlyInOne.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Not compared: " + string.Join("; ", onlyInOne) + ".");
        }

        if (a.Machine.Host != b.Machine.Host || a.Machine.CpuModel != b.Machine.CpuModel)
        {
            md.AppendLine();
            md.AppendLine($"The runs come from different machines ({a.Machine.Host}, {a.Machine.CpuModel} / {b.Machine.Host}, {b.Machine.CpuModel}): compare the ratios, not the absolute figures.");
        }

        return md.ToString();
    }

    private static string Rps(double? value) => value is double v ? Format.Integer(v) : "";
}
