using System;
using Transport.IoUring.Benchmarks.LoadGenerators;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class WrkOutputParserTests
{
    [Fact]
    public void PipelinedRunCountsEveryResponseAndReportsNoLatency()
    {
        // wrk printed percentiles for this pipelined run, but they time whole batches: unusable.
        var result = WrkOutputParser.Parse(TestFiles.Read("wrk-pipelined.txt"), pipelined: true);

        Assert.Equal(1027862, result.Responses);
        Assert.Equal(3.02, result.Seconds, 6);
        Assert.Null(result.P50Microseconds);
        Assert.Null(result.P99Microseconds);
        Assert.Equal(0, result.Errors);
        Assert.Equal(0, result.Non2xx);
    }

    [Fact]
    public void PlainRunGivesLatencyPercentilesInMicroseconds()
    {
        var result = WrkOutputParser.Parse(TestFiles.Read("wrk-plain.txt"), pipelined: false);

        Assert.Equal(188822, result.Responses);
        Assert.Equal(2.00, result.Seconds, 6);
        Assert.Equal(545.0, result.P50Microseconds);
        Assert.Equal(3350.0, result.P99Microseconds!.Value, 6);
    }

    [Fact]
    public void Non2xxLineIsCounted()
    {
        var result = WrkOutputParser.Parse(TestFiles.Read("wrk-non2xx.txt"), pipelined: false);

        Assert.Equal(40652, result.Responses);
        Assert.Equal(40652, result.Non2xx);
        Assert.Equal(1.10, result.Seconds, 6);
    }

    [Fact]
    public void SocketErrorsAreSummedByKind()
    {
        var result = WrkOutputParser.Parse(TestFiles.Read("wrk-socket-errors.txt"), pipelined: false);

        Assert.Equal(0, result.Responses);
        Assert.Equal(18060, result.Errors);
        Assert.Equal(18060, result.ErrorDetails["read"]);
        Assert.Null(result.P50Microseconds);
    }

    [Theory]
    [InlineData("545.00", "us", 545)]
    [InlineData("3.35", "ms", 3350)]
    [InlineData("1.02", "s", 1_020_000)]
    [InlineData("2.00", "m", 120_000_000)]
    public void WrkTimeUnitsBecomeMicroseconds(string value, string unit, double expected)
    {
        Assert.Equal(expected, WrkOutputParser.ToMicroseconds(value, unit), 6);
    }

    [Fact]
    public void UsageTextIsRejected()
    {
        Assert.Throws<FormatException>(() => WrkOutputParser.Parse("unable to connect to 127.0.0.1:5199 Connection refused", pipelined: false));
    }

    [Fact]
    public void TlsChurnRunCountsReconnectsAsResponsesNotErrors()
    {
        // With Connection: close wrk reconnects (a new TLS handshake) after every response.
        var result = WrkOutputParser.Parse(TestFiles.Read("wrk-tls-churn.txt"), pipelined: false);

        Assert.Equal(193, result.Responses);
        Assert.Equal(2.02, result.Seconds, 6);
        Assert.Equal(0, result.Errors);
        Assert.Equal(0, result.Non2xx);
        Assert.Equal(72760, result.P50Microseconds!.Value, 3);
        Assert.Equal(485200, result.P99Microseconds!.Value, 3);
    }
}
