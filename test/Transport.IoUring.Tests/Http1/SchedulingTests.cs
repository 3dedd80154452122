using System;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Transport.IoUring.Internal;
using Transport.IoUring.Tests.Observability;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

/// <summary>
/// The application side runs on the ring's application queue (one thread-pool work item per ring
/// turn). These tests hold it to what the thread pool promises: an app that blocks a thread does
/// not stop other connections, and the app may write from any thread.
/// </summary>
public class SchedulingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AHandlerThatBlocksItsThreadDoesNotStopOtherConnectionsOnTheSameRing()
    {
        using var release = new ManualResetEventSlim();
        var blocking = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        int handlerReturned = 0;
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);

            // Blocks synchronously, as some apps do (sync-over-async, locks, blocking I/O).
            app.MapGet("/block", () =>
            {
                blocking.TrySetResult(Environment.StackTrace);
                bool released = release.Wait(Bounded.Wait * 3);
                Volatile.Write(ref handlerReturned, 1);
                return released ? "released" : "never released";
            });
        }, o => o.RingCount = 1, output: output);
        var queue = server.Factory!.RingGroup.Rings!.Single().ApplicationQueue;

        using var blocked = await RawHttpConnection.ConnectAsync(server.EndPoint);

        // Kestrel runs a connection's first request on a work item of its own; only the requests
        // after it run from the ring's application queue, so the blocking request goes second.
        await blocked.SendAsync(RawHttpConnection.Get("/plaintext"));
        (await blocked.ReadResponseAsync()).AssertServedOverIoUring();
        await blocked.SendAsync(RawHttpConnection.Get("/block"));

        // The others start only once the handler blocks, and it blocks the queue's runner: the thread
        // every continuation of this ring would run on if the queue waited for it.
        string stack = await blocking.Task.WaitAsync(Bounded.Wait);
        Assert.Contains(nameof(RingApplicationQueue), stack, StringComparison.Ordinal);

        string[] expected = Enumerable.Range(0, 3).SelectMany(c => Enumerable.Range(0, 5).Select(r => $"{c}-{r}")).ToArray();
        long stallsWhileBlocked;
        try
        {
            var serving = Task.WhenAll(Enumerable.Range(0, 3).Select(c => Task.Run(async () =>
            {
                using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
                var bodies = new string[5];
                for (int r = 0; r < bodies.Length; r++)
                {
                    await connection.SendAsync(RawHttpConnection.Get($"/p?i={c}-{r}"));
                    var response = await connection.ReadResponseAsync();
                    response.AssertServedOverIoUring();
                    bodies[r] = response.BodyText;
                }

                return bodies;
            })));
            Assert.True(await Task.WhenAny(serving, Task.Delay(Bounded.Wait)) == serving, "other connections on the ring were not served while the handler blocked");
            var others = await serving;

            Assert.Equal(expected, others.SelectMany(b => b));

            // All of it while the handler was still blocked (it returns only once released below),
            // because the ring stopped waiting for the blocked runner.
            Assert.Equal(0, Volatile.Read(ref handlerReturned));
            stallsWhileBlocked = queue.Stalls;
            Assert.True(stallsWhileBlocked > 0, "the others were served without the ring giving up on the blocked runner");
        }
        finally
        {
            release.Set();
        }

        var released = await blocked.ReadResponseAsync();
        Assert.Equal("released", released.BodyText);

        // Operators see it too: the stall counter of the transport's meter. The server keeps running
        // meanwhile (a slow continuation, e.g. a first JIT on a busy machine, can stall once more),
        // so the meter's reading must lie between the queue's count before and after it.
        using var metrics = new TransportMeterListener(server.App.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        long reported = metrics.Collect().Sum("io_uring.application.stalls");
        Assert.InRange(reported, stallsWhileBlocked, queue.Stalls);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(8 * 1024 * 1024 + 13)]
    public async Task WritesAndFlushesFromAnotherThreadArriveWholeAndInOrder(int length)
    {
        byte[] body = TestData.Random(seed: length, length);
        await using var server = await TestServer.StartAsync(app =>
        {
            app.MapGet("/from-task", async (HttpContext context) =>
            {
                context.Response.ContentLength = body.Length;

                // Off the application queue: the writes and flushes come from a plain thread-pool thread.
                await Task.Run(async () =>
                {
                    var random = new Random(length);
                    for (int offset = 0; offset < body.Length;)
                    {
                        int chunk = Math.Min(body.Length - offset, random.Next(1, 64 * 1024));
                        await context.Response.Body.WriteAsync(body.AsMemory(offset, chunk));
                        await context.Response.Body.FlushAsync();
                        offset += chunk;
                    }
                });
            });
        }, output: output);

        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
        for (int r = 0; r < 2; r++)
        {
            await connection.SendAsync(RawHttpConnection.Get("/from-task"));
            var response = await connection.ReadResponseAsync();
            response.AssertServedOverIoUring();
            Assert.Equal(body.Length, response.Body.Length);
            Assert.Equal(SHA256.HashData(body), SHA256.HashData(response.Body));
        }
    }
}
