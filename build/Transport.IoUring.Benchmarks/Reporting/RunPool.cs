using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Transport.IoUring.Benchmarks.Results;

namespace Transport.IoUring.Benchmarks.Reporting;

/// <summary>
/// <c>--pool A.json B.json ...</c>: every io_uring/Sockets ratio of each scenario over the paired
/// rounds of several runs (<see cref="PairedRounds"/>), with how often io_uring was ahead and
/// whether the difference stands out from the machine's noise. Pool runs of the same code only.
/// </summary>
internal static class RunPool
{
    public sealed record PooledRatio(
        string Scenario,
        string Numerator,
        string Denominator,
        int Runs,
        int Pairs,
        int LeftOut,
        double? RequestsPerSecond,
        int Ahead,
        double? RequestsPerSecondP,
        double? CpuMicrosecondsPerRequest,
        double? CpuP,
        int LatencyPairs,
        double? P99,
        double? P99P)
    {
        public string Label => $"{Numerator} / {Denominator}";
    }

    /// <summary>The pooled ratios, scenarios in the order they first appear, ratio rows as in the run tables.</summary>
    public static List<PooledRatio> Pool(IReadOnlyList<RunReport> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var scenarioNames = runs.SelectMany(r => r.Scenarios).Select(s => s.Name).Distinct().ToList();
        var pooled = new List<PooledRatio>();
        foreach (string scenarioName in scenarioNames)
        {
            var instances = runs
                .Select(r => r.Scenarios.FirstOrDefault(s => s.Name == scenarioName))
                .Where(s => s is not null && s.SkippedReason is null && s.Transports.All(t => t.Idle is null))
                .Select(s => s!)
                .ToList();

            // The ratio rows of the run tables (every io_uring transport against every Sockets one).
            var labels = instances
                .SelectMany(scenario => TransportRatio.For(MarkdownReport.SummariesOf(scenario).Values.ToList(), MarkdownReport.IsIoUring))
                .Select(ratio => (ratio.Numerator, ratio.Denominator))
                .Distinct()
                .ToList();

            foreach (var (num, den) in labels)
            {
                pooled.Add(PoolOne(scenarioName, num, den, instances));
            }
        }

        return pooled;
    }

    private static PooledRatio PoolOne(string scenario, string num, string den, List<ScenarioReport> instances)
    {
        var rps = new List<double>();
        var cpu = new List<double>();
        var p99 = new List<double>();
        int runs = 0;
        int leftOut = 0;
        foreach (var instance in instances)
        {
            var a = instance.Transports.FirstOrDefault(t => t.Name == num && !t.Failed);
            var b = instance.Transports.FirstOrDefault(t => t.Name == den && !t.Failed);
            if (a is null || b is null)
            {
                continue;
            }

            bool any = false;
            foreach (var ra in a.Rounds)
            {
                var rb = b.Rounds.FirstOrDefault(r => r.Round == ra.Round);
                if (rb is null)
                {
                    continue;
                }

                if (ra.FailureReason is not null || rb.FailureReason is not null || ra.Disturbed || rb.Disturbed
                    || !(ra.RequestsPerSecond > 0) || !(rb.RequestsPerSecond > 0))
                {
                    leftOut++;
                    continue;
                }

                any = true;
                rps.Add(ra.RequestsPerSecond / rb.RequestsPerSecond);
                if (TransportRatio.Divide(ra.CpuMicrosecondsPerRequest, rb.CpuMicrosecondsPerRequest) is double c && c > 0)
                {
                    cpu.Add(c);
                }

                if (TransportRatio.Divide(ra.P99Microseconds, rb.P99Microseconds) is double l && l > 0)
                {
                    p99.Add(l);
                }
            }

            if (any)
            {
                runs++;
            }
        }

        return new PooledRatio(
            scenario, num, den, runs, rps.Count, leftOut,
            PairedRounds.GeometricMean(rps), rps.Count(r => r > 1), PairedRounds.SignFlipPValue(rps),
            PairedRounds.GeometricMean(cpu), PairedRounds.SignFlipPValue(cpu),
            p99.Count, PairedRounds.GeometricMean(p99), PairedRounds.SignFlipPValue(p99));
    }

    public static string Render(IReadOnlyList<RunReport> runs, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(names);
        var md = new StringBuilder();
        md.AppendLine($"# {runs.Count} run(s) pooled, paired round by round");
        md.AppendLine();
        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            md.AppendLine($"- {names[i]}: {run.StartedAt:yyyy-MM-dd HH:mm} UTC, {run.Machine.Host}, {run.Settings.Rounds} round(s) of {Format.Seconds(run.Settings.DurationSeconds)}");
        }

        md.AppendLine();
        md.AppendLine("Each pair is round i of the first transport against round i of the second in the same run: the");
        md.AppendLine("harness interleaves them, so both met the same state of the machine. **geo-mean**: the geometric");
        md.AppendLine("mean of the pairs' ratios. **ahead**: pairs where the first transport served more req/s. **p**:");
        md.AppendLine("two-sided sign-flip permutation test of the log ratios, the chance of a mean at least this far from");
        md.AppendLine($"1× if both transports were the same (exact up to {PairedRounds.ExactLimit} pairs, else {PairedRounds.SampledPermutations:N0} draws with a fixed seed).");
        md.AppendLine("Rounds that failed or were disturbed on either side are left out. Pool runs of the same code only.");
        md.AppendLine();
        md.AppendLine("| scenario | ratio | runs | pairs | req/s geo-mean | ahead | p | CPU-µs/req geo-mean | p | p99 geo-mean | p |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in Pool(runs))
        {
            md.AppendLine($"| {r.Scenario} | {r.Label} | {r.Runs} | {r.Pairs}{(r.LeftOut > 0 ? $" ({r.LeftOut} left out)" : "")} | " +
                          $"{Format.Ratio(r.RequestsPerSecond)} | {r.Ahead} of {r.Pairs} | {P(r.RequestsPerSecondP)} | " +
                          $"{Format.Ratio(r.CpuMicrosecondsPerRequest)} | {P(r.CpuP)} | " +
                          $"{(r.LatencyPairs > 0 ? Format.Ratio(r.P99) : Format.Missing)} | {(r.LatencyPairs > 0 ? P(r.P99P) : Format.Missing)} |");
        }

        var hosts = runs.Select(r => (r.Machine.Host, r.Machine.CpuModel)).Distinct().ToList();
        if (hosts.Count > 1)
        {
            md.AppendLine();
            md.AppendLine($"The runs come from {hosts.Count} different machines ({string.Join("; ", hosts.Select(h => $"{h.Host}, {h.CpuModel}"))}): pooling them mixes machines.");
        }

        return md.ToString();
    }

    private static string P(double? p) => p switch
    {
        null => Format.Missing,
        < 0.001 => "< 0.001",
        double v => v.ToString("0.000", CultureInfo.InvariantCulture),
    };
}
