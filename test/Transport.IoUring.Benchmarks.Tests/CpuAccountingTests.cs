using System;
using Transport.IoUring.Benchmarks.Measurement;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class CpuAccountingTests
{
    [Theory]
    [InlineData(100, 100, 100, 10_000)]      // 1 s of CPU for 100 requests at CLK_TCK 100
    [InlineData(500, 50_000, 100, 100)]      // 5 s for 50,000 requests
    [InlineData(250, 1000, 250, 1000)]       // CLK_TCK 250: 250 ticks are 1 s
    [InlineData(0, 1000, 100, 0)]
    public void TicksArePerRequestMicroseconds(long ticks, long requests, long ticksPerSecond, double expected)
    {
        Assert.Equal(expected, CpuAccounting.MicrosecondsPerRequest(ticks, requests, ticksPerSecond)!.Value, 9);
    }

    [Fact]
    public void NoRequestsMeansNoFigure()
    {
        Assert.Null(CpuAccounting.MicrosecondsPerRequest(100, 0, 100));
    }

    [Fact]
    public void InvalidClockRateIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuAccounting.MicrosecondsPerRequest(100, 10, 0));
    }

    [Fact]
    public void OtherCpuIsBusyTimeLessServerAndLoadGeneratorAsShareOfTheWindow()
    {
        // 5 s window, machine busy 10.5 s of CPU: server 5 s, load generator 4 s → 1.5 s other = 30 %.
        double other = CpuAccounting.OtherCpuPercent(machineBusyTicks: 1050, serverTicks: 500, loadGeneratorTicks: 400, windowSeconds: 5, ticksPerSecond: 100);

        Assert.Equal(30, other, 9);
        Assert.True(other > CpuAccounting.DisturbedThresholdPercent);
    }

    [Fact]
    public void TickRoundingBelowZeroIsClamped()
    {
        Assert.Equal(0, CpuAccounting.OtherCpuPercent(899, 500, 400, 5, 100));
    }

    [Fact]
    public void EmptyWindowIsNotDisturbed()
    {
        Assert.Equal(0, CpuAccounting.OtherCpuPercent(100, 0, 0, 0, 100));
    }
}
