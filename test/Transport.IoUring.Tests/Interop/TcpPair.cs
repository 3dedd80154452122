using System;
using System.Net;
using System.Net.Sockets;

namespace Transport.IoUring.Tests.Interop;

/// <summary>
/// A connected TCP pair on loopback. The tests drive <see cref="Server"/> through io_uring by its fd
/// and use <see cref="Client"/> as the peer through ordinary blocking socket calls.
/// </summary>
internal sealed class TcpPair : IDisposable
{
    private TcpPair(Socket client, Socket server)
    {
        Client = client;
        Server = server;
    }

    public Socket Client { get; }

    public Socket Server { get; }

    public int ServerFd => (int)Server.SafeHandle.DangerousGetHandle();

    public static TcpPair Create(AddressFamily family = AddressFamily.InterNetwork)
    {
        IPAddress loopback = family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        using var listener = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(loopback, 0));
        listener.Listen(1);

        var client = new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.LocalEndPoint!);
        var server = listener.Accept();
        return new TcpPair(client, server);
    }

    /// <summary>Sends all of <paramref name="data"/> from the client.</summary>
    public void Send(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data.Slice(Client.Send(data));
        }
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}
