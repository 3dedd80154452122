using System;
using System.Net.Sockets;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Faults;

/// <summary>
/// The app does what apps do wrong: throws, aborts and walks away, writes after the client has
/// gone. Whatever Kestrel on Sockets does then, the app sees the same on io_uring.
/// </summary>
public class AppMisbehaviourTests(ITestOutputHelper output)
{
    [Fact]
    public async Task WritesAfterTheClientResetBehaveAsOnSockets()
    {
        string onSockets = await WriteAfterResetAsync(useIoUring: false);
        string onIoUring = await WriteAfterResetAsync(useIoUring: true);
        output.WriteLine($"Sockets: {onSockets}; io_uring: {onIoUring}");
        Assert.Equal(onSockets, onIoUring);
    }

    [Fact]
    public async Task AHandlerThatThrowsGetsA500AndTheSameConnectionServesTheNextRequest()
    {
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);
            app.MapGet("/throws", (HttpContext _) => throw new InvalidOperationException("the app failed"));
        }, output: output);

        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
        for (int i = 0; i < 3; i++)
        {
            await connection.SendAsync(RawHttpConnection.Get("/throws"));
            var failed = await connection.ReadResponseAsync();
            Assert.Equal(500, failed.StatusCode); // the exception page clears the response's headers

            await connection.SendAsync(RawHttpConnection.Get($"/p?i=next-{i}"));
            var next = await connection.ReadResponseAsync();
            Assert.Equal($"next-{i}", next.BodyText);
            next.AssertServedOverIoUring();
        }

        Assert.Equal(1, server.IoUringAcceptedConnections);
    }

    private async Task<string> WriteAfterResetAsync(bool useIoUring)
    {
        var observed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reset = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);
            app.MapGet("/late-writer", async (HttpContext context) =>
            {
                await context.Response.WriteAsync("first part; ");
                await context.Response.Body.FlushAsync();
                await reset.Task.WaitAsync(Bounded.Wait);
                if (!await Bounded.WhenCancelledAsync(context.RequestAborted))
                {
                    observed.TrySetResult("RequestAborted did not fire");
                    return;
                }

                string outcome;
                try
                {
                    for (int i = 0; i < 100; i++)
                    {
                        await context.Response.Body.WriteAsync(new byte[4096]);
                        await context.Response.Body.FlushAsync();
                    }

                    outcome = "writes after the reset completed without an exception";
                }
                catch (Exception ex)
                {
                    outcome = $"writes after the reset threw {ex.GetType().Name}";
                }

                // Aborting a connection that is already gone is harmless too.
                context.Features.Get<IConnectionLifetimeFeature>()?.Abort();
                observed.TrySetResult(outcome);
            });
        }, useIoUring: useIoUring, output: output);

        using (var connection = await RawHttpConnection.ConnectAsync(server.EndPoint))
        {
            await connection.SendAsync(RawHttpConnection.Get("/late-writer"));
            var head = await connection.ReadResponseHeadAsync();
            Assert.NotNull(head);
            Assert.Equal(useIoUring ? "io_uring" : "sockets", head!.Header(TestServer.TransportHeader));
            connection.Socket.LingerState = new LingerOption(true, 0);
        }

        reset.TrySetResult();
        string result = await observed.Task.WaitAsync(Bounded.Wait);
        await FaultSupport.AssertServesAsync(server, expectedTransport: useIoUring ? "io_uring" : "sockets");
        return result;
    }
}
