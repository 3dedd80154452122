using System;
using System.Net;
using System.Net.Sockets;
using Transport.IoUring.Internal;
using Transport.IoUring.Interop;
using Xunit;

namespace Transport.IoUring.Tests.Interop;

public sealed unsafe class SocketAddressParserTests
{
    [Fact]
    public void SockaddrInBuiltByHandParsesToItsEndPoint()
    {
        // struct sockaddr_in: sa_family_t family (host order), in_port_t port (network order), 4-byte address, 8 bytes zero.
        byte[] sockaddr = [0x02, 0x00, 0x1F, 0x90, 192, 168, 1, 20, 0, 0, 0, 0, 0, 0, 0, 0];

        var endPoint = Parse(sockaddr);

        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.168.1.20"), 8080), endPoint);
    }

    [Fact]
    public void SockaddrIn6BuiltByHandParsesToItsEndPointWithScopeId()
    {
        // struct sockaddr_in6: family, port (network order), flowinfo, 16-byte address, scope id (host order).
        byte[] sockaddr = new byte[28];
        sockaddr[0] = 10; // AF_INET6
        sockaddr[2] = 0xC3;
        sockaddr[3] = 0x50; // port 50000
        sockaddr[4] = 0x12;
        sockaddr[7] = 0x34; // flowinfo: ignored
        IPAddress.Parse("fe80::1:2:3:4").GetAddressBytes().CopyTo(sockaddr, 8);
        BitConverter.GetBytes(7u).CopyTo(sockaddr, 24);

        var endPoint = Parse(sockaddr);

        Assert.NotNull(endPoint);
        Assert.Equal(IPAddress.Parse("fe80::1:2:3:4%7"), endPoint!.Address);
        Assert.Equal(7, endPoint.Address.ScopeId);
        Assert.Equal(50000, endPoint.Port);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void TruncatedSockaddrInIsRejected(int length)
    {
        byte[] sockaddr = [0x02, 0x00, 0x1F, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Null(Parse(sockaddr, length));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(27)]
    public void TruncatedSockaddrIn6IsRejected(int length)
    {
        byte[] sockaddr = new byte[28];
        sockaddr[0] = 10;
        Assert.Null(Parse(sockaddr, length));
    }

    [Fact]
    public void UnknownFamilyIsRejected()
    {
        byte[] sockaddrUn = new byte[110];
        sockaddrUn[0] = 1; // AF_UNIX
        "/tmp/kestrel.sock"u8.CopyTo(sockaddrUn.AsSpan(2));
        Assert.Null(Parse(sockaddrUn));
    }

    public static TheoryData<string, bool> Listeners => new()
    {
        { "127.0.0.1", false },
        { "::1", false },
        { "::", true }, // dual-mode: an IPv4 client shows up as ::ffff:127.0.0.1
    };

    [Theory]
    [MemberData(nameof(Listeners))]
    public void GetsocknameAndGetpeernameOfRealSocketsParseToTheirEndPoints(string listenAddress, bool dualMode)
    {
        var address = IPAddress.Parse(listenAddress);
        using var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (dualMode)
        {
            listener.DualMode = true;
        }

        listener.Bind(new IPEndPoint(address, 0));
        listener.Listen(1);
        Assert.Equal(listener.LocalEndPoint, GetSockName(listener));

        var connectTo = dualMode
            ? new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndPoint!).Port)
            : (IPEndPoint)listener.LocalEndPoint!;
        using var client = new Socket(connectTo.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(connectTo);
        using var accepted = listener.Accept();

        var local = GetSockName(accepted);
        var remote = GetPeerName(accepted);
        Assert.Equal(accepted.LocalEndPoint, local);
        Assert.Equal(accepted.RemoteEndPoint, remote);
        Assert.Equal(((IPEndPoint)client.LocalEndPoint!).Port, remote!.Port);
        if (dualMode)
        {
            Assert.True(local!.Address.IsIPv4MappedToIPv6, local.ToString());
            Assert.Equal(IPAddress.Loopback, remote.Address.MapToIPv4());
        }
    }

    private static IPEndPoint? Parse(byte[] sockaddr, int? length = null)
    {
        fixed (byte* p = sockaddr)
        {
            return SocketAddressParser.ToIPEndPoint(p, (uint)(length ?? sockaddr.Length));
        }
    }

    private static IPEndPoint? GetSockName(Socket socket) => Query(socket, peer: false);

    private static IPEndPoint? GetPeerName(Socket socket) => Query(socket, peer: true);

    private static IPEndPoint? Query(Socket socket, bool peer)
    {
        byte* buffer = stackalloc byte[128];
        uint length = 128;
        int fd = (int)socket.SafeHandle.DangerousGetHandle();
        int ret = peer ? LibC.GetPeerName(fd, buffer, &length) : LibC.GetSockName(fd, buffer, &length);
        Assert.True(ret == 0, $"{(peer ? "getpeername" : "getsockname")} failed: {LibC.Describe(LibC.LastErrno)}");
        return SocketAddressParser.ToIPEndPoint(buffer, length);
    }
}
