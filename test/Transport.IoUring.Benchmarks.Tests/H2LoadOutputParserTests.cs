using System;
using System.IO;
using System.Linq;
using Transport.IoUring.Benchmarks.LoadGenerators;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class H2LoadOutputParserTests
{
    [Fact]
    public void PlaintextRunGivesResponsesAndDuration()
    {
        var result = H2LoadOutputParser.Parse(TestFiles.Read("h2load-plaintext.txt"));

        Assert.Equal(280870, result.Responses);
        Assert.Equal(3.00, result.Seconds, 6);
        Assert.Equal(0, result.Errors);
        Assert.Equal(0, result.Non2xx);
        // The report has only min/max/mean: without the log there are no percentiles.
        Assert.Null(result.P50Microseconds);
    }

    [Fact]
    public void LatencyPercentilesComeFromTheLogFile()
    {
        using var log = TestFiles.Open("h2load-plaintext.log");
        var latencies = H2LoadOutputParser.ParseLog(log);
        var result = H2LoadOutputParser.Parse(TestFiles.Read("h2load-plaintext.txt"), latencies);

        Assert.Equal(200, latencies.Count);
        Assert.Equal(52850, latencies[0]);
        Assert.Equal(Percentiles.Of(latencies, 50), result.P50Microseconds);
        Assert.Equal(Percentiles.Of(latencies, 99), result.P99Microseconds);
        Assert.InRange(result.P50Microseconds!.Value, latencies.Min(), latencies.Max());
    }

    [Fact]
    public void FailedMeans4xxHereSoTheyAreResponsesAndNon2xx()
    {
        var result = H2LoadOutputParser.Parse(TestFiles.Read("h2load-non2xx.txt"));

        Assert.Equal(59779, result.Responses);
        Assert.Equal(59779, result.Non2xx);
        Assert.Equal(0, result.Errors);
    }

    [Fact]
    public void RunWhereNoRequestCompletedHasNoResponses()
    {
        var result = H2LoadOutputParser.Parse(TestFiles.Read("h2load-h1-endpoint.txt"));

        Assert.Equal(0, result.Responses);
        Assert.Equal(20, result.ErrorDetails["started but never done"]);
    }

    [Fact]
    public void TlsRunIsReadLikeH2c()
    {
        // Over TLS h2load adds "TLS Protocol", "Cipher", "Server Temp Key" lines before the summary.
        var result = H2LoadOutputParser.Parse(TestFiles.Read("h2load-tls.txt"));

        Assert.Equal(32302, result.Responses);
        Assert.Equal(2.06, result.Seconds, 6);
        Assert.Equal(0, result.Errors);
        Assert.Equal(0, result.Non2xx);
    }

    [Fact]
    public void GrpcRunCountsEveryCallAsAResponse()
    {
        var result = H2LoadOutputParser.Parse(TestFiles.Read("h2load-grpc.txt"));

        Assert.Equal(24293, result.Responses);
        Assert.Equal(2.04, result.Seconds, 6);
        Assert.Equal(0, result.Errors);
        Assert.Equal(0, result.Non2xx);
    }

    [Fact]
    public void BrokenLogLineIsRejected()
    {
        Assert.Throws<FormatException>(() => H2LoadOutputParser.ParseLog(new StringReader("1795606537322091\t200\tabc\n")));
    }

    [Fact]
    public void ReportWithoutSummaryLinesIsRejected()
    {
        Assert.Throws<FormatException>(() => H2LoadOutputParser.Parse("starting benchmark...\n"));
    }
}
