using System;
using System.Buffers;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests;

/// <summary>
/// The test server's leak check of the transport's memory pools must fail a test that leaves a
/// block rented, or returns one twice, and pass one that does neither.
/// </summary>
public class PoolLeakCheckTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AServerThatLeftABlockRentedFailsItsTestWhenItStops()
    {
        IMemoryOwner<byte>? leaked = null;
        var server = await StartAsync(pool => leaked = pool.Rent());
        using var client = server.CreateClient();
        Assert.Equal("ok", await client.GetStringAsync("/rent"));
        var rings = server.Factory!.RingGroup;

        var failure = await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => server.DisposeAsync().AsTask());
        Assert.Contains("1 block(s) of the transport's memory pool were still rented", failure.Message);

        // Given back (late), the same check passes: it counts blocks, not servers.
        leaked!.Dispose();
        await TestServer.AssertNoPoolBlockLeftRentedAsync(rings, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task AServerWhoseBlockWasReturnedTwiceFailsItsTestWhenItStops()
    {
        var server = await StartAsync(pool =>
        {
            var block = pool.Rent();
            block.Dispose();
            Assert.Throws<InvalidOperationException>(() => block.Dispose());
        });
        using var client = server.CreateClient();
        Assert.Equal("ok", await client.GetStringAsync("/rent"));

        var failure = await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => server.DisposeAsync().AsTask());
        Assert.Contains("returned twice", failure.Message);
    }

    [Fact]
    public async Task AServerThatGaveEveryBlockBackPassesTheCheck()
    {
        var server = await StartAsync(pool => pool.Rent().Dispose());
        using var client = server.CreateClient();
        Assert.Equal("ok", await client.GetStringAsync("/rent"));
        await server.DisposeAsync();
    }

    private async Task<TestServer> StartAsync(Action<MemoryPool<byte>> onRequest)
    {
        TestServer? server = null;
        server = await TestServer.StartAsync(app => app.MapGet("/rent", () =>
        {
            onRequest(server!.Factory!.RingGroup.Rings!.Single().MemoryPool);
            return "ok";
        }), options => options.RingCount = 1, output: output);
        server.LeakCheckPatience = TimeSpan.FromSeconds(1);
        return server;
    }
}
