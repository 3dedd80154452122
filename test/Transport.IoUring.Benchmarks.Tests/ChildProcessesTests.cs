using System.Diagnostics;
using Transport.IoUring.Benchmarks.Running;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>
/// The harness ends what it started when it is stopped (SIGTERM, Ctrl+C). These start only
/// <c>sleep</c>, never a server or a load generator, and end it themselves.
/// </summary>
public class ChildProcessesTests
{
    [Fact]
    public void KillAllEndsARunningChild()
    {
        using var process = ChildProcesses.Start(new ProcessStartInfo("sleep", "30"));
        int pid = process.Id;

        ChildProcesses.KillAll();

        Assert.True(process.WaitForExit(5_000), "sleep was still running after KillAll");
        Assert.DoesNotContain(pid, ChildProcesses.RunningIds);
    }

    [Fact]
    public void KillAllGoesPastAChildThatEndedAndWasDisposedMeanwhile()
    {
        // The race a SIGTERM hit: a tool run had ended, killed and disposed its process while the
        // signal handler's KillAll still held it, and Process.Id threw there ("No process is
        // associated with this object"), so the handler died and two servers were left running.
        var ended = ChildProcesses.Start(new ProcessStartInfo("sleep", "30"));
        int endedPid = ended.Id;
        ended.Kill();
        ended.WaitForExit();
        ended.Dispose();
        using var running = ChildProcesses.Start(new ProcessStartInfo("sleep", "30"));

        ChildProcesses.KillAll();

        Assert.True(running.WaitForExit(5_000), "the other child was left running");
        Assert.DoesNotContain(endedPid, ChildProcesses.RunningIds);
        Assert.DoesNotContain(running.Id, ChildProcesses.RunningIds);
    }
}
