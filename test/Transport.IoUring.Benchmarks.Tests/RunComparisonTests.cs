using System;
using System.Linq;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Results;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class RunComparisonTests
{
    [Fact]
    public void ChangeOfEachTransportAndOfTheRatioIsShown()
    {
        var a = SampleReports.Run();
        var b = SampleReports.Run(iouringFactor: 1.1);

        var lines = RunComparison.Render(a, b).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

        Assert.Contains("| plaintext-64 | sockets | 82,000 | 82,000 | +0.0 % | 12.0 | 12.0 | +0.0 % | 2.00 ms | 2.00 ms |", lines);
        Assert.Contains("| plaintext-64 | iouring | 98,000 | 107,800 | +10.0 % | 9.80 | 9.80 | +0.0 % | 2.00 ms | 2.00 ms |", lines);
        Assert.Contains("| plaintext-64 | *iouring / sockets* | 1.20× | 1.31× | +10.0 % | 0.82× | 0.82× | +0.0 % | | |", lines);
        Assert.Contains("| idle-10k | iouring |  |  | n/a | 80.0 | 80.0 | +0.0 % | n/a | n/a |", lines);
    }

    [Fact]
    public void ScenariosInOnlyOneRunAreListed()
    {
        var a = SampleReports.Run();
        var b = SampleReports.Run();
        b.Scenarios.RemoveAt(1);

        Assert.Contains("Not compared: idle-10k only in A.", RunComparison.Render(a, b));
    }

    [Fact]
    public void DifferentMachinesAreCalledOut()
    {
        var a = SampleReports.Run();
        var b = SampleReports.Run();
        b.Machine.Host = "other";

        Assert.Contains("different machines", RunComparison.Render(a, b));
    }

    [Fact]
    public void ReportSurvivesAJsonRoundTrip()
    {
        var report = SampleReports.Run();

        var copy = RunReport.FromJson(report.ToJson());

        Assert.Equal(RunComparison.Render(report, report), RunComparison.Render(copy, copy));
        Assert.Equal(report.Scenarios[0].Transports[1].Rounds[1].RequestsPerSecond, copy.Scenarios[0].Transports[1].Rounds[1].RequestsPerSecond);
        Assert.Equal(10_000, copy.Scenarios[1].Transports[0].Idle!.Opened);
    }

    [Fact]
    public void JsonThatIsNotAReportIsRejected()
    {
        Assert.ThrowsAny<Exception>(() => RunReport.FromJson("null"));
    }
}
