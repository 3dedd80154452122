using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Transport.IoUring.Benchmarks.Measurement;
using Transport.IoUring.Benchmarks.Results;

namespace Transport.IoUring.Benchmarks.Reporting;

/// <summary>Renders a run as markdown: a headline table of ratios, then one table per scenario.</summary>
internal static class MarkdownReport
{
    public static bool IsIoUring(string transport) => transport.StartsWith("iouring", StringComparison.Ordinal);

    public static string RenderRun(RunReport run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var md = new StringBuilder();
        var m = run.Machine;
        var s = run.Settings;
        md.AppendLine($"# Transport.IoUring benchmarks, {run.StartedAt:yyyy-MM-dd HH:mm} UTC, {m.Host}");
        md.AppendLine();
        md.AppendLine($"- machine: {m.Cores} cores ({m.CpuModel}), Linux {m.Kernel}, {m.Os}, .NET {m.DotnetRuntime}");
        md.AppendLine($"- server on CPU {s.ServerCpus}, load generator on CPU {s.ClientCpus}; warm-up {Format.Seconds(s.WarmupSeconds)} per transport, " +
                      $"then {s.Rounds} round(s) of {Format.Seconds(s.DurationSeconds)} per transport, interleaved ({string.Join(", ", s.Transports)})");
        if (s.Baseline is not null)
        {
            md.AppendLine($"- baseline: {Running.TransportVariant.BaselineName} runs `{s.Baseline}`{(s.BaselineVersion is null ? "" : $" (version {s.BaselineVersion})")}; " +
                          $"{Running.TransportVariant.BaselineOf} runs this repository's samples/WebApp{(s.SampleVersion is null ? "" : $" (version {s.SampleVersion})")}");
        }

        md.AppendLine($"- network: {s.Network}{(s.Network == "veth" ? " (server and load generator in two network namespaces joined by a veth pair)" : "")}");
        md.AppendLine($"- server environment: {string.Join(", ", s.ServerEnvironment.Select(kv => $"`{kv.Key}={kv.Value}`"))}");
        md.AppendLine($"- tools: {string.Join(", ", s.Tools.Select(kv => $"{kv.Key} `{kv.Value}`"))}");
        md.AppendLine($"- run took {Format.Seconds(Math.Round(run.ElapsedSeconds))}");
        foreach (var note in run.Notes)
        {
            md.AppendLine($"- note: {note}");
        }

        md.AppendLine();
        md.AppendLine("Figures are medians over the rounds; req/s shows the rounds' range in parentheses. CPU-µs/req is the server's");
        md.AppendLine("utime + stime over the round ÷ responses. \"server CPU\" / \"client CPU\" are the share of one core the server and the");
        md.AppendLine($"load generator used; \"other CPU\" is the machine's busy time outside both (worst round), flagged above {CpuAccounting.DisturbedThresholdPercent:0} %.");
        md.AppendLine("softirq-µs/req is the softirq time of the server's cores ÷ responses (kernel network processing; partly also in CPU-µs/req, see");
        md.AppendLine("docs/benchmarks.md); core-µs/req is all busy time of the server's cores ÷ responses: the server, its softirq, and anything else run there.");
        md.AppendLine();
        md.Append(RenderHeadline(run));
        foreach (var scenario in run.Scenarios)
        {
            md.AppendLine();
            md.Append(RenderScenario(scenario));
        }

        return md.ToString();
    }

