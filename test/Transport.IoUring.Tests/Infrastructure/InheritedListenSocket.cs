using System;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Xunit;

namespace Transport.IoUring.Tests;

/// <summary>
/// A TCP listen socket on 127.0.0.1 handed to the server as a <see cref="FileHandleEndPoint"/>, as
/// systemd hands one over. The server takes ownership of the handle it is given and closes it when
/// it stops, so it gets its own descriptor (dup) of the socket this object keeps open.
/// </summary>
internal sealed partial class InheritedListenSocket : IDisposable
{
    public InheritedListenSocket()
    {
        Socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Socket.Listen(128);
        int handle = Dup((int)Socket.Handle);
        Assert.True(handle >= 0, $"dup failed: errno {Marshal.GetLastPInvokeError()}");
        EndPoint = new FileHandleEndPoint((ulong)handle, FileHandleType.Tcp);
    }

    /// <summary>The socket as the process that passed it keeps it.</summary>
    public Socket Socket { get; }

    /// <summary>The server's own descriptor of it.</summary>
    public FileHandleEndPoint EndPoint { get; }

    public int Port => ((IPEndPoint)Socket.LocalEndPoint!).Port;

    public void Dispose() => Socket.Dispose();

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);
}
