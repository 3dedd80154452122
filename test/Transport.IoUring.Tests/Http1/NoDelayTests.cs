using System;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Transport.IoUring.Internal;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

/// <summary>
/// <see cref="IoUringTransportOptions.NoDelay"/> reaches the accepted sockets. The transport sets
/// TCP_NODELAY once on the listen sockets it creates, and Linux copies it into each accepted
/// socket; an inherited listen socket is left as it is and its connections get the option one by
/// one. The option is read here from the server's own fd of the connection serving the request.
/// </summary>
public partial class NoDelayTests(ITestOutputHelper output)
{
    private const int IPPROTO_TCP = 6;
    private const int TCP_NODELAY = 1;

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 1)]
    [InlineData(true, 2)] // two rings: a reuseport group, one listen socket per ring
    [InlineData(false, 2)]
    public async Task AcceptedSocketsCarryTcpNoDelayAsConfigured(bool noDelay, int rings)
    {
        await using var server = await TestServer.StartAsync(MapNoDelay, o =>
        {
            o.NoDelay = noDelay;
            o.RingCount = rings;
        }, output: output);

        var ringsSeen = new System.Collections.Generic.HashSet<string>();
        for (int i = 0; i < 16 && ringsSeen.Count < rings; i++)
        {
            // A client per request: each request comes on a connection of its own.
            using var client = server.CreateClient();
            string[] answer = (await client.GetStringAsync("/nodelay")).Split(':');
            Assert.Equal(noDelay ? "1" : "0", answer[1]);
            ringsSeen.Add(answer[0]);
        }

        Assert.Equal(rings, ringsSeen.Count);
    }

    [Fact]
    public async Task ConnectionsOfAnInheritedListenSocketGetTcpNoDelayWithoutChangingThatSocket()
    {
        using var inherited = new InheritedListenSocket();

        await using var server = await TestServer.StartAsync(
            MapNoDelay,
            configureKestrel: options => options.Listen(inherited.EndPoint),
            output: output);
        using var client = server.CreateClient();
        client.BaseAddress = new Uri($"http://127.0.0.1:{inherited.Port}");

        Assert.EndsWith(":1", await client.GetStringAsync("/nodelay"));
        Assert.Equal(0, ReadNoDelay((int)inherited.Socket.Handle));
    }

    private static void MapNoDelay(WebApplication app)
        => app.MapGet("/nodelay", (HttpContext context) =>
        {
            var connection = (IoUringConnection)context.Features.Get<IIoUringConnectionFeature>()!;
            return $"{connection.RingId}:{ReadNoDelay(connection.Fd)}";
        });

    private static unsafe int ReadNoDelay(int fd)
    {
        int value = -1;
        uint length = sizeof(int);
        Assert.Equal(0, GetSockOpt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &length));
        return value;
    }

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static unsafe partial int GetSockOpt(int fd, int level, int name, int* value, uint* length);
}
