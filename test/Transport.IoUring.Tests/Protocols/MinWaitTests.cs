using System;
using System.Linq;
using System.Threading.Tasks;
using Transport.IoUring.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

/// <summary>
/// Min-wait batching (kernel 6.12): after a turn that reaped several completions the ring waits for
/// a batch (min_complete with min_wait_usec) instead of waking at the first completion. The
/// integrity workload must get through intact with it, and the ring must really have entered the
/// kernel that way (its counter of min-wait enters); OlderKernelPathTests runs it switched off.
/// </summary>
public class MinWaitTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task TheRingWaitsForBatchesAndTheWorkloadStaysIntact(IoUringReceiveMode mode)
    {
        var offered = RingCapabilities.Current;
        if (offered.KernelVersion < new Version(6, 12))
        {
            Assert.Equal(RingFeatures.None, offered.Available & RingFeatures.MinWait);
            output.WriteLine($"kernel {offered.KernelVersion} has no min_wait_usec: only the probe is checked");
            return;
        }

        Assert.Equal(RingFeatures.MinWait, offered.Available & RingFeatures.MinWait);
        await using var server = await TestServer.StartAsync(
            IntegrityWorkload.MapEndpoints,
            configureTransport: options => options.ReceiveMode = mode,
            output: output);

        var rings = server.Factory!.RingGroup.Rings!;
        Assert.All(rings, r => Assert.Equal(RingFeatures.MinWait, r.Features & RingFeatures.MinWait));

        await IntegrityWorkload.RunAsync(server, mode);

        long minWaitEnters = rings.Sum(r => r.MinWaitEnters);
        long enters = rings.Sum(r => r.KernelRing.EnterCalls);
        output.WriteLine($"{minWaitEnters} of {enters} io_uring_enter calls waited for a batch");
        Assert.True(minWaitEnters > 0, "no io_uring_enter waited with min_wait_usec");
    }
}
