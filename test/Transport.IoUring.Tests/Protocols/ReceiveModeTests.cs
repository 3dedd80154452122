using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

public class ReceiveModeTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task EachReceiveModeCarriesAnEchoAndPipelinedRequestsIntact(IoUringReceiveMode mode)
    {
        await using var server = await TestServer.StartAsync(
            IntegrityWorkload.MapEndpoints,
            configureTransport: options => options.ReceiveMode = mode,
            output: output);

        Assert.All(server.Factory!.RingGroup.Rings!, ring => Assert.Equal(mode, ring.ReceiveMode));

        await IntegrityWorkload.RunAsync(server, expectedReceiveMode: mode);

        Assert.DoesNotContain(server.Logs.Entries, e => e.EventId.Name == "BufferRingUnavailable");
    }
}
