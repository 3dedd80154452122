using System;
using Transport.IoUring.Benchmarks.Measurement;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Results;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>The server cores' softirq and busy time from the per-core lines of /proc/stat.</summary>
public sealed class SoftIrqAccountingTests
{
    // Fields: user nice system idle iowait irq softirq steal guest guest_nice.
    private const string Before = """
        cpu  3000 0 1000 9000 100 0 300 20 0 0
        cpu0 2000 0 600 4000 50 0 250 10 0 0
        cpu1 1000 0 400 5000 50 0 50 10 0 0
        intr 141133 0 0
        """;

    private const string After = """
        cpu  3600 0 1300 9100 100 0 420 20 0 0
        cpu0 2300 0 750 4020 50 0 360 10 0 0
        cpu1 1300 0 550 5080 50 0 60 10 0 0
        intr 151133 0 0
        """;

    [Fact]
    public void OneCoreIsItsOwnLine()
    {
        var delta = SystemCpuTimes.ParseCores(After, [0]) - SystemCpuTimes.ParseCores(Before, [0]);

        Assert.Equal(110, delta.SoftIrq);
        Assert.Equal(300 + 150 + 110, delta.Busy);
    }

    [Fact]
    public void SeveralCoresAreSummed()
    {
        var delta = SystemCpuTimes.ParseCores(After, [0, 1]) - SystemCpuTimes.ParseCores(Before, [0, 1]);

        Assert.Equal(110 + 10, delta.SoftIrq);
        Assert.Equal((SystemCpuTimes.Parse(After) - SystemCpuTimes.Parse(Before)).SoftIrq, delta.SoftIrq);
    }

    [Fact]
    public void ACoreMissingFromProcStatIsAnError()
    {
        Assert.Throws<FormatException>(() => SystemCpuTimes.ParseCores(Before, [0, 7]));
    }

    [Fact]
    public void SoftIrqTicksArePerRequestMicroseconds()
    {
        // 110 ticks at CLK_TCK 100 = 1.1 s of softirq for 100,000 responses = 11 µs each.
        Assert.Equal(11, CpuAccounting.SoftIrqMicrosecondsPerRequest(110, 100_000, 100)!.Value, 9);
        Assert.Null(CpuAccounting.SoftIrqMicrosecondsPerRequest(110, 0, 100));
    }

    [Fact]
    public void SummaryTakesTheMedianOverRoundsAndResultFilesWithoutItShowNa()
    {
        var transport = SampleReports.Transport("iouring", SampleReports.Round(1, 1000, 10), SampleReports.Round(2, 1000, 20), SampleReports.Round(3, 1000, 12));
        Assert.Equal(3.0, TransportSummary.Of(transport)!.SoftIrqMicrosecondsPerRequest!.Value, 9);

        string json = new RunReport { Scenarios = [SampleReports.Plaintext()] }.ToJson()
            .Replace("\"softIrqMicrosecondsPerRequest\"", "\"unknownOld\"", StringComparison.Ordinal);
        var old = RunReport.FromJson(json);
        var summary = TransportSummary.Of(old.Scenarios[0].Transports[0])!;
        Assert.Null(summary.SoftIrqMicrosecondsPerRequest);
        Assert.Contains("| sockets | 82,000 (80.0k–84.0k) | 12.0 | n/a | 14.4 |", MarkdownReport.RenderScenario(old.Scenarios[0]), StringComparison.Ordinal);
    }
}
