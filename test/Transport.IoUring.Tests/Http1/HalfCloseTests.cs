using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

/// <summary>
/// The client sends FIN (shutdown of its send side). Kestrel does not support HTTP/1.1 half-close,
/// so what the client then sees is Kestrel's behaviour on its Sockets transport: the first two
/// scenarios run on both transports and the io_uring outcome must equal the Sockets one. (On
/// Sockets a FIN after a complete request aborts it, with no response and a FIN back.)
/// </summary>
public class HalfCloseTests(ITestOutputHelper output)
{
    /// <summary>What the client saw after its FIN, and what the server observed.</summary>
    private sealed record Outcome(
        string Transport,
        int? LateResponseStatus,
        int BytesAfterFin,
        PeerClose Close,
        bool RequestAbortedFired,
        bool ConnectionClosedFired);

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task FinAfterACompleteRequestAbortsTheRequestAndEndsTheConnectionAsOnSockets(IoUringReceiveMode mode)
    {
        var sockets = await RequestThenFinAsync(useIoUring: false, mode);
        var ioUring = await RequestThenFinAsync(useIoUring: true, mode);
        output.WriteLine($"sockets:  {sockets}");
        output.WriteLine($"io_uring: {ioUring}");

        Assert.Equal("sockets", sockets.Transport);
        Assert.Equal("io_uring", ioUring.Transport);
        Assert.Equal(sockets with { Transport = "io_uring" }, ioUring);

        // The server side: the FIN fires RequestAborted and the transport's ConnectionClosed.
        Assert.True(ioUring.RequestAbortedFired);
        Assert.True(ioUring.ConnectionClosedFired);
    }

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task FinAfterTheResponseEndsTheIdleConnectionAsOnSockets(IoUringReceiveMode mode)
    {
        var sockets = await ResponseThenFinAsync(useIoUring: false, mode);
        var ioUring = await ResponseThenFinAsync(useIoUring: true, mode);
        output.WriteLine($"sockets:  {sockets}");
        output.WriteLine($"io_uring: {ioUring}");

        Assert.Equal("sockets", sockets.Transport);
        Assert.Equal("io_uring", ioUring.Transport);
        Assert.Equal(sockets with { Transport = "io_uring" }, ioUring);
        Assert.True(ioUring.ConnectionClosedFired);
    }

    /// <summary>
    /// The FIN arrives while the transport has paused receiving (input pipe full), queued in the
    /// socket behind the rest of the body. Once the body is read the transport must still see it:
    /// RequestAborted and ConnectionClosed fire. (Kestrel's body read may end with "Unexpected end
    /// of request content" if it observes the completed input before the last bytes; that is
    /// Kestrel's behaviour on any transport and not what this test is about.)
    /// </summary>
    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task AFinQueuedBehindBodyBytesWhileReceivingIsPausedIsStillSeenOnceTheBodyIsRead(IoUringReceiveMode mode)
    {
        const int MaxReadBufferSize = 64 * 1024;
        const int BodyLength = MaxReadBufferSize + 16 * 1024;
        var tracker = new ConnectionTracker();
        var finAcknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var observed = new TaskCompletionSource<(string ConnectionId, bool Paused, string BodyRead, bool Aborted)>(TaskCreationOptions.RunContinuationsAsynchronously);
        TestServer? started = null;
        await using var server = await TestServer.StartAsync(
            app => app.MapPost("/read-after-fin", async (HttpContext context) =>
            {
                string id = context.Connection.Id;
                bool paused = await Bounded.PollAsync(() => started!.Logs.Entries.Any(e => e.EventId.Id == 23 && e.Message.Contains(id, StringComparison.Ordinal)));
                await finAcknowledged.Task.WaitAsync(Bounded.Wait);

                string bodyRead;
                try
                {
                    byte[] buffer = new byte[16 * 1024];
                    long total = 0;
                    int read;
                    while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
                    {
                        total += read;
                    }

                    bodyRead = total.ToString(CultureInfo.InvariantCulture);
                }
                catch (BadHttpRequestException ex)
                {
                    bodyRead = ex.Message;
                }

                observed.TrySetResult((id, paused, bodyRead, await Bounded.WhenCancelledAsync(context.RequestAborted)));
            }),
            o =>
            {
                o.ReceiveMode = mode;
                o.MaxReadBufferSize = MaxReadBufferSize;
            },
            tracker.Listen,
            output: output);
        started = server;
        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);

