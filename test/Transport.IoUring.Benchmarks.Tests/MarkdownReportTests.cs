using System;
using System.Linq;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Results;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class MarkdownReportTests
{
    private static string[] Lines(string markdown) => markdown.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    [Fact]
    public void ScenarioTableHasOneRowPerTransportAndARatioRow()
    {
        var lines = Lines(MarkdownReport.RenderScenario(SampleReports.Plaintext()));

        Assert.Equal("## plaintext-64", lines[0]);
        Assert.Contains("| transport | req/s (range) | CPU-µs/req | softirq-µs/req | core-µs/req | p50 | p99 | errors | non-2xx | peak RSS | server CPU | client CPU | other CPU |", lines);
        Assert.Contains("| sockets | 82,000 (80.0k–84.0k) | 12.0 | 3.00 | 14.4 | 500 µs | 2.00 ms | 0 | 0 | 100.0 MiB | 98 % | 60 % | 3 % |", lines);
        Assert.Contains("| iouring | 98,000 (96.0k–100.0k) | 9.80 | 2.45 | 11.8 | 500 µs | 2.00 ms | 0 | 0 | 100.0 MiB | 98 % | 60 % | **14 % disturbed** |", lines);
        Assert.Contains("| *iouring / sockets* | 1.20× | 0.82× | 0.82× | 0.82× | 1.00× | 1.00× |  |  | 1.00× |  |  |  |", lines);
    }

    [Fact]
    public void UploadTableAddsMegabytesPerSecondAndCpuPerMegabyte()
    {
        var scenario = SampleReports.Plaintext();
        scenario.Name = "upload-16m";
        scenario.RequestBodyBytes = 16 * 1024 * 1024;

        var lines = Lines(MarkdownReport.RenderScenario(scenario));

        // 82,000 req/s × 16.777216 MB = 1,375,732 MB/s; 12.0 µs ÷ 16.777216 MB = 0.715 µs/MB.
        Assert.Contains("| transport | req/s (range) | MB/s | CPU-µs/req | CPU-µs/MB | softirq-µs/req | core-µs/req | p50 | p99 | errors | non-2xx | peak RSS | server CPU | client CPU | other CPU |", lines);
        Assert.Contains("| sockets | 82,000 (80.0k–84.0k) | 1375732 | 12.0 | 0.715 | 3.00 | 14.4 | 500 µs | 2.00 ms | 0 | 0 | 100.0 MiB | 98 % | 60 % | 3 % |", lines);
        Assert.Contains("| *iouring / sockets* | 1.20× | 1.20× | 0.82× | 0.82× | 0.82× | 0.82× | 1.00× | 1.00× |  |  | 1.00× |  |  |  |", lines);
    }

    [Fact]
    public void HeadlineLeavesRatiosBlankWhereARowDidNotRunTheScenario()
    {
        var plaintext = SampleReports.Plaintext();
        plaintext.Transports.Add(SampleReports.Transport("nginx", SampleReports.Round(1, 120_000, 8.0)));
        var upload = SampleReports.Plaintext();
        upload.Name = "upload-16m";
        var run = new RunReport { Settings = new RunSettings { Transports = ["sockets", "iouring", "nginx"], ClientCpus = "1" }, Scenarios = [plaintext, upload] };

        var lines = Lines(MarkdownReport.RenderHeadline(run));

        Assert.Contains(lines, l => l.StartsWith("| plaintext-64 | 82,000 | 98,000 | 120,000 | 12.0 | 9.80 | 8.00 | 1.20× | 0.82× | 0.82× | 1.23× |", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("| upload-16m | 82,000 | 98,000 |  | 12.0 | 9.80 |  | 1.20× |  | 0.82× |  |", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingLatencyIsWrittenAsNotAvailable()
    {
        var scenario = SampleReports.Plaintext();
        foreach (var round in scenario.Transports.SelectMany(t => t.Rounds))
        {
            round.P50Microseconds = round.P99Microseconds = null;
        }

        var sockets = Lines(MarkdownReport.RenderScenario(scenario)).Single(l => l.StartsWith("| sockets |", StringComparison.Ordinal));

        Assert.Contains("| 12.0 | 3.00 | 14.4 | n/a | n/a |", sockets);
    }

    [Fact]
    public void FailedTransportIsShownAsFailedWithItsReason()
    {
        var scenario = SampleReports.Plaintext();
        scenario.Transports[1].FailureReason = "/transport answered 'sockets', not 'io_uring'";

        var markdown = MarkdownReport.RenderScenario(scenario);

        Assert.Contains("| iouring | failed |", markdown);
        Assert.Contains("**iouring failed:** /transport answered 'sockets', not 'io_uring'", markdown);
        Assert.DoesNotContain("iouring / sockets", markdown);
    }

    [Fact]
    public void SkippedScenarioSaysWhy()
    {
        var markdown = MarkdownReport.RenderScenario(new ScenarioReport { Name = "h2c-100", Description = "h2c", Tool = "h2load", SkippedReason = "h2load not found" });

        Assert.Contains("Skipped: h2load not found", markdown);
        Assert.DoesNotContain("| transport |", markdown);
    }

    [Fact]
    public void IdleTableGivesMemoryPerConnection()
    {
        var lines = Lines(MarkdownReport.RenderScenario(SampleReports.Run().Scenarios[1]));

        Assert.Contains("| sockets | 10,000 | 0 | 75.0 MiB | 175.0 MiB | 10.2 | 176.0 MiB | 100 | 0 s |", lines);
        Assert.Contains("| iouring | 10,000 | 0 | 77.0 MiB | 157.0 MiB | 8.19 | 158.0 MiB | 80.0 | 0 s |", lines);
        Assert.Contains("| *iouring / sockets* |  |  |  |  | 0.80× |  |  |  |", lines);
    }

    [Fact]
    public void RunReportStartsWithTheMachineAndASummaryOfRatios()
    {
        var markdown = MarkdownReport.RenderRun(SampleReports.Run());
        var lines = Lines(markdown);

        Assert.StartsWith("# Transport.IoUring benchmarks, 2026-11-25 12:00 UTC, vm", lines[0]);
        Assert.Contains("- machine: 2 cores (AMD EPYC), Linux 6.18, , .NET 10.0.12", lines);
        Assert.Contains("| scenario | req/s sockets | req/s iouring | CPU-µs/req sockets | CPU-µs/req iouring | req/s iouring / sockets | CPU/req iouring / sockets | disturbed | client-bound |", lines);
        Assert.Contains("| plaintext-64 | 82,000 | 98,000 | 12.0 | 9.80 | 1.20× | 0.82× | iouring | no |", lines);
        Assert.Contains("| idle-10k |  |  | 100 | 80.0 |  | 0.80× | no | no |", lines);
        Assert.True(markdown.IndexOf("## Summary", StringComparison.Ordinal) < markdown.IndexOf("## plaintext-64", StringComparison.Ordinal));
    }

    [Fact]
    public void RowsWhereTheLoadGeneratorWasSaturatedNameTheTransports()
    {
        var run = SampleReports.Run();
        foreach (var round in run.Scenarios[0].Transports[1].Rounds)
        {
            round.LoadGeneratorCpuPercent = 97;
        }

        var lines = Lines(MarkdownReport.RenderHeadline(run));
        Assert.Contains("| plaintext-64 | 82,000 | 98,000 | 12.0 | 9.80 | 1.20× | 0.82× | iouring | iouring |", lines);

        // Two client cores: 97 % of one is far from saturating them.
        run.Settings.ClientCpus = "1-2";
        lines = Lines(MarkdownReport.RenderHeadline(run));
        Assert.Contains("| plaintext-64 | 82,000 | 98,000 | 12.0 | 9.80 | 1.20× | 0.82× | iouring | no |", lines);
    }

    [Fact]
    public void PipesInCellsAreEscaped()
    {
        var scenario = SampleReports.Plaintext();
        scenario.Transports[0].Name = "a|b";

        Assert.Contains("| a\\|b |", MarkdownReport.RenderScenario(scenario));
    }
}
