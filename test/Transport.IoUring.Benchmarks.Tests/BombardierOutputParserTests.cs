using Transport.IoUring.Benchmarks.LoadGenerators;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class BombardierOutputParserTests
{
    [Fact]
    public void PlaintextRunGivesResponsesDurationAndLatencyInMicroseconds()
    {
        var result = BombardierOutputParser.Parse(TestFiles.Read("bombardier-plaintext.json"));

        Assert.Equal(205067, result.Responses);
        Assert.Equal(3.000905194, result.Seconds, 9);
        Assert.Equal(205067 / 3.000905194, result.RequestsPerSecond, 6);
        Assert.Equal(625, result.P50Microseconds);
        Assert.Equal(4420, result.P99Microseconds);
        Assert.Equal(0, result.Errors);
        Assert.Equal(0, result.Non2xx);
        Assert.Empty(result.ErrorDetails);
    }

    [Fact]
    public void PostRunIsParsedLikeAGet()
    {
        var result = BombardierOutputParser.Parse(TestFiles.Read("bombardier-echo.json"));

        Assert.Equal(103630, result.Responses);
        Assert.Equal(1033, result.P50Microseconds);
        Assert.Equal(4603, result.P99Microseconds);
    }

    [Fact]
    public void Status4xxResponsesCountAsResponsesAndAsNon2xx()
    {
        var result = BombardierOutputParser.Parse(TestFiles.Read("bombardier-non2xx.json"));

        Assert.Equal(67382, result.Responses);
        Assert.Equal(67382, result.Non2xx);
        Assert.Equal(0, result.Errors);
    }

    [Fact]
    public void RefusedConnectionsAreErrorsNotResponsesAndTheirLatencyIsDropped()
    {
        var result = BombardierOutputParser.Parse(TestFiles.Read("bombardier-refused.json"));

        Assert.Equal(0, result.Responses);
        Assert.Equal(59593, result.Errors);
        Assert.Equal(0, result.Non2xx);
        Assert.Null(result.P50Microseconds);
        Assert.Null(result.P99Microseconds);
        var (description, count) = Assert.Single(result.ErrorDetails);
        Assert.Contains("connection refused", description);
        Assert.Equal(59593, count);
    }

    [Fact]
    public void TextBeforeTheJsonIsIgnored()
    {
        var result = BombardierOutputParser.Parse("some warning\n" + TestFiles.Read("bombardier-plaintext.json"));

        Assert.Equal(205067, result.Responses);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Error: connection refused")]
    [InlineData("{\"spec\":{}}")]
    public void OutputWithoutAResultIsRejected(string output)
    {
        Assert.ThrowsAny<System.Exception>(() => BombardierOutputParser.Parse(output));
    }
}
