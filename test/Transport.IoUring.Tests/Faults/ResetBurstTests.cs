using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Faults;

/// <summary>
/// Thousands of clients that reset (SO_LINGER {on, 0}) in every state of a connection, while
/// healthy clients check every byte they get back. Afterwards the rings hold no connection and the
/// process no more fds than before.
/// </summary>
public class ResetBurstTests(ITestOutputHelper output)
{
    private const int Resets = 2000;

    private enum ResetPoint { AfterConnect, MidHeaders, MidUpload, MidDownload, WhileTheAppWrites }

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task TwoThousandResetsInEveryStateLeaveOtherConnectionsIntactAndNothingBehind(IoUringReceiveMode mode)
    {
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);

            // Keeps writing until the client goes away: the reset arrives while the app writes.
            app.MapGet("/stream", async (HttpContext context) =>
            {
                var body = new byte[8192];
                try
                {
                    for (int i = 0; i < 4096 && !context.RequestAborted.IsCancellationRequested; i++)
                    {
                        await context.Response.Body.WriteAsync(body, context.RequestAborted);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException)
                {
                }
            });
        }, o => o.ReceiveMode = mode, output: output);
        var endPoint = server.EndPoint;

        await FaultSupport.AssertOthersAreServedAsync(server, clients: 1);

        using var stop = new CancellationTokenSource();
        var healthy = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            var upload = TestData.Random(seed: c, 256 * 1024);
            byte[] expected = SHA256.HashData(upload);
            int exchanges = 0;
            using var connection = await RawHttpConnection.ConnectAsync(endPoint);
            while (!stop.IsCancellationRequested && exchanges < 10_000)
            {
                await connection.SendAsync(Encoding.ASCII.GetBytes($"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {upload.Length}\r\n\r\n"));
                await connection.SendAsync(upload);
                var response = await connection.ReadResponseAsync();
                response.AssertServedOverIoUring(mode);
                Assert.Equal(expected, SHA256.HashData(response.Body));
                exchanges++;
            }

            return exchanges;
        })).ToArray();

        int next = -1;
        var resetters = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Resets)
            {
                await ResetAsync(endPoint, (ResetPoint)(i % 5));
            }
        })).ToArray();

        await Task.WhenAll(resetters).WaitAsync(Bounded.Wait * 2);
        stop.Cancel();
        int[] exchanged = await Task.WhenAll(healthy).WaitAsync(Bounded.Wait);
        output.WriteLine($"{Resets} resets; healthy clients exchanged {string.Join(", ", exchanged)} intact 256 KiB echoes meanwhile");
        Assert.All(exchanged, n => Assert.True(n > 0));

        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0),
            $"{Rings.ActiveConnections(server)} connection(s) still on the rings after {Resets} resets");
        Assert.True(await Bounded.PollAsync(() => ServerSideOpenSockets(endPoint.Port) == 0),
            $"{ServerSideOpenSockets(endPoint.Port)} server-side socket(s) of port {endPoint.Port} still ESTABLISHED or CLOSE_WAIT: an fd was not closed");
        await Rings.AssertServesAndDrainsAsync(server, mode);
    }

    private static async Task ResetAsync(IPEndPoint endPoint, ResetPoint point)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.LingerState = new LingerOption(true, 0);
        try
        {
            await socket.ConnectAsync(endPoint);
            switch (point)
            {
                case ResetPoint.AfterConnect:
                    break;
                case ResetPoint.MidHeaders:
                    await socket.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Half: "u8.ToArray(), SocketFlags.None);
                    break;
                case ResetPoint.MidUpload:
                    await socket.SendAsync(Encoding.ASCII.GetBytes("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"), SocketFlags.None);
                    await socket.SendAsync(new byte[20_000], SocketFlags.None);
                    break;
                case ResetPoint.MidDownload:
                    await socket.SendAsync(Encoding.ASCII.GetBytes(RawHttpConnection.Get("/download/4194304")), SocketFlags.None);
                    await socket.ReceiveAsync(new byte[16_384], SocketFlags.None);
                    break;
                case ResetPoint.WhileTheAppWrites:
                    await socket.SendAsync(Encoding.ASCII.GetBytes(RawHttpConnection.Get("/stream")), SocketFlags.None);
                    break;
            }
        }
        catch (SocketException)
        {
            // The server may have answered or closed first; the reset is still sent.
        }
    }

    /// <summary>
    /// TCP sockets whose local port is the server's and that an fd still holds open: ESTABLISHED
    /// (01) or CLOSE_WAIT (08) in /proc/net/tcp. Closed ones are in FIN_WAIT, LAST_ACK or TIME_WAIT.
    /// </summary>
    private static int ServerSideOpenSockets(int port)
    {
        string local = $":{port:X4} ";
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => (f[1] + " ").EndsWith(local, StringComparison.Ordinal) && f[3] is "01" or "08");
    }
}
