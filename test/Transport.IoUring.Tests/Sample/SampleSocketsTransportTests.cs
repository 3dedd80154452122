using System.Net;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>The sample started with --transport sockets.</summary>
public sealed class SampleSocketsTransportTests(SocketsSampleFixture fixture) : IClassFixture<SocketsSampleFixture>
{
    [Fact]
    public async Task TransportEndpointSaysSocketsAndPlaintextWorks()
    {
        using var client = fixture.CreateClient();

        Assert.Equal("sockets", await client.GetStringAsync("/transport"));
        using var response = await client.GetAsync("/plaintext");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Hello, World!", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheProcessHoldsNoIoUringFds()
    {
        // After a request, so every part of the server that could create a ring has run.
        using var client = fixture.CreateClient();
        Assert.Equal("sockets", await client.GetStringAsync("/transport"));

        var fds = ProcessRings.OpenFds(fixture.Server.Pid);

        Assert.NotEmpty(fds);
        Assert.DoesNotContain(fds, f => f.Target.Contains("io_uring", System.StringComparison.Ordinal));
        Assert.DoesNotContain("on io_uring", fixture.Server.Output, System.StringComparison.Ordinal);
        Assert.Contains(fds, f => f.Target.StartsWith("socket:", System.StringComparison.Ordinal));
    }
}
