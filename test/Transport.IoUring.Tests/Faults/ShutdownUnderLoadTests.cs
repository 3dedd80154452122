using System;
using System.Linq;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Faults;

/// <summary>
/// Stopping a server that holds thousands of connections: a graceful stop lets the requests in
/// flight finish whole; when the shutdown timeout ends first, the rest are aborted and the server
/// still stops, with nothing left on its rings.
/// </summary>
public class ShutdownUnderLoadTests(ITestOutputHelper output)
{
    private const int IdleConnections = 1500;
    private const int InFlight = 200;
    private const int BodyLength = 64 * 1024;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task StoppingWithThousandsOfConnectionsFinishesInFlightRequestsOrAbortsThemAtTheTimeout(bool releaseBeforeTimeout)
    {
        int entered = 0;
        var allEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);
            app.MapGet("/held", async (HttpContext context) =>
            {
                if (Interlocked.Increment(ref entered) == InFlight)
                {
                    allEntered.TrySetResult();
                }

                try
                {
                    await release.Task.WaitAsync(context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var body = new byte[BodyLength];
                TestData.FillPattern(body, 0);
                context.Response.ContentLength = BodyLength;
                await context.Response.Body.WriteAsync(body);
            });
        }, output: output);

        // Idle keep-alive connections, each served once.
        var idle = await Task.WhenAll(Enumerable.Range(0, IdleConnections).Select(async i =>
        {
            var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
            await connection.SendAsync(RawHttpConnection.Get($"/p?i={i}"));
            var response = await connection.ReadResponseAsync();
            response.AssertServedOverIoUring();
            return connection;
        })).WaitAsync(Bounded.Wait * 2);

        var held = await Task.WhenAll(Enumerable.Range(0, InFlight).Select(_ => RawHttpConnection.ConnectAsync(server.EndPoint)));
        var responses = held.Select(async connection =>
        {
            await connection.SendAsync(RawHttpConnection.Get("/held"));
            try
            {
                return await connection.ReadResponseAsync();
            }
            catch (Exception ex) when (ex is SocketException or System.IO.IOException or InvalidOperationException or OperationCanceledException)
            {
                return null; // closed without a (complete) response
            }
        }).ToArray();
        await allEntered.Task.WaitAsync(Bounded.Wait);
        Assert.Equal(IdleConnections + InFlight, Rings.ActiveConnections(server));

        // The host's shutdown timeout is a cancellation of StopAsync's token.
        using var shutdownTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(releaseBeforeTimeout ? 30 : 2));
        var stop = server.App.StopAsync(shutdownTimeout.Token);
        if (releaseBeforeTimeout)
        {
            await Task.Delay(200);
            Assert.False(stop.IsCompleted, "the server stopped while requests were in flight");
            release.TrySetResult();
        }

        await stop.WaitAsync(Bounded.Wait);
        var results = await Task.WhenAll(responses).WaitAsync(Bounded.Wait);
        int whole = results.Count(r => r is not null && r.StatusCode == 200 && r.Body.Length == BodyLength && TestData.FindPatternMismatch(r.Body, 0) == -1);
        output.WriteLine($"stop with {IdleConnections} idle and {InFlight} in-flight connections: {whole} in-flight responses complete and intact");

        if (releaseBeforeTimeout)
        {
            Assert.Equal(InFlight, whole);
        }
        else
        {
            Assert.Equal(0, whole);
        }

        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0), $"{Rings.ActiveConnections(server)} connection(s) left on the rings after stop");
        foreach (var connection in idle.Concat(held))
        {
            connection.Dispose();
        }
    }
}
