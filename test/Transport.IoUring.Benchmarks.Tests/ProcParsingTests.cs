using System;
using Transport.IoUring.Benchmarks.LoadGenerators;
using Transport.IoUring.Benchmarks.Measurement;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class ProcParsingTests
{
    [Fact]
    public void ProcessStatGivesUtimeStimeAndWaitedChildrenInTicks()
    {
        var before = ProcessCpuTimes.Parse(TestFiles.Read("server-stat-before.txt"));
        var after = ProcessCpuTimes.Parse(TestFiles.Read("server-stat-after.txt"));

        Assert.Equal(new ProcessCpuTimes(31, 1, 0, 0), before);
        Assert.Equal(new ProcessCpuTimes(130, 77, 0, 0), after);
        Assert.Equal(175, after.Own - before.Own);
    }

    [Fact]
    public void CommandNamesWithSpacesAndParenthesesDoNotShiftTheFields()
    {
        // comm is whatever the process calls itself: fields are counted from the last ')'.
        string line = TestFiles.Read("server-stat-after.txt").Replace("(dotnet)", "(my (odd) name) x)", StringComparison.Ordinal);

        Assert.Equal(new ProcessCpuTimes(130, 77, 0, 0), ProcessCpuTimes.Parse(line));
    }

    [Fact]
    public void ChildTimesAreFieldsSixteenAndSeventeen()
    {
        string line = "42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 5 6 700 80 20 0 1 0 1 1 1 0";

        var times = ProcessCpuTimes.Parse(line);

        Assert.Equal(11, times.Own);
        Assert.Equal(780, times.WaitedChildren);
    }

    [Theory]
    [InlineData("")]
    [InlineData("42 (bash) S 1 2 3")]
    public void TruncatedStatLinesAreRejected(string line)
    {
        Assert.Throws<FormatException>(() => ProcessCpuTimes.Parse(line));
    }

    [Fact]
    public void ProcStatBusyCountsUserNiceSystemIrqSoftirqAndStealButNotIdleOrIowait()
    {
        var times = SystemCpuTimes.Parse("cpu  100 2 30 5000 700 4 50 6 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n");

        Assert.Equal(100 + 2 + 30 + 4 + 50 + 6, times.Busy);
        Assert.Equal(times.Busy + 5000 + 700, times.Total);
    }

    [Fact]
    public void ProcStatCanBeReadPerCore()
    {
        var times = SystemCpuTimes.Parse(TestFiles.Read("proc-stat-before.txt"), "cpu1");

        Assert.True(times.Total > 0);
        Assert.True(SystemCpuTimes.Parse(TestFiles.Read("proc-stat-before.txt")).Total > times.Total);
    }

    [Fact]
    public void RecordedWindowGivesTheMachineBusyDelta()
    {
        var before = SystemCpuTimes.Parse(TestFiles.Read("proc-stat-before.txt"));
        var after = SystemCpuTimes.Parse(TestFiles.Read("proc-stat-after.txt"));

        // cpu  84462 0 28131 199947 236000 0 4670 18 → cpu  84650 0 28247 199947 236049 0 4722 18
        Assert.Equal((84650 - 84462) + (28247 - 28131) + (4722 - 4670), (after - before).Busy);
    }

    [Fact]
    public void StatusGivesPeakAndCurrentResidentSetInKiB()
    {
        var memory = ProcessMemory.Parse(TestFiles.Read("proc-pid-status.txt"));

        Assert.Equal(99972, memory.PeakResidentKiB);
        Assert.Equal(99972, memory.ResidentKiB);
    }

    [Fact]
    public void StatusOfAKernelThreadHasNoMemoryLines()
    {
        Assert.Throws<FormatException>(() => ProcessMemory.Parse("Name:\tkthreadd\nState:\tS (sleeping)\n"));
    }

    [Fact]
    public void ThisProcessCanBeRead()
    {
        var self = ProcessCpuTimes.ReadSelf();
        Assert.True(self.Own >= 0);
        Assert.True(ClockTicks.PerSecond > 0);
    }

    [Fact]
    public void RecordedWindowGivesCpuMicrosecondsPerRequest()
    {
        var before = ProcessCpuTimes.Parse(TestFiles.Read("server-stat-before.txt"));
        var after = ProcessCpuTimes.Parse(TestFiles.Read("server-stat-after.txt"));
        var load = BombardierOutputParser.Parse(TestFiles.Read("bombardier-window.json"));

        double? perRequest = CpuAccounting.MicrosecondsPerRequest(after.Own - before.Own, load.Responses, ticksPerSecond: 100);

        // 175 ticks of 10 ms over 94,613 responses.
        Assert.Equal(94613, load.Responses);
        Assert.Equal(1_750_000.0 / 94613, perRequest!.Value, 9);
    }
}
