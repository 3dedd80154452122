using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Transport.IoUring.Internal;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

/// <summary>
/// The transport's per-request path allocates nothing: in steady state the ring thread (which
/// reaps completions, fills the input pipes, sends the output and runs everything the transport
/// does per request) allocates no managed memory however many requests it serves. Measured with
/// the ring thread's own allocation counter, read on the ring thread before and after.
/// </summary>
public class RingAllocationTests(ITestOutputHelper output)
{
    private const int Connections = 16;

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing, 1)]
    [InlineData(IoUringReceiveMode.PollAndReceive, 1)]
    [InlineData(IoUringReceiveMode.BufferRing, 16)]
    public async Task KeepAliveRequestsAllocateNothingOnTheRingThread(IoUringReceiveMode mode, int pipelineDepth)
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, o =>
        {
            o.RingCount = 1;
            o.ReceiveMode = mode;
        }, output: output);
        var ring = server.Factory!.RingGroup.Rings!.Single();

        var connections = await Task.WhenAll(Enumerable.Range(0, Connections).Select(_ => RawHttpConnection.ConnectAsync(server.EndPoint)));
        try
        {
            // Warm-up: pools, queues and JIT-compiled paths reach their steady state.
            await RunRoundsAsync(connections, rounds: 200, pipelineDepth, mode);

            // Two windows: a queue or pool that grows once more (a one-off, not per request) can
            // land in one of them, never in both; anything allocated per request or per ring turn
            // shows in each.
            int rounds = pipelineDepth == 1 ? 4000 : 500;
            long requests = (long)rounds * Connections * pipelineDepth;
            var windows = new long[2];
            for (int w = 0; w < windows.Length; w++)
            {
                long before = await AllocatedBytesOnRingThreadAsync(ring);
                await RunRoundsAsync(connections, rounds, pipelineDepth, mode);
                windows[w] = await AllocatedBytesOnRingThreadAsync(ring) - before;
                output.WriteLine($"ring thread allocated {windows[w]:N0} bytes over {requests:N0} requests ({windows[w] / (double)requests:0.###} B/request); runner stalls so far {ring.ApplicationQueue.Stalls}");
            }

            // One object per request would be ≥ 24 B × requests, one per ring turn ≥ 24 B × rounds
            // (12 KB and more here). 4 KiB leaves room for the application queue's runners, which a
            // starved thread pool (a busy test run) can make the ring replace more often than it
            // can reuse them: 32 B each, per stall, not per request.
            Assert.True(windows.Min() < 4096, $"the ring thread allocated {windows[0]:N0} and {windows[1]:N0} bytes in two windows of {requests:N0} requests");
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }
    }

    private static async Task RunRoundsAsync(RawHttpConnection[] connections, int rounds, int pipelineDepth, IoUringReceiveMode mode)
    {
        string requests = string.Concat(Enumerable.Repeat(RawHttpConnection.Get("/plaintext"), pipelineDepth));
        for (int round = 0; round < rounds; round++)
        {
            await Task.WhenAll(connections.Select(c => c.SendAsync(requests)));
            await Task.WhenAll(connections.Select(async c =>
            {
                for (int i = 0; i < pipelineDepth; i++)
                {
                    var response = await c.ReadResponseAsync();
                    Assert.Equal(Http1App.Plaintext, response.BodyText);
                    if (round == 0 && i == 0)
                    {
                        response.AssertServedOverIoUring(mode);
                    }
                }
            })).WaitAsync(Bounded.Wait);
        }
    }

    private static async Task<long> AllocatedBytesOnRingThreadAsync(RingThread ring)
    {
        var read = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        ring.Schedule(static s => ((TaskCompletionSource<long>)s!).SetResult(GC.GetAllocatedBytesForCurrentThread()), read);
        return await read.Task.WaitAsync(Bounded.Wait);
    }
}
