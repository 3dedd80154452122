using System;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

/// <summary>A fact that is skipped, saying why, on a machine without an IPv6 loopback.</summary>
public sealed class IPv6LoopbackFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> s_available = new(() =>
    {
        if (!Socket.OSSupportsIPv6)
        {
            return false;
        }

        try
        {
            using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    });

    public IPv6LoopbackFactAttribute()
    {
        if (!s_available.Value)
        {
            Skip = "This machine has no IPv6 loopback (::1 cannot be bound), so the IPv6 tests cannot run here.";
        }
    }
}

public class IPv6Tests(ITestOutputHelper output)
{
    [IPv6LoopbackFact]
    public async Task RequestsToTheIPv6LoopbackAreServedOnIoUring()
    {
        await using var server = await TestServer.StartAsync(
            MapRemoteAddress,
            configureKestrel: options => options.Listen(IPAddress.IPv6Loopback, 0),
            output: output);
        Assert.Equal(IPAddress.IPv6Loopback, server.EndPoint.Address);
        using var client = server.CreateClient();
        Assert.Equal("[::1]", client.BaseAddress!.Host);

        string remote = await client.GetStringAsync("/remote");

        Assert.Equal(IPAddress.IPv6Loopback, IPAddress.Parse(remote));
        Assert.True(server.IoUringAcceptedConnections >= 1);
    }

    [IPv6LoopbackFact]
    public async Task ADualModeListenerOnIPv6AnyServesIPv4AndIPv6ClientsOnIoUring()
    {
        await using var server = await TestServer.StartAsync(
            MapRemoteAddress,
            configureKestrel: options => options.Listen(IPAddress.IPv6Any, 0),
            output: output);

        using var v4 = server.CreateClient();
        v4.BaseAddress = new Uri($"http://127.0.0.1:{server.Port}");
        using var v6 = server.CreateClient();
        v6.BaseAddress = new Uri($"http://[::1]:{server.Port}");

        // The IPv4 client reaches the dual-mode socket as ::ffff:127.0.0.1.
        var v4Remote = IPAddress.Parse(await v4.GetStringAsync("/remote"));
        var v6Remote = IPAddress.Parse(await v6.GetStringAsync("/remote"));

        Assert.Equal(IPAddress.Loopback, v4Remote.IsIPv4MappedToIPv6 ? v4Remote.MapToIPv4() : v4Remote);
        Assert.Equal(IPAddress.IPv6Loopback, v6Remote);
        Assert.True(server.IoUringAcceptedConnections >= 2);
    }

    private static void MapRemoteAddress(WebApplication app)
        => app.MapGet("/remote", (HttpContext context) => context.Connection.RemoteIpAddress!.ToString());
}
