using System;
using System.Linq;
using System.Threading.Tasks;
using Transport.IoUring.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

/// <summary>
/// Runs the code paths of older kernels on this one by switching features off
/// (IoUringTransportOptions.DisabledFeatures): each must still carry the integrity workload.
/// </summary>
public class OlderKernelPathTests(ITestOutputHelper output)
{
    public static TheoryData<string, IoUringReceiveMode> Cases()
    {
        var data = new TheoryData<string, IoUringReceiveMode>();
        string[] disabled =
        [
            nameof(RingFeatures.MultishotAccept),
            nameof(RingFeatures.MultishotRecv),
            nameof(RingFeatures.MultishotPoll),
            nameof(RingFeatures.ProvidedBufferRing),
            nameof(RingFeatures.DeferTaskrun),
            "SingleIssuer, DeferTaskrun",
            nameof(RingFeatures.CoopTaskrun),
            "DeferTaskrun, CoopTaskrun",
            nameof(RingFeatures.SubmitAll),
            nameof(RingFeatures.RegisteredRingFd),
            nameof(RingFeatures.RegisteredBuffers),
            nameof(RingFeatures.ReceiveBundle),
            nameof(RingFeatures.IncrementalBuffers),
            "ReceiveBundle, IncrementalBuffers",
            nameof(RingFeatures.All),
        ];
        foreach (string features in disabled)
        {
            data.Add(features, IoUringReceiveMode.BufferRing);
            data.Add(features, IoUringReceiveMode.PollAndReceive);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task TheWorkloadRunsIntactWithFeaturesSwitchedOff(string disabledFeatures, IoUringReceiveMode mode)
    {
        var disabled = Enum.Parse<RingFeatures>(disabledFeatures);
        await using var server = await TestServer.StartAsync(
            IntegrityWorkload.MapEndpoints,
            configureTransport: options =>
            {
                options.ReceiveMode = mode;
                options.DisabledFeatures = disabled;
            },
            output: output);

        var rings = server.Factory!.RingGroup.Rings!;
        var ring = rings[0];
        output.WriteLine($"kernel offers: {RingCapabilities.Describe(server.Factory.Capabilities.Available)}; ring uses: {RingCapabilities.Describe(ring.Features)}");
        Assert.All(rings, r => Assert.Equal(RingFeatures.None, r.Features & disabled));
        if (disabled == RingFeatures.All)
        {
            Assert.Equal(RingFeatures.None, ring.Features);
        }

        // Without a provided-buffer ring, BufferRing falls back to PollAndReceive (with a warning per ring).
        bool bufferRingMissing = (ring.Features & RingFeatures.ProvidedBufferRing) == 0;
        var expectedMode = mode == IoUringReceiveMode.BufferRing && bufferRingMissing ? IoUringReceiveMode.PollAndReceive : mode;
        Assert.All(rings, r => Assert.Equal(expectedMode, r.ReceiveMode));
        int fallbackWarnings = server.Logs.Entries.Count(e => e.EventId.Name == "BufferRingUnavailable" && e.Level == Microsoft.Extensions.Logging.LogLevel.Warning);
        Assert.Equal(expectedMode != mode ? rings.Length : 0, fallbackWarnings);
        if ((disabled & RingFeatures.ProvidedBufferRing) != 0 && mode == IoUringReceiveMode.BufferRing)
        {
            Assert.Equal(IoUringReceiveMode.PollAndReceive, ring.ReceiveMode);
        }

        await IntegrityWorkload.RunAsync(server, expectedMode);
        if ((disabled & RingFeatures.RegisteredBuffers) != 0)
        {
            Assert.Equal(0, rings.Sum(r => r.FixedBufferReads));
        }
    }
}
