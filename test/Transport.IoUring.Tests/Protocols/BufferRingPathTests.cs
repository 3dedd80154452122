using System;
using System.Globalization;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Transport.IoUring.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

/// <summary>
/// The ways of using the provided-buffer ring, each combination of receive bundles (6.10) and
/// incremental buffer consumption (6.12) switched on and off: every one must carry the integrity
/// workload, a half-close and an exhausted ring intact, and the counters must show that the
/// switched-on paths really ran (and the switched-off ones did not).
/// </summary>
public class BufferRingPathTests(ITestOutputHelper output)
{
    public static TheoryData<bool, bool> Combinations() => new()
    {
        { true, true },
        { true, false },
        { false, true },
        { false, false },
    };

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task TheWorkloadRunsIntactWithBundlesAndIncrementalBuffersOnOrOff(bool bundles, bool incremental)
    {
        RequireKernelSupport(bundles, incremental);
        await using var server = await TestServer.StartAsync(
            IntegrityWorkload.MapEndpoints,
            configureTransport: options =>
            {
                options.ReceiveMode = IoUringReceiveMode.BufferRing;
                options.DisabledFeatures = Disabled(bundles, incremental);
            },
            output: output);
        var rings = server.Factory!.RingGroup.Rings!;
        AssertRingsUse(rings, bundles, incremental);

        await IntegrityWorkload.RunAsync(server, IoUringReceiveMode.BufferRing);
        Assert.Equal(PipelinedBeforeFin, await AnsweredBeforeFinAsync(server));

        long multi = rings.Sum(r => r.MultiBufferCompletions);
        long reuses = rings.Sum(r => r.PartialBufferReuses);
        output.WriteLine($"bundles {bundles}, incremental {incremental}: {multi} completions spanned several buffers, {reuses} continued a partly used buffer");

        // An 8 MiB echo arrives in 64 KiB loopback segments: with bundles a completion takes several
        // 16 KiB buffers. The pipelined requests are small: with incremental consumption the next
        // read continues the buffer the previous one began.
        Assert.Equal(bundles, multi > 0);
        Assert.Equal(incremental, reuses > 0);
    }

    /// <summary>
    /// Two 1 KiB buffers for the ring: every recv finds them lent out again and again (ENOBUFS),
    /// a bundle can take at most both, and an incremental buffer is shared by the uploads of two
    /// connections; every byte still arrives in order.
    /// </summary>
    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task AnExhaustedTinyBufferRingLosesNoBytes(bool bundles, bool incremental)
    {
        RequireKernelSupport(bundles, incremental);
        await using var server = await TestServer.StartAsync(
            IntegrityWorkload.MapEndpoints,
            configureTransport: options =>
            {
                options.RingCount = 1;
                options.ReceiveMode = IoUringReceiveMode.BufferRing;
                options.BufferRingEntries = 2;
                options.BufferRingBufferSize = 1024;
                options.DisabledFeatures = Disabled(bundles, incremental);
            },
            output: output);
        var ring = Assert.Single(server.Factory!.RingGroup.Rings!);
        AssertRingsUse([ring], bundles, incremental);

        var echoes = Enumerable.Range(0, 2).Select(async _ =>
        {
            using var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(server.EndPoint).WaitAsync(Bounds.Wait);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await Payload.RawEchoAsync(stream, 512 * 1024);
        });
        await Task.WhenAll(echoes);

        var counters = ring.ReadCounters();
        output.WriteLine($"ENOBUFS {counters.BufferRingExhaustions}, multi-buffer completions {ring.MultiBufferCompletions}, partial reuses {ring.PartialBufferReuses}");
        Assert.True(counters.BufferRingExhaustions > 0, "the two-buffer ring never ran empty");
        Assert.True(counters.BytesReceived > 2 * 512 * 1024);
        if (!bundles)
        {
            Assert.Equal(0, ring.MultiBufferCompletions);
        }

        if (!incremental)
        {
            Assert.Equal(0, ring.PartialBufferReuses);
        }
    }

    private const int PipelinedBeforeFin = 20;

    // Pipelined GETs, then FIN: every one is answered, then the server closes.
    private static async Task<int> AnsweredBeforeFinAsync(TestServer server)
    {
        using var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = Bounds.Token();
        await socket.ConnectAsync(server.EndPoint, cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var requests = new StringBuilder();
        for (int i = 0; i < PipelinedBeforeFin; i++)
        {
            requests.Append(CultureInfo.InvariantCulture, $"GET /pipelined/{i} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        }

        await socket.SendAsync(Encoding.ASCII.GetBytes(requests.ToString()), SocketFlags.None, cts.Token);
        socket.Shutdown(SocketShutdown.Send);

        var reader = new RawHttpReader(stream);
        int answered = 0;
        for (int i = 0; i < PipelinedBeforeFin; i++)
        {
            var response = await reader.ReadResponseAsync(cts.Token);
            Assert.Equal($"response {i}", Encoding.ASCII.GetString(response.Body));
            answered++;
        }

        // Then the server's FIN: nothing more.
        Assert.Equal(0, await stream.ReadAsync(new byte[1], cts.Token));
        return answered;
    }

    private static RingFeatures Disabled(bool bundles, bool incremental) =>
        (bundles ? RingFeatures.None : RingFeatures.ReceiveBundle) | (incremental ? RingFeatures.None : RingFeatures.IncrementalBuffers);

    private static void AssertRingsUse(Internal.RingThread[] rings, bool bundles, bool incremental)
    {
        Assert.All(rings, r =>
        {
            Assert.Equal(IoUringReceiveMode.BufferRing, r.ReceiveMode);
            Assert.Equal(bundles, (r.Features & RingFeatures.ReceiveBundle) != 0);
            Assert.Equal(incremental, (r.Features & RingFeatures.IncrementalBuffers) != 0);
            Assert.Equal(incremental, r.BufferRing!.Incremental);
        });
    }

    private static void RequireKernelSupport(bool bundles, bool incremental)
    {
        var available = RingCapabilities.Current.Available;
        Assert.True(!bundles || (available & RingFeatures.ReceiveBundle) != 0, $"kernel {RingCapabilities.Current.KernelVersion} offers no receive bundles (6.10)");
        Assert.True(!incremental || (available & RingFeatures.IncrementalBuffers) != 0, $"kernel {RingCapabilities.Current.KernelVersion} offers no incremental buffers (6.12)");
    }
}
