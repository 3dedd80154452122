using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Faults;

/// <summary>
/// Peers that are slow on purpose. Kestrel's limits (RequestHeadersTimeout, MinRequestBodyDataRate,
/// MinResponseDataRate) close them, which works only if the transport honours Kestrel's Abort
/// promptly and its backpressure holds the server's memory while a peer does not read.
/// </summary>
public class SlowPeerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CloseBound = TimeSpan.FromSeconds(20);

    private static void ShortLimits(KestrelServerOptions options)
    {
        options.Listen(IPAddress.Loopback, 0);
        options.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(2);
        options.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(2));
        options.Limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 1024 * 1024, gracePeriod: TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task ARequestArrivingOneByteAtATimeIsServedWhole()
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, output: output);
        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
        byte[] request = Encoding.ASCII.GetBytes(RawHttpConnection.Get("/p?i=one-byte-at-a-time"));
        for (int i = 0; i < request.Length; i++)
        {
            await connection.SendAsync(request.AsMemory(i, 1));
            await Task.Delay(2);
        }

        var response = await connection.ReadResponseAsync();
        response.AssertServedOverIoUring();
        Assert.Equal("one-byte-at-a-time", response.BodyText);
    }

    [Fact]
    public async Task SlowlorisHeadersAreCutOffByRequestHeadersTimeoutWhileOthersAreServed()
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, configureKestrel: ShortLimits, output: output);
        using var slow = await ConnectAsync(server.EndPoint);
        await slow.SendAsync(Encoding.ASCII.GetBytes("GET /plaintext HTTP/1.1\r\nHost: x\r\n"), SocketFlags.None);

        // One header byte every 250 ms: never a complete request, never idle long enough for a
        // keep-alive timeout. Only the headers timeout ends it.
        var dribble = TrickleAsync(slow, "X"u8.ToArray());

        await FaultSupport.AssertOthersAreServedAsync(server);
        Assert.True(await ClosedByServerAsync(slow), "the slowloris connection was not closed by the server");
        await dribble.WaitAsync(Bounded.Wait);
        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0), "the slowloris connection is still on the ring");
    }

    [Fact]
    public async Task AnUploadSlowerThanMinRequestBodyDataRateIsAbortedWhileOthersAreServed()
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, configureKestrel: ShortLimits, output: output);
        using var slow = await ConnectAsync(server.EndPoint);
        await slow.SendAsync(Encoding.ASCII.GetBytes("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n"), SocketFlags.None);
        var trickle = TrickleAsync(slow, new byte[16]); // 64 B/s, far below 1 KiB/s

        await FaultSupport.AssertOthersAreServedAsync(server);
        Assert.True(await ClosedByServerAsync(slow), "the slow upload was not aborted by the server");
        await trickle.WaitAsync(Bounded.Wait);
        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0), "the slow upload's connection is still on the ring");
    }

    [Fact]
    public async Task AClientThatNeverReadsHoldsBoundedServerMemoryAndIsClosedByMinResponseDataRate()
    {
        long written = 0;
        var handlerEnded = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);

            // Writes until the transport stops taking bytes for good: an endless response.
            app.MapGet("/endless", async (Microsoft.AspNetCore.Http.HttpContext context) =>
            {
                var writer = context.Response.BodyWriter;
                try
                {
                    while (Volatile.Read(ref written) < 256L * 1024 * 1024)
                    {
                        writer.GetSpan(4096)[..4096].Fill((byte)'x');
                        writer.Advance(4096);
                        Interlocked.Add(ref written, 4096);
                        var flush = await writer.FlushAsync(context.RequestAborted);
                        if (flush.IsCanceled || flush.IsCompleted)
                        {
                            handlerEnded.TrySetResult("flush ended");
                            return;
                        }
                    }

                    handlerEnded.TrySetResult("wrote 256 MiB");
                }
                catch (Exception ex)
                {
                    handlerEnded.TrySetResult(ex.GetType().Name);
                }
            });
        }, configureKestrel: ShortLimits, output: output);

        using var stalled = await ConnectAsync(server.EndPoint);
        stalled.ReceiveBufferSize = 64 * 1024;
        await stalled.SendAsync(Encoding.ASCII.GetBytes(RawHttpConnection.Get("/endless")), SocketFlags.None);

        // The response fills the socket buffers, then the output pipe up to MaxWriteBufferSize
        // (64 KiB); then the app's flush waits. Kestrel's MinResponseDataRate then aborts it.
        await FaultSupport.AssertOthersAreServedAsync(server);
        string ending = await handlerEnded.Task.WaitAsync(CloseBound);
        long total = Volatile.Read(ref written);
        output.WriteLine($"the app wrote {total / 1024} KiB for a client that read nothing; its handler ended with: {ending}");
        Assert.NotEqual("wrote 256 MiB", ending);
        Assert.True(total <= 16 * 1024 * 1024, $"the server took {total} bytes from the app for a client that reads nothing");
        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0, CloseBound),
            "the never-reading client's connection was not closed by MinResponseDataRate");
        Assert.True(await ClosedByServerAsync(stalled), "the client did not see the connection closed");
    }

    /// <summary>Sends <paramref name="chunk"/> every 250 ms, 80 times at most, until the server closes the connection.</summary>
    private static Task TrickleAsync(Socket socket, byte[] chunk) => Task.Run(async () =>
    {
        for (int i = 0; i < 80; i++)
        {
            await Task.Delay(250);
            try
            {
                await socket.SendAsync(chunk, SocketFlags.None);
            }
            catch (SocketException)
            {
                return;
            }
        }
    });

    private static async Task<Socket> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    /// <summary>True once the server has closed (FIN or RST) the connection, reading and discarding any response (a 408, say).</summary>
    private static async Task<bool> ClosedByServerAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(CloseBound);
        byte[] buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true; // reset
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
