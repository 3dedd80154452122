using System;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

public class GracefulShutdownTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ARequestInFlightWhenTheServerStopsCompletesWithItsFullBodyAndNewConnectionsAreRefused()
    {
        const int Length = 1024 * 1024;
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app => app.MapGet("/held", async (HttpContext context) =>
        {
            inFlight.TrySetResult();
            await release.Task.WaitAsync(Bounded.Wait);
            context.Response.ContentLength = Length;
            byte[] body = new byte[Length];
            TestData.FillPattern(body, 0);
            await context.Response.Body.WriteAsync(body);
        }), output: output);
        IPEndPoint endPoint = server.EndPoint;
        using var client = server.CreateClient();

        var request = client.GetAsync("/held");
        await inFlight.Task.WaitAsync(Bounded.Wait);
        Assert.Equal(1, server.IoUringAcceptedConnections);

        var stop = server.App.StopAsync();

        // Once the listener is unbound nothing accepts on the port; the request is still held.
        Assert.True(await Bounded.PollAsync(() => IsRefused(endPoint)), "the port still accepts connections while the server stops");
        Assert.False(request.IsCompleted);
        Assert.False(stop.IsCompleted);

        release.TrySetResult();
        using var response = await request.WaitAsync(Bounded.Wait);
        byte[] received = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Length, received.Length);
        Assert.Equal(-1, TestData.FindPatternMismatch(received, 0));

        await stop.WaitAsync(Bounded.Wait);
        Assert.True(IsRefused(endPoint));
    }

    private static bool IsRefused(IPEndPoint endPoint)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(endPoint);
            return false;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
    }
}
