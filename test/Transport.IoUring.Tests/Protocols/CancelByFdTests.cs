using System;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Transport.IoUring.Interop;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

/// <summary>
/// A connection the server ends cancels what it still has in the kernel (the multishot recv, the
/// hang-up poll, a send the peer does not take): with <see cref="RingFeatures.CancelByFd"/> (5.19) by
/// one IORING_ASYNC_CANCEL_FD | _ALL request, without it by one cancel per request. Either way every
/// request must end, or the fd would never be closed: the tests wait for the rings to hold no
/// connection, and count which kind of cancel ran.
/// </summary>
public class CancelByFdTests(ITestOutputHelper output)
{
    public static TheoryData<bool, IoUringReceiveMode> Cases() => new()
    {
        { true, IoUringReceiveMode.BufferRing },
        { true, IoUringReceiveMode.PollAndReceive },
        { false, IoUringReceiveMode.BufferRing },
        { false, IoUringReceiveMode.PollAndReceive },
    };

    /// <summary>
    /// Connection: close: the server shuts the socket down after the response while its receive
    /// requests are armed, before the client's FIN.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ConnectionsTheServerClosesEndTheirRequestsWithOneCancelEach(bool byFd, IoUringReceiveMode mode)
    {
        const int Connections = 300;
        RequireKernelSupport(byFd);
        await using var server = await StartAsync(byFd, mode, Http1App.Map);
        var ring = Assert.Single(server.Factory!.RingGroup.Rings!);
        Assert.Equal(byFd, ring.CancelsByFd);

        for (int i = 0; i < Connections; i++)
        {
            using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
            await connection.SendAsync(RawHttpConnection.Get($"/p?i={i}", close: true));
            var response = await connection.ReadResponseAsync();
            Assert.Equal(200, response.StatusCode);
            response.AssertServedOverIoUring(mode);
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), response.BodyText);
            var (rest, close) = await connection.ReadUntilClosedAsync();
            Assert.Empty(rest);
            Assert.Equal(PeerClose.Fin, close);
        }

        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0),
            $"{Rings.ActiveConnections(server).ToString(CultureInfo.InvariantCulture)} connection(s) still open on the ring");
        long fdCancels = await OnRingAsync(server, () => ring.FdCancels);
        long targeted = await OnRingAsync(server, () => ring.TargetedCancels);
        output.WriteLine($"{Connections} connections: {fdCancels} cancels by fd, {targeted} cancels by user_data");

        if (byFd)
        {
            Assert.Equal(Connections, fdCancels);
            Assert.Equal(0, targeted);
        }
        else
        {
            Assert.Equal(0, fdCancels);
            Assert.True(targeted >= Connections, $"{targeted} targeted cancels for {Connections} connections");
        }
    }

    /// <summary>
    /// The client does not read an 8 MiB response, so a send sits in the kernel beside the receive
    /// requests when the application aborts: one cancel by fd must end them all (without the
    /// feature, one cancel each), and the connection must close.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AnAbortWithASendInFlightEndsEveryRequestOfTheConnection(bool byFd, IoUringReceiveMode mode)
    {
        RequireKernelSupport(byFd);
        var context = new TaskCompletionSource<HttpContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(byFd, mode, app =>
        {
            Http1App.Map(app);
            app.MapGet("/unread", async (HttpContext http) =>
            {
                context.TrySetResult(http);
                byte[] body = new byte[8 * 1024 * 1024];
                http.Response.ContentLength = body.Length;
                try
                {
                    await http.Response.Body.WriteAsync(body, http.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The abort below (ConnectionAbortedException is one).
                }
            });
        });
        var ring = Assert.Single(server.Factory!.RingGroup.Rings!);

        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
        await connection.SendAsync(RawHttpConnection.Get("/unread"));
        var http = await context.Task.WaitAsync(Bounded.Wait);

        // Wait until the socket buffers are full: the bytes sent stop growing while the transport's
        // send waits in the kernel for room.
        long sent = -1;
        Assert.True(await Bounded.PollAsync(() =>
        {
            long now = ring.ReadCounters().BytesSent;
            bool settled = now > 0 && now == sent && ring.InFlight >= 3;
            sent = now;
            return settled;
        }), "the server's send never filled the socket buffers");
        Assert.True(sent < 8 * 1024 * 1024, $"the kernel took all {sent} bytes of a response nobody reads");

        long fdBefore = await OnRingAsync(server, () => ring.FdCancels);
        long targetedBefore = await OnRingAsync(server, () => ring.TargetedCancels);
        http.Abort();

        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0),
            "the aborted connection is still open: one of its requests never ended");
        long fdCancels = await OnRingAsync(server, () => ring.FdCancels) - fdBefore;
        long targeted = await OnRingAsync(server, () => ring.TargetedCancels) - targetedBefore;
        output.WriteLine($"abort after {sent} bytes: {fdCancels} cancels by fd, {targeted} cancels by user_data");
        if (byFd)
        {
            Assert.Equal(1, fdCancels);
            Assert.Equal(0, targeted);
        }
        else
        {
            Assert.Equal(0, fdCancels);
            // BufferRing: the send, the multishot recv and the hang-up poll; PollAndReceive: the send
            // and the readiness poll (its recv is armed only once the poll fired).
            Assert.Equal(mode == IoUringReceiveMode.BufferRing ? 3 : 2, targeted);
        }

        await Rings.AssertServesAndDrainsAsync(server, mode);
    }

    private Task<TestServer> StartAsync(bool byFd, IoUringReceiveMode mode, Action<WebApplication> app)
        => TestServer.StartAsync(
            app,
            configureTransport: options =>
            {
                options.RingCount = 1;
                options.ReceiveMode = mode;
                options.DisabledFeatures = byFd ? RingFeatures.None : RingFeatures.CancelByFd;
            },
            output: output);

    // The counters are the ring thread's plain fields: read them there.
    private static async Task<long> OnRingAsync(TestServer server, Func<long> read)
    {
        var ring = server.Factory!.RingGroup.Rings![0];
        var result = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        ring.Schedule(_ => result.TrySetResult(read()), null);
        return await result.Task.WaitAsync(Bounded.Wait);
    }

    private static void RequireKernelSupport(bool byFd)
    {
        if (byFd)
        {
            Assert.True((RingCapabilities.Current.Available & RingFeatures.CancelByFd) != 0,
                $"kernel {RingCapabilities.Current.KernelVersion} has no IORING_ASYNC_CANCEL_FD (5.19)");
        }
    }
}
