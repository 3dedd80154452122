using System;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

public class FileHandleEndPointTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AListenSocketPassedAsAFileHandleIsServedOnIoUring()
    {
        using var inherited = new InheritedListenSocket();

        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/local", (HttpContext context) => context.Connection.LocalIpAddress + ":" + context.Connection.LocalPort),
            configureKestrel: options => options.Listen(inherited.EndPoint),
            output: output);
        using var client = server.CreateClient();
        client.BaseAddress = new Uri($"http://127.0.0.1:{inherited.Port}");

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal($"127.0.0.1:{inherited.Port}", await client.GetStringAsync("/local"));
        }

        Assert.True(server.IoUringAcceptedConnections >= 1);
    }
}
