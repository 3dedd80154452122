using System;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

/// <summary>The endpoint calls HttpContext.Abort().</summary>
public class ServerAbortTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task AnAbortBeforeTheResponseClosesTheConnectionWithoutAResponseAndTheServerGoesOnServing(IoUringReceiveMode mode)
    {
        var tracker = new ConnectionTracker();
        var aborted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);
            app.MapGet("/abort", (HttpContext context) =>
            {
                context.Abort();
                aborted.TrySetResult(context.Connection.Id);
                return Task.CompletedTask;
            });
        }, o => o.ReceiveMode = mode, tracker.Listen, output: output);

        PeerClose close;
        byte[] data;
        using (var connection = await RawHttpConnection.ConnectAsync(server.EndPoint))
        {
            await connection.SendAsync(RawHttpConnection.Get("/abort"));
            (data, close) = await connection.ReadUntilClosedAsync();
        }

        output.WriteLine($"client saw {data.Length} byte(s), then {close}");
        Assert.Empty(data);
        var tracked = tracker[await aborted.Task.WaitAsync(Bounded.Wait)];
        Assert.True(tracked.IsIoUring);
        await tracked.ConnectionClosedFired.Task.WaitAsync(Bounded.Wait);

        await Rings.AssertServesAndDrainsAsync(server, mode);
    }

    [Fact]
    public async Task AnAbortInTheMiddleOfTheBodyFailsTheClientsReadAndTheServerGoesOnServing()
    {
        const int Length = 1024 * 1024;
        var tracker = new ConnectionTracker();
        var clientHasPart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);
            app.MapGet("/abort-mid-body", async (HttpContext context) =>
            {
                context.Response.ContentLength = Length;
                byte[] part = new byte[64 * 1024];
                TestData.FillPattern(part, 0);
                await context.Response.Body.WriteAsync(part);
                await context.Response.Body.FlushAsync();
                await clientHasPart.Task.WaitAsync(Bounded.Wait);
                context.Abort();
                aborted.TrySetResult(context.Connection.Id);
            });
        }, configureKestrel: tracker.Listen, output: output);
        using var client = server.CreateClient();

        using var response = await client.GetAsync("/abort-mid-body", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var timeout = new CancellationTokenSource(Bounded.Wait);
        byte[] buffer = new byte[64 * 1024];
        await body.ReadExactlyAsync(buffer, timeout.Token);
        Assert.Equal(-1, TestData.FindPatternMismatch(buffer, 0));
        clientHasPart.TrySetResult();

        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            while (await body.ReadAsync(buffer, timeout.Token) > 0)
            {
            }
        });
        output.WriteLine($"client read failed with {failure.GetType().Name}: {failure.Message}");
        Assert.True(failure is IOException or HttpRequestException, failure.ToString());

        var tracked = tracker[await aborted.Task.WaitAsync(Bounded.Wait)];
        Assert.True(tracked.IsIoUring);
        await tracked.ConnectionClosedFired.Task.WaitAsync(Bounded.Wait);

        client.Dispose();
        await Rings.AssertServesAndDrainsAsync(server, IoUringReceiveMode.BufferRing);
    }
}
