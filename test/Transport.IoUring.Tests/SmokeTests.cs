using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests;

public class SmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PlaintextIsServedOverIoUring()
    {
        await using var server = await TestServer.StartAsync(app => app.MapGet("/plaintext", () => "Hello, World!"), output: output);
        using var client = server.CreateClient();

        string body = await client.GetStringAsync("/plaintext");

        Assert.Equal("Hello, World!", body);
        Assert.True(server.IoUringAcceptedConnections >= 1);
    }
}
