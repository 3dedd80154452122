using System;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

public partial class FileHandleEndPointTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AListenSocketPassedAsAFileHandleIsServedOnIoUring()
    {
        using var listenSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listenSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listenSocket.Listen(128);
        var endPoint = (IPEndPoint)listenSocket.LocalEndPoint!;

        // The server takes ownership of the handle it is given (as of one inherited from systemd) and
        // closes it when it stops, so it gets its own descriptor of the same socket.
        int handle = Dup((int)listenSocket.Handle);
        Assert.True(handle >= 0, $"dup failed: errno {Marshal.GetLastPInvokeError()}");

        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/local", (HttpContext context) => context.Connection.LocalIpAddress + ":" + context.Connection.LocalPort),
            configureKestrel: options => options.Listen(new FileHandleEndPoint((ulong)handle, FileHandleType.Tcp)),
            output: output);
        using var client = server.CreateClient();
        client.BaseAddress = new Uri($"http://127.0.0.1:{endPoint.Port}");

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal($"127.0.0.1:{endPoint.Port}", await client.GetStringAsync("/local"));
        }

        Assert.True(server.IoUringAcceptedConnections >= 1);
    }

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);
}
