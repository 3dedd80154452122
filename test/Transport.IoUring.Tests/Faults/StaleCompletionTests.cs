using System;
using System.Collections.Concurrent;
using System.Net;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Transport.IoUring.Internal;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Faults;

/// <summary>
/// The guard of every completion: user_data carries the slot and its generation, and a completion
/// whose generation is not the slot's current one is dropped. Here the kernel itself delivers such
/// a completion — a NOP carrying the receive user_data of a connection that has closed — after a
/// new connection took the same slot. Without the generation check it would reach the new
/// connection as "end of stream" and end it.
/// </summary>
public class StaleCompletionTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task ALateCompletionForARecycledSlotIsDroppedAndNeverReachesTheConnectionNowInIt(IoUringReceiveMode mode)
    {
        var accepted = new ConcurrentQueue<IoUringConnection>();
        await using var server = await TestServer.StartAsync(
            Http1App.Map,
            o =>
            {
                o.ReceiveMode = mode;
                o.RingCount = 1;
            },
            k => k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => context =>
            {
                accepted.Enqueue((IoUringConnection)context.Features.Get<IIoUringConnectionFeature>()!);
                return next(context);
            })),
            output: output);

        // The first connection serves a request and closes; its slot is freed once its fd is.
        using (var first = await RawHttpConnection.ConnectAsync(server.EndPoint))
        {
            await first.SendAsync(RawHttpConnection.Get("/plaintext", close: true));
            Assert.Equal(200, (await first.ReadResponseAsync()).StatusCode);
        }

        Assert.True(accepted.TryDequeue(out var gone));
        await gone.Closed.WaitAsync(Bounded.Wait);

        // The next connection takes the same slot, with the next generation.
        using var second = await RawHttpConnection.ConnectAsync(server.EndPoint);
        await second.SendAsync(RawHttpConnection.Get("/plaintext"));
        (await second.ReadResponseAsync()).AssertServedOverIoUring(mode);
        Assert.True(accepted.TryDequeue(out var current));
        Assert.Equal(gone.Slot, current.Slot);
        Assert.NotEqual(gone.Generation, current.Generation);

        // The kernel completes a NOP with the old connection's receive user_data: result 0, which
        // to a receiver would mean "the peer closed".
        var ring = current.RingThread;
        long staleBefore = ring.StaleCompletions;
        var submitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ring.Schedule(_ =>
        {
            ring.SubmitNop(gone.UserDataFor(OperationKind.Recv));
            submitted.SetResult();
        }, null);
        await submitted.Task.WaitAsync(Bounded.Wait);

        Assert.True(await Bounded.PollAsync(() => ring.StaleCompletions > staleBefore), "the late completion was not dropped as stale");
        output.WriteLine($"stale completions dropped: {ring.StaleCompletions - staleBefore}");

        // The connection in the slot goes on as if nothing happened.
        await second.SendAsync(RawHttpConnection.Get("/plaintext"));
        var response = await second.ReadResponseAsync();
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(Http1App.Plaintext, response.BodyText);
        Assert.False(current.Closed.IsCompleted);
    }
}
