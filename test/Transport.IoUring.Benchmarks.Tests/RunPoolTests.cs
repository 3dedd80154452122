using System;
using System.Linq;
using Transport.IoUring.Benchmarks.Reporting;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class RunPoolTests
{
    [Fact]
    public void GeometricMeanOfRatiosIsTheTypicalPair()
    {
        Assert.Equal(1.0, PairedRounds.GeometricMean([2.0, 0.5])!.Value, 12);
        Assert.Equal(1.1, PairedRounds.GeometricMean([1.21, 1.0])!.Value, 12);
        Assert.Null(PairedRounds.GeometricMean([]));
        Assert.Null(PairedRounds.GeometricMean([1.2, 0.0]));
    }

    [Fact]
    public void SignFlipTestEnumeratesEveryPatternOfSmallSamples()
    {
        // All pairs on one side: only the all-plus and all-minus patterns are as far from 0.
        Assert.Equal(2.0 / 8, PairedRounds.SignFlipPValue([1.2, 1.2, 1.2])!.Value, 12);
        Assert.Equal(2.0 / 32, PairedRounds.SignFlipPValue([0.9, 0.9, 0.9, 0.9, 0.9])!.Value, 12);

        // Ratios that cancel: every pattern is at least as far from 0 as the observed sum.
        Assert.Equal(1.0, PairedRounds.SignFlipPValue([1.5, 1 / 1.5])!.Value, 12);

        // 1.5 outweighs 1.1 and 1.05: patterns with |±ln1.5 ± ln1.1 ± ln1.05| ≥ the observed sum
        // are the two with every sign alike, out of 8.
        Assert.Equal(2.0 / 8, PairedRounds.SignFlipPValue([1.5, 1.1, 1.05])!.Value, 12);
        Assert.Null(PairedRounds.SignFlipPValue([]));
    }

    [Fact]
    public void SignFlipTestAgreesWithEnumeratingEveryMask()
    {
        var random = new Random(7);
        double[] ratios = Enumerable.Range(0, 12).Select(_ => 0.8 + 0.5 * random.NextDouble()).ToArray();
        double[] logs = ratios.Select(r => Math.Log(r)).ToArray();
        double observed = Math.Abs(logs.Sum());
        int asFar = 0;
        for (int mask = 0; mask < 1 << logs.Length; mask++)
        {
            double sum = logs.Select((l, i) => (mask >> i & 1) == 0 ? l : -l).Sum();
            if (Math.Abs(sum) >= observed - 1e-9)
            {
                asFar++;
            }
        }

        Assert.Equal((double)asFar / (1 << logs.Length), PairedRounds.SignFlipPValue(ratios)!.Value, 12);
    }

    [Fact]
    public void SignFlipTestSamplesLargeSamplesWithAFixedSeed()
    {
        double[] ahead = Enumerable.Repeat(1.05, PairedRounds.ExactLimit + 5).ToArray();
        double p = PairedRounds.SignFlipPValue(ahead)!.Value;

        // 2 of 2^25 patterns are as far: the estimate is the floor (hits + 1) / (draws + 1).
        Assert.InRange(p, 0, 5.0 / PairedRounds.SampledPermutations);
        Assert.Equal(p, PairedRounds.SignFlipPValue(ahead));

        double[] mixed = Enumerable.Range(0, PairedRounds.ExactLimit + 5).Select(i => i % 2 == 0 ? 1.05 : 1 / 1.05).ToArray();
        Assert.InRange(PairedRounds.SignFlipPValue(mixed)!.Value, 0.9, 1.0);
    }

    [Fact]
    public void RoundsArePairedAcrossRunsAndDisturbedOnesLeftOut()
    {
        var a = SampleReports.Run();
        var b = SampleReports.Run(iouringFactor: 1.1);

        var pooled = RunPool.Pool([a, b]);

        var row = Assert.Single(pooled);
        Assert.Equal(("plaintext-64", "iouring", "sockets"), (row.Scenario, row.Numerator, row.Denominator));
        Assert.Equal(2, row.Runs);

        // Round 2 of iouring is disturbed in both runs.
        Assert.Equal(4, row.Pairs);
        Assert.Equal(2, row.LeftOut);
        double expected = Math.Sqrt(Math.Sqrt(96.0 / 80 * (98.0 / 82) * (96.0 * 1.1 / 80) * (98.0 * 1.1 / 82)));
        Assert.Equal(expected, row.RequestsPerSecond!.Value, 9);
        Assert.Equal(4, row.Ahead);
        Assert.Equal(2.0 / 16, row.RequestsPerSecondP!.Value, 12);
        Assert.Equal(Math.Sqrt(10.0 / 12 * (9.8 / 12.2)), row.CpuMicrosecondsPerRequest!.Value, 9);
        Assert.Equal(1.0, row.P99!.Value, 12);
    }

    [Fact]
    public void TableHasARowPerRatioAndNamesTheRuns()
    {
        var text = RunPool.Render([SampleReports.Run(), SampleReports.Run(iouringFactor: 1.1)], ["a.json", "b.json"]);
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

        Assert.Contains("- a.json: 2026-11-25 12:00 UTC, vm, 3 round(s) of 5 s", lines);
        Assert.Contains(lines, l => l.StartsWith("| plaintext-64 | iouring / sockets | 2 | 4 (2 left out) | 1.", StringComparison.Ordinal) && l.Contains("| 4 of 4 | 0.125 |", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("| idle-10k", StringComparison.Ordinal));
        Assert.DoesNotContain("different machines", text);
    }

    [Fact]
    public void RunsFromDifferentMachinesAreCalledOut()
    {
        var other = SampleReports.Run();
        other.Machine.Host = "other";

        Assert.Contains("2 different machines", RunPool.Render([SampleReports.Run(), other], ["a.json", "b.json"]));
    }
}
