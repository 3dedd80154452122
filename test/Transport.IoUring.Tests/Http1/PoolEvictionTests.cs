using System;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;
using Transport.IoUring.Internal;
using Transport.IoUring.Tests.Observability;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

public class PoolEvictionTests(ITestOutputHelper output)
{
    private const int Uploads = 8;
    private const int UploadSize = 256 * 1024;

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task PipeMemoryHeldDuringABurstIsReleasedOnceAPeriodPassesWithoutNeedingIt(IoUringReceiveMode mode)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartHoldingServerAsync(mode, gate.Task);
        try
        {
            using var metrics = new TransportMeterListener(server.App.Services.GetRequiredService<IMeterFactory>());
            var ring = server.Factory!.RingGroup.Rings!.Single();
            var eviction = server.Factory.RingGroup.Eviction!;

            // A burst: uploads the application does not read yet sit in the input pipes.
            using var client = server.CreateClient();
            var uploads = Enumerable.Range(0, Uploads).Select(i => UploadAsync(client, i)).ToArray();
            await WaitUntilAsync(() => ring.MemoryPool.RentedBlocks >= Uploads * UploadSize / PinnedBlockMemoryPool.BlockSize * 3 / 4,
                () => $"the uploads never filled the pipes: {ring.MemoryPool.RentedBlocks} blocks rented");
            long registeredAtPeak = ring.RegisteredSlabs?.RegisteredCount ?? 0;
            int kernelSlotsAtPeak = KernelRegisteredSlots(ring);
            gate.TrySetResult();
            Assert.All(await Task.WhenAll(uploads), ok => Assert.True(ok, "an upload did not come back intact"));
            await WaitUntilAsync(() => ring.MemoryPool.RentedBlocks == 0, () => $"{ring.MemoryPool.RentedBlocks} blocks still rented after the burst");

            long peakBytes = ring.MemoryPool.AllocatedBytes;
            var afterBurst = metrics.Collect();
            Assert.Equal(peakBytes, afterBurst.Sum("io_uring.memory_pool.pooled"));
            Assert.Equal(peakBytes, afterBurst.Sum("io_uring.memory_pool.allocated"));
            Assert.True(afterBurst.Sum("io_uring.memory_pool.rented") >= Uploads * UploadSize, "rented counts less than the uploads held");
            Assert.Equal(0, afterBurst.Sum("io_uring.memory_pool.evicted"));

            // The period that saw the burst keeps what it needed; a quiet one lets it all go.
            await eviction.EvictOnceAsync();
            Assert.Equal(peakBytes, ring.MemoryPool.AllocatedBytes);
            long released = await eviction.EvictOnceAsync();
            Assert.Equal(peakBytes, released);
            Assert.Equal(0, ring.MemoryPool.AllocatedBytes);
            var afterEviction = metrics.Collect();
            Assert.Equal(0, afterEviction.Sum("io_uring.memory_pool.pooled"));
            Assert.Equal(peakBytes, afterEviction.Sum("io_uring.memory_pool.evicted"));
            Assert.Contains(server.Logs.Entries, e => e.EventId.Name == "PoolEvicted");

            if (mode == IoUringReceiveMode.PollAndReceive)
            {
                // Each evicted slab's kernel slot was emptied on the ring thread before its index could serve a new slab.
                Assert.True(registeredAtPeak > 0, "no slab was registered during the burst");
                Assert.Equal(registeredAtPeak, kernelSlotsAtPeak);
                Assert.Equal(0, KernelRegisteredSlots(ring));
                Assert.Equal(0, ring.RegisteredSlabs!.RegisteredCount);
                Assert.All(Enumerable.Range(0, 64), i => Assert.Equal(RegisteredSlabs.SlabState.NotTried, ring.RegisteredSlabs.StateOf(i)));
            }

            // The reused indexes serve new slabs: traffic still flows, registered again in PollAndReceive.
            long fixedReadsBefore = ring.FixedBufferReads;
            Assert.True(await UploadAsync(client, 99), "an upload after the eviction did not come back intact");
            Assert.True(ring.MemoryPool.AllocatedBytes > 0);
            if (mode == IoUringReceiveMode.PollAndReceive)
            {
                Assert.True(ring.FixedBufferReads > fixedReadsBefore, "reads after the eviction no longer used registered memory");
                Assert.True(ring.RegisteredSlabs!.RegisteredCount > 0);
                Assert.Equal(ring.RegisteredSlabs.RegisteredCount, KernelRegisteredSlots(ring));
            }
        }
        finally
        {
            // A failure above must not leave the held requests waiting: their pipes would keep
            // their blocks, and the leak check at dispose would hide the failure itself.
            gate.TrySetResult();
        }
    }

    private async Task<TestServer> StartHoldingServerAsync(IoUringReceiveMode mode, Task gate)
    {
        return await TestServer.StartAsync(app =>
        {
            app.MapPost("/hold", async (HttpContext context) =>
            {
                // The body waits in the input pipe (rented pool blocks) until the gate opens.
                context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
                await gate;
                context.Response.ContentLength = context.Request.ContentLength;
                await context.Request.BodyReader.CopyToAsync(context.Response.BodyWriter, context.RequestAborted);
            });
        }, options =>
        {
            options.RingCount = 1;
            options.ReceiveMode = mode;
            options.MemoryPoolEvictionPeriod = Timeout.InfiniteTimeSpan;
        }, output: output);
    }

    private static async Task<bool> UploadAsync(HttpClient client, int seed)
    {
        byte[] body = new byte[UploadSize];
        new Random(seed).NextBytes(body);
        using var response = await client.PostAsync("/hold", new ByteArrayContent(body));
        response.EnsureSuccessStatusCode();
        byte[] echoed = await response.Content.ReadAsByteArrayAsync();
        return body.AsSpan().SequenceEqual(echoed);
    }

    /// <summary>
    /// Slots of the ring's registered-buffer table that name a buffer, as the kernel reports them
    /// (/proc/self/fdinfo of the ring fd lists each slot: "  3: 0x7f…/131072", or "  3: &lt;none&gt;").
    /// </summary>
    private static int KernelRegisteredSlots(RingThread ring)
    {
        var lines = System.IO.File.ReadAllLines($"/proc/self/fdinfo/{ring.RingFd}");
        int table = Array.FindIndex(lines, l => l.StartsWith("UserBufs:", StringComparison.Ordinal));
        Assert.True(table >= 0, "the ring's fdinfo lists no registered-buffer table");
        int slots = int.Parse(lines[table]["UserBufs:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return lines.Skip(table + 1).Take(slots).Count(l => !l.Contains("<none>", StringComparison.Ordinal));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure());
            await Task.Delay(20);
        }
    }
}