    /// <summary>One line per scenario with the ratios of each io_uring transport to each Sockets transport.</summary>
    public static string RenderHeadline(RunReport run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var pairs = new List<(string Num, string Den)>();
        var rows = new List<(ScenarioReport Scenario, List<TransportRatio> Ratios, Dictionary<string, TransportSummary> Summaries)>();
        foreach (var scenario in run.Scenarios)
        {
            var summaries = SummariesOf(scenario);
            var ratios = TransportRatio.For(summaries.Values.ToList(), IsIoUring);
            foreach (var r in ratios)
            {
                if (!pairs.Contains((r.Numerator, r.Denominator)))
                {
                    pairs.Add((r.Numerator, r.Denominator));
                }
            }

            rows.Add((scenario, ratios, summaries));
        }

        var transports = run.Settings.Transports;
        var md = new StringBuilder();
        md.AppendLine("## Summary");
        md.AppendLine();
        var header = new List<string> { "scenario" };
        header.AddRange(transports.Select(t => $"req/s {t}"));
        header.AddRange(transports.Select(t => $"CPU-µs/req {t}"));
        header.AddRange(pairs.Select(p => $"req/s {p.Num} / {p.Den}"));
        header.AddRange(pairs.Select(p => $"CPU/req {p.Num} / {p.Den}"));
        header.Add("disturbed");
        header.Add("client-bound");
        AppendRow(md, header);
        AppendRow(md, header.Select((_, i) => i == 0 || i >= header.Count - 2 ? "---" : "---:"));
        int clientCores = string.IsNullOrWhiteSpace(run.Settings.ClientCpus) ? 1 : Running.CpuList.Count(run.Settings.ClientCpus);
        double clientBoundPercent = CpuAccounting.LoadGeneratorBoundPercent * clientCores;
        foreach (var (scenario, ratios, summaries) in rows)
        {
            var cells = new List<string> { scenario.Name };
            if (scenario.SkippedReason is not null)
            {
                cells.Add("skipped: " + scenario.SkippedReason);
                cells.AddRange(Enumerable.Repeat("", header.Count - 2));
                AppendRow(md, cells);
                continue;
            }

            bool idle = scenario.Transports.Any(t => t.Idle is not null);
            foreach (var t in transports)
            {
                var report = scenario.Transports.FirstOrDefault(x => x.Name == t);
                var summary = summaries.GetValueOrDefault(t);
                cells.Add(report is null ? "" : report.Failed || summary is null ? "failed" : idle ? "" : Format.Integer(summary.RequestsPerSecond));
            }

            foreach (var t in transports)
            {
                var report = scenario.Transports.FirstOrDefault(x => x.Name == t);
                cells.Add(report is null ? "" : report.Failed ? "failed" : Format.Significant(summaries.GetValueOrDefault(t)?.CpuMicrosecondsPerRequest));
            }

            foreach (var pair in pairs)
            {
                var ratio = ratios.FirstOrDefault(r => r.Numerator == pair.Num && r.Denominator == pair.Den);
                cells.Add(idle || !RanBoth(scenario, pair) ? "" : Format.Ratio(ratio?.RequestsPerSecond));
            }

            foreach (var pair in pairs)
            {
                var ratio = ratios.FirstOrDefault(r => r.Numerator == pair.Num && r.Denominator == pair.Den);
                cells.Add(!RanBoth(scenario, pair) ? "" : Format.Ratio(ratio?.CpuMicrosecondsPerRequest));
            }

            var disturbed = summaries.Values.Where(v => v.Disturbed).Select(v => v.Transport).ToList();
            cells.Add(disturbed.Count == 0 ? "no" : string.Join(", ", disturbed));
            var clientBound = summaries.Values.Where(v => v.LoadGeneratorCpuPercent >= clientBoundPercent).Select(v => v.Transport).ToList();
            cells.Add(idle || clientBound.Count == 0 ? "no" : string.Join(", ", clientBound));
            AppendRow(md, cells);
        }

        md.AppendLine();
        md.AppendLine("req/s and CPU-µs/req are medians over the rounds. A ratio above 1 means more requests per second (req/s) or more server CPU per request (CPU/req) than the denominator. In idle-10k, CPU is per connection opened. disturbed: rows with a round where other work took more than 10 % of a core. client-bound: transports whose load generator was at least " +
            $"{CpuAccounting.LoadGeneratorBoundPercent:0} % busy (median): there the load generator sets the pace, so compare CPU-µs/req rather than req/s.");
        return md.ToString();
    }

