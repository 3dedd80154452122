using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Transport.IoUring.Benchmarks.Network;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Results;
using Transport.IoUring.Benchmarks.Running;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>--baseline PATH: the iouring-baseline row, a WebApp built from another commit run exactly like iouring.</summary>
public sealed class BaselineRowTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("baseline-row-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string BuiltBaseline()
    {
        File.WriteAllText(Path.Combine(_directory, "WebApp.dll"), "");
        return _directory;
    }

    [Fact]
    public void BaselineRowWithoutBaselineOptionIsAnError()
    {
        var error = Assert.Throws<ArgumentException>(() => TransportVariant.Select(["sockets", "iouring-baseline"]));

        Assert.Contains("--baseline", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BaselineDirectoryWithoutWebAppDllIsAnError()
    {
        var error = Assert.Throws<ArgumentException>(() => TransportVariant.Select(["iouring", "iouring-baseline"], _directory));

        Assert.Contains(Path.Combine(_directory, "WebApp.dll"), error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TransportVariant.Select(["iouring"], Path.Combine(_directory, "absent")));
    }

    [Fact]
    public void CommandLineWithBaselineRowButNoBaselineExitsWithTwoBeforeStartingAnything()
    {
        // Only the failing case goes through the command: a passing one would start a real run.
        Assert.Equal(2, Program.BuildCommand().Parse(["--scenarios", "plaintext-64", "--transports", "sockets,iouring-baseline"]).Invoke());
        Assert.Contains(Program.BuildCommand().Options, o => o.Name == "--baseline");
    }

    [Fact]
    public void BaselineJoinsRightAfterIoUringWhenNotNamed()
    {
        string dir = BuiltBaseline();

        Assert.Equal(["sockets", "iouring", "iouring-baseline", "sockets-inline"], TransportVariant.Select(["sockets", "iouring", "sockets-inline"], dir).Select(t => t.Name));
        Assert.Equal(["sockets", "iouring-baseline"], TransportVariant.Select(["sockets"], dir).Select(t => t.Name));
        Assert.Equal(["iouring-baseline", "sockets", "iouring"], TransportVariant.Select(["iouring-baseline", "sockets", "iouring"], dir).Select(t => t.Name));
        Assert.DoesNotContain(TransportVariant.Select(null), t => t.Name == TransportVariant.BaselineName);
    }

    [Fact]
    public void BaselineRowRunsTheOtherWebAppWithTheIoUringRowsCommandLine()
    {
        string dir = BuiltBaseline();
        var rows = TransportVariant.Select(["sockets", "iouring", "iouring-baseline"], dir);
        var current = rows.Single(t => t.Name == "iouring");
        var baseline = rows.Single(t => t.Name == "iouring-baseline");
        var settings = new HarnessSettings
        {
            Scenarios = Scenario.All, Transports = rows, DurationSeconds = 5, WarmupSeconds = 6, Rounds = 3,
            ServerCpus = "0", ClientCpus = "1", OutputDirectory = "x", RepositoryRoot = "/repo",
        };

        Assert.True(baseline.ExpectsIoUring);
        Assert.Equal("io_uring", baseline.ExpectedServedBy);
        Assert.Equal(Path.Combine(dir, "WebApp.dll"), settings.SampleDllFor(baseline));
        Assert.Equal("/repo/samples/WebApp/bin/Release/net10.0/WebApp.dll", settings.SampleDllFor(current));

        foreach (var endpoint in new[] { ServerEndpoint.Http, ServerEndpoint.H2c })
        {
            var a = BenchmarkServer.SampleCommand(settings.SampleDllFor(current), current, endpoint, "0", NetworkPath.Loopback, 5000, null!);
            var b = BenchmarkServer.SampleCommand(settings.SampleDllFor(baseline), baseline, endpoint, "0", NetworkPath.Loopback, 5000, null!);

            Assert.Equal(["-c", "0", "dotnet", Path.Combine(dir, "WebApp.dll"), "--transport", "iouring"], b.ArgumentList.Take(6));
            Assert.Equal(a.ArgumentList.Skip(4), b.ArgumentList.Skip(4));
            Assert.Equal(a.FileName, b.FileName);
            Assert.Equal(dir, b.WorkingDirectory);
            Assert.Equal(Sorted(a.Environment), Sorted(b.Environment));
        }
    }

    [Fact]
    public void RatioRowsIncludeIoUringOverItsBaseline()
    {
        var s = TransportSummary.Of(SampleReports.Transport("sockets", SampleReports.Round(1, 100, 10)))!;
        var i = TransportSummary.Of(SampleReports.Transport("iouring", SampleReports.Round(1, 150, 8, p99: 1800)))!;
        var b = TransportSummary.Of(SampleReports.Transport("iouring-baseline", SampleReports.Round(1, 120, 10)))!;

        var ratios = TransportRatio.For([s, i, b], MarkdownReport.IsIoUring);

        Assert.Equal(["iouring / sockets", "iouring-baseline / sockets", "iouring / iouring-baseline"], ratios.Select(r => r.Label));
        var own = ratios[^1];
        Assert.Equal(150.0 / 120, own.RequestsPerSecond!.Value, 9);
        Assert.Equal(8.0 / 10, own.CpuMicrosecondsPerRequest!.Value, 9);
        Assert.Equal(1800.0 / 2000, own.P99!.Value, 9);
        Assert.DoesNotContain(TransportRatio.For([s, i], MarkdownReport.IsIoUring), r => r.Denominator == "iouring-baseline");
    }

    [Fact]
    public void MarkdownReportShowsTheBaselineAndItsRatioRows()
    {
        var run = WithBaseline(SampleReports.Run());

        string md = MarkdownReport.RenderRun(run);

        Assert.Contains("- baseline: iouring-baseline runs `/tmp/before/samples/WebApp/bin/Release/net10.0` (version 1.0.0+7dac83b)", md, StringComparison.Ordinal);
        Assert.Contains("| req/s iouring / iouring-baseline |", md, StringComparison.Ordinal);
        Assert.Contains("| *iouring / iouring-baseline* | 1.25× |", md, StringComparison.Ordinal);
        Assert.Contains("| *iouring / iouring-baseline* |  |  |  |  | 0.80× |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void PoolPairsIoUringWithItsBaselineRoundByRound()
    {
        var pooled = RunPool.Pool([WithBaseline(SampleReports.Run()), WithBaseline(SampleReports.Run())]);

        var own = Assert.Single(pooled, r => r.Label == "iouring / iouring-baseline");
        Assert.Equal("plaintext-64", own.Scenario);
        Assert.Equal(2, own.Runs);
        Assert.Equal(4, own.Pairs); // round 2 of iouring is disturbed in each run
        Assert.Equal(1.25, own.RequestsPerSecond!.Value, 9);
        Assert.Equal(4, own.Ahead);
        Assert.Contains("| plaintext-64 | iouring / iouring-baseline | 2 | 4 (2 left out) |", RunPool.Render([WithBaseline(SampleReports.Run()), WithBaseline(SampleReports.Run())], ["a.json", "b.json"]), StringComparison.Ordinal);
    }

    /// <summary>The sample run plus an iouring-baseline row serving 0.8× iouring's req/s, and per connection 1.25× its memory.</summary>
    private static RunReport WithBaseline(RunReport run)
    {
        run.Settings.Transports.Add("iouring-baseline");
        run.Settings.Baseline = "/tmp/before/samples/WebApp/bin/Release/net10.0";
        run.Settings.BaselineVersion = "1.0.0+7dac83b";
        var plaintext = run.Scenarios[0];
        var current = plaintext.Transports.Single(t => t.Name == "iouring");
        plaintext.Transports.Add(SampleReports.Transport("iouring-baseline",
            current.Rounds.Select(r => SampleReports.Round(r.Round, r.RequestsPerSecond * 0.8, r.CpuMicrosecondsPerRequest)).ToArray()));
        var idle = run.Scenarios[1];
        var idleCurrent = idle.Transports.Single(t => t.Name == "iouring").Idle!;
        idle.Transports.Add(new TransportReport
        {
            Name = "iouring-baseline",
            Idle = new IdleReport
            {
                Requested = idleCurrent.Requested, Opened = idleCurrent.Opened, BaselineRssKiB = idleCurrent.BaselineRssKiB,
                RssWithConnectionsKiB = idleCurrent.BaselineRssKiB + (long)((idleCurrent.RssWithConnectionsKiB - idleCurrent.BaselineRssKiB) * 1.25),
                PeakRssKiB = idleCurrent.PeakRssKiB, CpuMicrosecondsPerConnection = idleCurrent.CpuMicrosecondsPerConnection,
            },
        });
        return run;
    }

    private static List<KeyValuePair<string, string?>> Sorted(IDictionary<string, string?> environment)
        => environment.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
}
