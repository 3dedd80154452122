using System.Linq;
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

        // PollAndReceive reads into pipe memory the ring registered with the kernel (READ_FIXED);
        // BufferRing never lets the kernel write into pipe memory.
        long fixedReads = server.Factory!.RingGroup.Rings!.Sum(r => r.FixedBufferReads);
        if (mode == IoUringReceiveMode.PollAndReceive)
        {
            Assert.True(fixedReads > 0, "no read went into registered pipe memory");
        }
        else
        {
            Assert.Equal(0, fixedReads);
        }

        Assert.DoesNotContain(server.Logs.Entries, e => e.EventId.Name == "BufferRingUnavailable");
    }
}