        await connection.SendAsync($"POST /read-after-fin HTTP/1.1\r\nHost: test\r\nContent-Length: {BodyLength}\r\n\r\n");
        await connection.SendAsync(TestData.Random(seed: 10, BodyLength));
        connection.Socket.Shutdown(SocketShutdown.Send);

        // FIN_WAIT2 (or TIME_WAIT, if the server has closed too): the server's kernel has
        // acknowledged the FIN, so it is queued behind the bytes or already seen.
        int localPort = ((IPEndPoint)connection.Socket.LocalEndPoint!).Port;
        Assert.True(await Bounded.PollAsync(() => TcpState(localPort) is FinWait2 or TimeWait), "the server never acknowledged the client's FIN");
        finAcknowledged.TrySetResult();

        var (connectionId, paused, bodyRead, aborted) = await observed.Task.WaitAsync(Bounded.Wait * 2);
        output.WriteLine($"body read: {bodyRead}");
        Assert.True(paused, "the transport never paused receiving");
        Assert.True(aborted, "RequestAborted did not fire after the client's FIN");
        Assert.True(tracker[connectionId].IsIoUring);
        await tracker[connectionId].ConnectionClosedFired.Task.WaitAsync(Bounded.Wait);
    }

    private const string FinWait2 = "05";
    private const string TimeWait = "06";

    /// <summary>The state (hex, as in /proc/net/tcp) of the IPv4 socket bound to local port <paramref name="port"/>.</summary>
    private static string? TcpState(int port)
    {
        string local = $":{port:X4}";
        foreach (string line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 3 && fields[1].EndsWith(local, StringComparison.Ordinal))
            {
                return fields[3];
            }
        }

        return null;
    }

    /// <summary>
    /// A complete GET, then FIN. The endpoint answers only once RequestAborted fires (or after the
    /// bound), so the FIN always reaches the server before the response is written.
    /// </summary>
    private async Task<Outcome> RequestThenFinAsync(bool useIoUring, IoUringReceiveMode mode)
    {
        var tracker = new ConnectionTracker();
        var endpoint = new TaskCompletionSource<(string ConnectionId, bool Aborted)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/wait-for-abort", async (HttpContext context) =>
            {
                bool aborted = await Bounded.WhenCancelledAsync(context.RequestAborted);
                endpoint.TrySetResult((context.Connection.Id, aborted));
                await context.Response.WriteAsync("late");
            }),
            o => o.ReceiveMode = mode,
            tracker.Listen,
            useIoUring,
            output);
        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/wait-for-abort"));
        connection.Socket.Shutdown(SocketShutdown.Send);
        var (data, close) = await connection.ReadUntilClosedAsync();

        var (connectionId, aborted) = await endpoint.Task.WaitAsync(Bounded.Wait);
        var tracked = tracker[connectionId];
        bool closedFired = await WhenCompletedAsync(tracked.ConnectionClosedFired.Task);
        return new Outcome(tracked.IsIoUring ? "io_uring" : "sockets", StatusOf(data), data.Length, close, aborted, closedFired);
    }

    /// <summary>A GET answered in full, then FIN on the idle keep-alive connection.</summary>
    private async Task<Outcome> ResponseThenFinAsync(bool useIoUring, IoUringReceiveMode mode)
    {
        var tracker = new ConnectionTracker();
        await using var server = await TestServer.StartAsync(Http1App.Map, o => o.ReceiveMode = mode, tracker.Listen, useIoUring, output);
        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/connection-id"));
        var response = await connection.ReadResponseAsync();
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(useIoUring ? "io_uring" : "sockets", response.Header(TestServer.TransportHeader));

        connection.Socket.Shutdown(SocketShutdown.Send);
        var (data, close) = await connection.ReadUntilClosedAsync();

        var tracked = tracker[response.BodyText];
        bool closedFired = await WhenCompletedAsync(tracked.ConnectionClosedFired.Task);
        return new Outcome(tracked.IsIoUring ? "io_uring" : "sockets", StatusOf(data), data.Length, close, RequestAbortedFired: false, closedFired);
    }

    private static int? StatusOf(byte[] data)
    {
        // "HTTP/1.1 200 ..." when a response came.
        string text = Encoding.ASCII.GetString(data, 0, Math.Min(data.Length, 12));
        return text.Length == 12 && text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(text[9..], CultureInfo.InvariantCulture) : null;
    }

    private static async Task<bool> WhenCompletedAsync(Task task)
    {
        try
        {
            await task.WaitAsync(Bounded.Wait);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
