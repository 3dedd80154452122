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
/// The client sends FIN (shutdown of its send side) behind its requests, as <c>nc -N</c>, some
/// health checkers and HTTP/1.0 tools do. The io_uring transport completes the input pipe on the
/// FIN but reports the connection closed only when it really ends, so Kestrel answers every request
/// it received complete and then closes (as nginx does). Kestrel's Sockets transport reports the
/// FIN as the connection closing, and Kestrel then aborts the responses still being written: its
/// figures are printed beside ours, not required of it.
/// </summary>
public class HalfCloseTests(ITestOutputHelper output)
{
    private const int Tries = 40;
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
    public async Task AResponseWrittenAfterTheClientsFinStillReachesItThenTheConnectionCloses(IoUringReceiveMode mode)
    {
        var sockets = await RequestThenFinAsync(useIoUring: false, mode);
        var ioUring = await RequestThenFinAsync(useIoUring: true, mode);
        output.WriteLine($"sockets:  {sockets}");
        output.WriteLine($"io_uring: {ioUring}");

        Assert.Equal("sockets", sockets.Transport);
        Assert.Equal("io_uring", ioUring.Transport);

        // The response the handler wrote after the FIN arrived, then a clean close (FIN, not RST).
        Assert.Equal(200, ioUring.LateResponseStatus);
        Assert.Equal(PeerClose.Fin, ioUring.Close);
        Assert.False(ioUring.RequestAbortedFired, "the client's FIN was reported as an abort of its request");
        Assert.True(ioUring.ConnectionClosedFired, "ConnectionClosed never fired once the connection ended");
    }

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing, 0)]
    [InlineData(IoUringReceiveMode.PollAndReceive, 0)]
    [InlineData(IoUringReceiveMode.BufferRing, 2)]
    [InlineData(IoUringReceiveMode.PollAndReceive, 2)]
    public async Task EveryPipelinedRequestSentBeforeTheClientsFinIsAnswered(IoUringReceiveMode mode, int delayBetweenSendsMs)
    {
        int sockets = await AnsweredInFullAsync(useIoUring: false, mode, delayBetweenSendsMs);
        int ioUring = await AnsweredInFullAsync(useIoUring: true, mode, delayBetweenSendsMs);
        output.WriteLine($"3 pipelined GETs, {delayBetweenSendsMs} ms between sends, then FIN: all three answered in {ioUring} of {Tries} tries on io_uring, {sockets} of {Tries} on Sockets");

        // Every answer is required; the margin is for a machine so loaded that a try's bounded
        // read gives up, not for answers the transport drops.
        Assert.True(ioUring >= Tries - 4, $"io_uring answered all three requests in only {ioUring} of {Tries} tries");
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
    /// the request is answered, and then the connection ends (FIN back, ConnectionClosed fires)
    /// instead of waiting for input that will never come.
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
        var observed = new TaskCompletionSource<(string ConnectionId, bool Paused, string BodyRead)>(TaskCreationOptions.RunContinuationsAsynchronously);
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

                observed.TrySetResult((id, paused, bodyRead));
                await context.Response.WriteAsync(bodyRead);
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

        var (connectionId, paused, bodyRead) = await observed.Task.WaitAsync(Bounded.Wait * 2);
        output.WriteLine($"body read: {bodyRead}");
        Assert.True(paused, "the transport never paused receiving");
        Assert.True(tracker[connectionId].IsIoUring);

        // Then the end of the connection: the FIN queued behind the body was seen. (When Kestrel's
        // body reader sees the end of input in the same read as the body's last bytes, it rejects
        // the body as "Unexpected end of request content" and aborts the connection without an
        // answer — Kestrel's behaviour on any transport; when it does not, the answer comes first.)
        var (data, close) = await connection.ReadUntilClosedAsync();
        output.WriteLine($"the client saw {data.Length} bytes, then {close}");
        if (bodyRead == BodyLength.ToString(CultureInfo.InvariantCulture))
        {
            Assert.Equal(PeerClose.Fin, close);
            Assert.Equal(200, StatusOf(data));
            Assert.Equal([bodyRead], ResponseBodies(Encoding.ASCII.GetString(data)));
        }

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
    /// A complete GET, then FIN. The endpoint answers only once the server's kernel has acknowledged
    /// the FIN and either the request was aborted or the transport has read the FIN, so the FIN
    /// always reaches the transport before the response is written.
    /// </summary>
    private async Task<Outcome> RequestThenFinAsync(bool useIoUring, IoUringReceiveMode mode)
    {
        var tracker = new ConnectionTracker();
        var finAcknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var endpoint = new TaskCompletionSource<(string ConnectionId, bool Aborted)>(TaskCreationOptions.RunContinuationsAsynchronously);
        TestServer? started = null;
        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/after-fin", async (HttpContext context) =>
            {
                string id = context.Connection.Id;
                await finAcknowledged.Task.WaitAsync(Bounded.Wait);
                bool finRead = await Bounded.PollAsync(
                    () => context.RequestAborted.IsCancellationRequested || started!.Logs.Entries.Any(e => e.EventId.Id == 20 && e.Message.Contains(id, StringComparison.Ordinal)));
                endpoint.TrySetResult((id, context.RequestAborted.IsCancellationRequested));
                await context.Response.WriteAsync("late");
            }),
            o => o.ReceiveMode = mode,
            tracker.Listen,
            useIoUring,
            output);
        started = server;
        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/after-fin"));
        connection.Socket.Shutdown(SocketShutdown.Send);
        int localPort = ((IPEndPoint)connection.Socket.LocalEndPoint!).Port;
        Assert.True(await Bounded.PollAsync(() => TcpState(localPort) is FinWait2 or TimeWait), "the server never acknowledged the client's FIN");
        finAcknowledged.TrySetResult();
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

    /// <summary>
    /// <see cref="Tries"/> connections, each sending three pipelined GETs (with
    /// <paramref name="delayBetweenSendsMs"/> between them) and a FIN right behind the last; returns
    /// in how many all three responses arrived, in order and whole.
    /// </summary>
    private async Task<int> AnsweredInFullAsync(bool useIoUring, IoUringReceiveMode mode, int delayBetweenSendsMs)
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, o => o.ReceiveMode = mode, useIoUring: useIoUring, output: null);
        int answered = 0;
        for (int i = 0; i < Tries; i++)
        {
            using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
            for (int request = 0; request < 3; request++)
            {
                await connection.SendAsync(RawHttpConnection.Get($"/p?i={(i * 3) + request}"));
                if (delayBetweenSendsMs > 0 && request < 2)
                {
                    await Task.Delay(delayBetweenSendsMs);
                }
            }

            connection.Socket.Shutdown(SocketShutdown.Send);
            var (data, close) = await connection.ReadUntilClosedAsync();
            string text = Encoding.ASCII.GetString(data);
            string[] bodies = ResponseBodies(text);
            bool all = bodies.SequenceEqual(Enumerable.Range(i * 3, 3).Select(n => n.ToString(CultureInfo.InvariantCulture)));
            string transport = useIoUring ? "io_uring" : "sockets";
            Assert.True(data.Length == 0 || text.Contains($"{TestServer.TransportHeader}: {transport}", StringComparison.Ordinal), $"try {i} was not served on {transport}: {text}");

            // Whatever did arrive is whole and in order: a prefix of the three answers.
            Assert.True(bodies.SequenceEqual(Enumerable.Range(i * 3, bodies.Length).Select(n => n.ToString(CultureInfo.InvariantCulture))), $"try {i}: answers out of order or garbled: {text}");
            if (all && close == PeerClose.Fin)
            {
                answered++;
            }
        }

        return answered;
    }

    /// <summary>The bodies of the complete responses in <paramref name="text"/>, in order (Content-Length or chunked).</summary>
    private static string[] ResponseBodies(string text)
    {
        var bodies = new System.Collections.Generic.List<string>();
        int at = 0;
        while (true)
        {
            int head = text.IndexOf("\r\n\r\n", at, StringComparison.Ordinal);
            if (head < 0)
            {
                return bodies.ToArray();
            }

            string headers = text[at..head];
            int body = head + 4;
            int lengthAt = headers.IndexOf("Content-Length: ", StringComparison.OrdinalIgnoreCase);
            if (lengthAt >= 0)
            {
                int lengthEnd = headers.IndexOf('\r', lengthAt);
                int length = int.Parse(lengthEnd < 0 ? headers[(lengthAt + 16)..] : headers[(lengthAt + 16)..lengthEnd], CultureInfo.InvariantCulture);
                if (body + length > text.Length)
                {
                    return bodies.ToArray();
                }

                bodies.Add(text.Substring(body, length));
                at = body + length;
                continue;
            }

            // Chunked: size line, data, CRLF, … until the empty chunk.
            var content = new StringBuilder();
            while (true)
            {
                int sizeEnd = text.IndexOf("\r\n", body, StringComparison.Ordinal);
                if (sizeEnd < 0)
                {
                    return bodies.ToArray();
                }

                int size = int.Parse(text.AsSpan(body, sizeEnd - body), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (sizeEnd + 2 + size + 2 > text.Length)
                {
                    return bodies.ToArray();
                }

                content.Append(text, sizeEnd + 2, size);
                body = sizeEnd + 2 + size + 2;
                if (size == 0)
                {
                    break;
                }
            }

            bodies.Add(content.ToString());
            at = body;
        }
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
