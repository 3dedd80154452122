using System.Linq;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Results;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class SummaryAndRatioTests
{
    [Theory]
    [InlineData(new double[] { 3, 1, 2 }, 2)]
    [InlineData(new double[] { 4, 1, 3, 2 }, 2.5)]
    [InlineData(new double[] { 7 }, 7)]
    public void MedianOfOddAndEvenCounts(double[] values, double expected)
    {
        Assert.Equal(expected, TransportSummary.Median(values));
    }

    [Fact]
    public void MedianSkipsMissingValuesAndIsNullWithoutAny()
    {
        Assert.Equal(5, TransportSummary.Median(new double?[] { null, 5, null }));
        Assert.Null(TransportSummary.Median(new double?[] { null, null }));
    }

    [Fact]
    public void SummaryTakesMediansRangeAndWorstDisturbance()
    {
        var summary = TransportSummary.Of(SampleReports.Plaintext().Transports[1])!;

        Assert.Equal(98_000, summary.RequestsPerSecond);
        Assert.Equal(96_000, summary.MinRequestsPerSecond);
        Assert.Equal(100_000, summary.MaxRequestsPerSecond);
        Assert.Equal(9.8, summary.CpuMicrosecondsPerRequest);
        Assert.True(summary.Disturbed);
        Assert.Equal(14, summary.OtherCpuPercent);
        Assert.Equal(3, summary.Rounds);
    }

    [Fact]
    public void FailedRoundsAreLeftOutOfTheSummary()
    {
        var transport = SampleReports.Transport("iouring", SampleReports.Round(1, 90_000, 10), new RoundReport { Round = 2, FailureReason = "gone" });

        var summary = TransportSummary.Of(transport)!;

        Assert.Equal(1, summary.Rounds);
        Assert.Equal(90_000, summary.RequestsPerSecond);
        Assert.Null(TransportSummary.Of(SampleReports.Transport("x", new RoundReport { FailureReason = "gone" })));
    }

    [Fact]
    public void RatioDividesIoUringBySockets()
    {
        var summaries = SampleReports.Plaintext().Transports.Select(t => TransportSummary.Of(t)!).ToList();

        var ratio = Assert.Single(TransportRatio.For(summaries, MarkdownReport.IsIoUring));

        Assert.Equal("iouring / sockets", ratio.Label);
        Assert.Equal(98_000.0 / 82_000, ratio.RequestsPerSecond!.Value, 9);
        Assert.Equal(9.8 / 12.0, ratio.CpuMicrosecondsPerRequest!.Value, 9);
        Assert.Equal(1.0, ratio.P99);
    }

    [Fact]
    public void EveryIoUringRowIsDividedByEverySocketsRow()
    {
        var s = TransportSummary.Of(SampleReports.Transport("sockets", SampleReports.Round(1, 100, 10)))!;
        var si = TransportSummary.Of(SampleReports.Transport("sockets-inline", SampleReports.Round(1, 200, 10)))!;
        var i = TransportSummary.Of(SampleReports.Transport("iouring", SampleReports.Round(1, 150, 10)))!;

        var labels = TransportRatio.For([s, i, si], MarkdownReport.IsIoUring).Select(r => r.Label).ToList();

        Assert.Equal(["iouring / sockets", "iouring / sockets-inline"], labels);
    }

    [Fact]
    public void RatioWithAMissingOrZeroSideIsMissing()
    {
        Assert.Null(TransportRatio.Divide(null, 1));
        Assert.Null(TransportRatio.Divide(1, null));
        Assert.Null(TransportRatio.Divide(1, 0));
        Assert.Equal(0.5, TransportRatio.Divide(1, 2));
    }
}
