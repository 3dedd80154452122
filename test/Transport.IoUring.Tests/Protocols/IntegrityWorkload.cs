using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Xunit;

namespace Transport.IoUring.Tests.Protocols;

/// <summary>
/// The workload every receive-mode and kernel-path variant must get through intact: an 8 MiB echo
/// (request and response streamed at the same time) and 200 requests pipelined on one connection,
/// each response checked for its order, its transport and its connection's receive mode.
/// </summary>
internal static class IntegrityWorkload
{
    public const string ReceiveModeHeader = "X-Receive-Mode";
    public const int EchoSize = 8 * 1024 * 1024;
    public const int PipelinedRequests = 200;

    public static void MapEndpoints(WebApplication app)
    {
        app.MapPost("/echo", async context =>
        {
            context.Response.Headers[ReceiveModeHeader] = context.Features.Get<IIoUringConnectionFeature>()?.ReceiveMode.ToString() ?? "none";
            context.Response.ContentLength = context.Request.ContentLength;
            await context.Request.Body.CopyToAsync(context.Response.Body);
        });

        app.MapGet("/pipelined/{index:int}", context =>
        {
            string mode = context.Features.Get<IIoUringConnectionFeature>()?.ReceiveMode.ToString() ?? "none";
            byte[] body = Encoding.ASCII.GetBytes($"response {context.Request.RouteValues["index"]}");
            context.Response.Headers[ReceiveModeHeader] = mode;
            context.Response.ContentLength = body.Length;
            return context.Response.Body.WriteAsync(body).AsTask();
        });
    }

    public static async Task RunAsync(TestServer server, IoUringReceiveMode expectedReceiveMode)
    {
        long acceptedBefore = server.IoUringAcceptedConnections;

        using (var echoSocket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp))
        {
            await echoSocket.ConnectAsync(server.EndPoint).WaitAsync(Bounds.Wait);
            await using var echoStream = new NetworkStream(echoSocket, ownsSocket: false);
            var echoed = await Payload.RawEchoAsync(echoStream, EchoSize);
            Assert.Equal("io_uring", echoed.Headers[TestServer.TransportHeader]);
            Assert.Equal(expectedReceiveMode.ToString(), echoed.Headers[ReceiveModeHeader]);
        }

        using var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = Bounds.Token();
        await socket.ConnectAsync(server.EndPoint, cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);

        var requests = new StringBuilder();
        for (int i = 0; i < PipelinedRequests; i++)
        {
            requests.Append(CultureInfo.InvariantCulture, $"GET /pipelined/{i} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        }

        // All requests in one write: the server finds them in its receive buffers back to back.
        await stream.WriteAsync(Encoding.ASCII.GetBytes(requests.ToString()), cts.Token);

        var reader = new RawHttpReader(stream);
        for (int i = 0; i < PipelinedRequests; i++)
        {
            var response = await reader.ReadResponseAsync(cts.Token);
            Assert.Equal(200, response.StatusCode);
            Assert.Equal($"response {i}", Encoding.ASCII.GetString(response.Body));
            Assert.Equal("io_uring", response.Headers[TestServer.TransportHeader]);
            Assert.Equal(expectedReceiveMode.ToString(), response.Headers[ReceiveModeHeader]);
        }

        Assert.True(server.IoUringAcceptedConnections >= acceptedBefore + 2, "both connections should have been accepted by io_uring");
    }
}
