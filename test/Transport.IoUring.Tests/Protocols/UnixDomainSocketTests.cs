using System;
using System.IO;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

public class UnixDomainSocketTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RequestsOverAUnixDomainSocketAreServedOnIoUringAndTheSocketFileIsRemovedOnStop()
    {
        string directory = Directory.CreateTempSubdirectory("iouring-uds-").FullName;
        string path = Path.Combine(directory, "kestrel.sock");
        try
        {
            var server = await TestServer.StartAsync(
                app =>
                {
                    app.MapGet("/hello", () => "hello over a unix socket");
                    app.MapPost("/echo", async context =>
                    {
                        context.Response.ContentLength = context.Request.ContentLength;
                        await context.Request.Body.CopyToAsync(context.Response.Body);
                    });
                },
                configureKestrel: options => options.ListenUnixSocket(path),
                output: output);
            try
            {
                Assert.True(File.Exists(path), "the socket file should exist while the server runs");
                long acceptedBefore = server.IoUringAcceptedConnections;

                var handler = new SocketsHttpHandler
                {
                    ConnectCallback = async (_, cancellationToken) =>
                    {
                        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                        try
                        {
                            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                            return new NetworkStream(socket, ownsSocket: true);
                        }
                        catch
                        {
                            socket.Dispose();
                            throw;
                        }
                    },
                };
                using var client = TransportClient.Create(new Uri("http://localhost"), handler);

                for (int i = 0; i < 5; i++)
                {
                    Assert.Equal("hello over a unix socket", await client.GetStringAsync("/hello"));
                }

                await Payload.EchoAsync(client, 256 * 1024);
                Assert.True(server.IoUringAcceptedConnections > acceptedBefore, "the io_uring rings should have accepted the connection");
            }
            finally
            {
                await server.DisposeAsync();
            }

            Assert.False(File.Exists(path), "the socket file should be removed when the server stops");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
