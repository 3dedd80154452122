using System.Linq;
using System.Threading.Tasks;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Faults;

/// <summary>
/// A ring far too small for the burst: 16 SQ entries (64 CQ entries) for 400 connections that
/// all connect and send at once. The kernel keeps completions that do not fit (IORING_FEAT_NODROP)
/// and the ring must fetch them; nothing may be lost or stall.
/// </summary>
public class CompletionQueueOverflowTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task ABurstFarLargerThanTheCompletionQueueIsServedWhole(IoUringReceiveMode mode)
    {
        const int Connections = 400;
        await using var server = await TestServer.StartAsync(Http1App.Map, o =>
        {
            o.RingCount = 1;
            o.RingEntries = 16;
            o.ReceiveMode = mode;
        }, output: output);

        var connections = await Task.WhenAll(Enumerable.Range(0, Connections).Select(_ => RawHttpConnection.ConnectAsync(server.EndPoint)));
        try
        {
            for (int round = 0; round < 3; round++)
            {
                await Task.WhenAll(connections.Select((c, i) => c.SendAsync(RawHttpConnection.Get($"/p?i={round}-{i}"))));
                var responses = await Task.WhenAll(connections.Select(c => c.ReadResponseAsync())).WaitAsync(Bounded.Wait);
                for (int i = 0; i < Connections; i++)
                {
                    responses[i].AssertServedOverIoUring(mode);
                    Assert.Equal($"{round}-{i}", responses[i].BodyText);
                }
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }

        var ring = server.Factory!.RingGroup.Rings!.Single();
        var counters = ring.ReadCounters();
        long backlogs = ring.KernelRing.CqOverflowBacklogs;
        output.WriteLine($"enters that found completions in the kernel's overflow list: {backlogs}; dropped: {counters.CqOverflows}; CQEs reaped {counters.ReapedCqes} in {counters.EnterCalls} enters");
        Assert.True(backlogs > 0, "the CQ ring never overflowed: the test did not test the overflow path");
        Assert.Equal(0u, (uint)counters.CqOverflows);
        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0));
    }
}