    public static string RenderScenario(ScenarioReport scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var md = new StringBuilder();
        md.AppendLine($"## {scenario.Name}");
        md.AppendLine();
        md.AppendLine($"{scenario.Description} ({scenario.Tool}).");
        if (scenario.ExampleCommand is not null)
        {
            md.AppendLine();
            md.AppendLine($"`{scenario.ExampleCommand}`");
        }

        md.AppendLine();
        if (scenario.SkippedReason is not null)
        {
            md.AppendLine($"Skipped: {scenario.SkippedReason}");
            return md.ToString();
        }

        if (scenario.Transports.Any(t => t.Idle is not null))
        {
            md.Append(RenderIdleTable(scenario));
        }
        else
        {
            md.Append(RenderLoadTable(scenario));
        }

        var failures = scenario.Transports.Where(t => t.Failed).ToList();
        foreach (var failed in failures)
        {
            md.AppendLine();
            md.AppendLine($"**{failed.Name} failed:** {failed.FailureReason}");
        }

        var warmups = scenario.Transports.Where(t => t.Warmup.Count > 0).ToList();
        if (warmups.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Warm-up, CPU-µs/req per chunk: " + string.Join("; ", warmups.Select(t =>
                $"{t.Name} {string.Join(" → ", t.Warmup.Select(w => Format.Significant(w.CpuMicrosecondsPerRequest)))}")));
        }

        return md.ToString();
    }

    private static string RenderLoadTable(ScenarioReport scenario)
    {
        var md = new StringBuilder();

        // Upload scenarios are read in bytes: MB/s (10^6 bytes of request body) and CPU per MB.
        double? megabytesPerRequest = scenario.RequestBodyBytes / 1e6;
        bool bytes = megabytesPerRequest is > 0;
        var header = new List<string> { "transport", "req/s (range)" };
        if (bytes)
        {
            header.Add("MB/s");
        }

        header.Add("CPU-µs/req");
        if (bytes)
        {
            header.Add("CPU-µs/MB");
        }

        header.AddRange(["softirq-µs/req", "core-µs/req"]);

        header.AddRange(["p50", "p99", "errors", "non-2xx", "peak RSS", "server CPU", "client CPU", "other CPU"]);
        AppendRow(md, header);
        AppendRow(md, header.Select((_, i) => i == 0 ? "---" : "---:"));
        var summaries = SummariesOf(scenario);
        foreach (var transport in scenario.Transports)
        {
            if (!summaries.TryGetValue(transport.Name, out var s))
            {
                AppendRow(md, new[] { transport.Name, "failed" }.Concat(Enumerable.Repeat("", header.Count - 2)));
                continue;
            }

            var cells = new List<string> { transport.Name, $"{Format.Integer(s.RequestsPerSecond)} ({Format.Short(s.MinRequestsPerSecond)}–{Format.Short(s.MaxRequestsPerSecond)})" };
            if (bytes)
            {
                cells.Add(Format.Significant(s.RequestsPerSecond * megabytesPerRequest));
            }

            cells.Add(Format.Significant(s.CpuMicrosecondsPerRequest));
            if (bytes)
            {
                cells.Add(Format.Significant(s.CpuMicrosecondsPerRequest / megabytesPerRequest));
            }

            cells.Add(Format.Significant(s.SoftIrqMicrosecondsPerRequest));
            cells.Add(Format.Significant(s.ServerCoresMicrosecondsPerRequest));

            cells.AddRange(
            [
                Format.Latency(s.P50Microseconds),
                Format.Latency(s.P99Microseconds),
                Format.Integer(s.Errors),
                Format.Integer(s.Non2xx),
                Format.MiB(s.PeakRssKiB),
                Format.Percent(s.ServerCpuPercent),
                Format.Percent(s.LoadGeneratorCpuPercent),
                s.Disturbed ? $"**{Format.Percent(s.OtherCpuPercent)} disturbed**" : Format.Percent(s.OtherCpuPercent),
            ]);
            AppendRow(md, cells);
        }

        foreach (var ratio in TransportRatio.For(summaries.Values.ToList(), IsIoUring))
        {
            // A ratio of MB/s is the ratio of req/s (same body size), and likewise for CPU.
            var cells = new List<string> { $"*{ratio.Label}*", Format.Ratio(ratio.RequestsPerSecond) };
            if (bytes)
            {
                cells.Add(Format.Ratio(ratio.RequestsPerSecond));
            }

            cells.Add(Format.Ratio(ratio.CpuMicrosecondsPerRequest));
            if (bytes)
            {
                cells.Add(Format.Ratio(ratio.CpuMicrosecondsPerRequest));
            }

            cells.Add(Format.Ratio(ratio.SoftIrqMicrosecondsPerRequest));
            cells.Add(Format.Ratio(ratio.ServerCoresMicrosecondsPerRequest));

            cells.AddRange([Format.Ratio(ratio.P50), Format.Ratio(ratio.P99), "", "", Format.Ratio(ratio.PeakRss), "", "", ""]);
            AppendRow(md, cells);
        }

        return md.ToString();
    }

    private static string RenderIdleTable(ScenarioReport scenario)
    {
        var md = new StringBuilder();
        AppendRow(md, ["transport", "open", "failed", "RSS before", "RSS with connections open", "KiB per connection", "peak RSS", "CPU-µs per connection", "time to open"]);
        AppendRow(md, ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]);
        var perConnection = new Dictionary<string, double?>();
        foreach (var transport in scenario.Transports)
        {
            var idle = transport.Idle;
            if (idle is null || transport.Failed)
            {
                AppendRow(md, [transport.Name, "failed", "", "", "", "", "", "", ""]);
                continue;
            }

            perConnection[transport.Name] = idle.KiBPerConnection;
            AppendRow(md,
            [
                transport.Name,
                Format.Integer(idle.Opened),
                Format.Integer(idle.Failed),
                Format.MiB(idle.BaselineRssKiB),
                Format.MiB(idle.RssWithConnectionsKiB),
                Format.Significant(idle.KiBPerConnection),
                Format.MiB(idle.PeakRssKiB),
                Format.Significant(idle.CpuMicrosecondsPerConnection),
                Format.Seconds(Math.Round(idle.OpenSeconds, 1)),
            ]);
        }

        foreach (var (num, den) in TransportRatio.Pairs(perConnection.Keys.ToList(), IsIoUring))
        {
            AppendRow(md, [$"*{num} / {den}*", "", "", "", "", Format.Ratio(TransportRatio.Divide(perConnection[num], perConnection[den])), "", "", ""]);
        }

        var notes = scenario.Transports.Select(t => t.Idle?.Note).Where(n => n is not null).Distinct().ToList();
        foreach (var note in notes)
        {
            md.AppendLine();
            md.AppendLine(note);
        }

        return md.ToString();
    }

    /// <summary>Whether both rows of a ratio ran in the scenario (the nginx reference runs only the static ones).</summary>
    private static bool RanBoth(ScenarioReport scenario, (string Num, string Den) pair)
        => scenario.Transports.Any(t => t.Name == pair.Num) && scenario.Transports.Any(t => t.Name == pair.Den);

    /// <summary>The summary rows of a scenario by transport; idle reports become rows whose CPU is per connection.</summary>
    public static Dictionary<string, TransportSummary> SummariesOf(ScenarioReport scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var result = new Dictionary<string, TransportSummary>(StringComparer.Ordinal);
        foreach (var transport in scenario.Transports)
        {
            if (transport.Failed)
            {
                continue;
            }

            if (transport.Idle is { } idle)
            {
                result[transport.Name] = new TransportSummary(transport.Name, 1, 0, 0, 0, idle.CpuMicrosecondsPerConnection, null, null,
                    idle.Failed, 0, idle.PeakRssKiB, 0, 0, 0, false);
                continue;
            }

            if (TransportSummary.Of(transport) is { } summary)
            {
                result[transport.Name] = summary;
            }
        }

        return result;
    }

    private static void AppendRow(StringBuilder md, IEnumerable<string> cells)
        => md.Append("| ").Append(string.Join(" | ", cells.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal)))).AppendLine(" |");
}
