using System;
using System.Globalization;
using System.IO;
using System.IO.Pipelines;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

public class BackpressureTests(ITestOutputHelper output)
{
    private const int Size = 16 * 1024 * 1024;
    private const int PauseEventId = 23;   // IoUringLog.ConnectionPause
    private const int ResumeEventId = 24;  // IoUringLog.ConnectionResume

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task A16MiBUploadReadSlowlyByTheServerArrivesIntactThroughReceivePauses(IoUringReceiveMode mode)
    {
        byte[] data = TestData.Random(seed: 6, Size);
        TestServer? started = null;
        await using var server = await TestServer.StartAsync(app => app.MapPost("/slow-read", async (HttpContext context) =>
        {
            // Nothing is read until the transport has paused receiving: MaxReadBufferSize (1 MiB)
            // of body is buffered and the flush into the input pipe waits.
            string id = context.Connection.Id;
            bool paused = await Bounded.PollAsync(() => HasEvent(started!, PauseEventId, id));

            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = new byte[16 * 1024];
            long total = 0;
            int reads = 0;
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                total += read;
                if (++reads % 4 == 0)
                {
                    await Task.Delay(1, context.RequestAborted);
                }
            }

            string mode = context.Features.Get<IIoUringConnectionFeature>()?.ReceiveMode.ToString() ?? "sockets";
            await context.Response.WriteAsync($"{paused} {total} {Convert.ToHexString(hash.GetHashAndReset())} {mode}");
        }), o => o.ReceiveMode = mode, output: output);
        started = server;
        using var client = server.CreateClient();

        using var response = await client.PostAsync("/slow-read", new RandomChunkContent(data, seed: 7, maxChunk: 64 * 1024));
        string[] result = (await response.Content.ReadAsStringAsync()).Split(' ');

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mode.ToString(), result[3]);
        Assert.Equal("True", result[0]); // the transport paused receiving before the server read
        Assert.Equal(Size.ToString(CultureInfo.InvariantCulture), result[1]);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), result[2]);
        Assert.Contains(server.Logs.Entries, e => e.EventId.Id == ResumeEventId);
    }

    [Fact]
    public async Task A16MiBDownloadReadSlowlyByTheClientArrivesIntactThroughSendBackpressure()
    {
        var serverWaitedOnFlush = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serverDone = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app => app.MapGet("/fast-write", async (HttpContext context) =>
        {
            context.Response.ContentLength = Size;
            PipeWriter writer = context.Response.BodyWriter;
            long offset = 0;
            long waitedFlushes = 0;
            while (offset < Size)
            {
                int count = (int)Math.Min(64 * 1024, Size - offset);
                Memory<byte> memory = writer.GetMemory(count)[..count];
                TestData.FillPattern(memory.Span, offset);
                writer.Advance(count);
                offset += count;
                ValueTask<FlushResult> flush = writer.FlushAsync(context.RequestAborted);
                if (!flush.IsCompleted)
                {
                    // MaxWriteBufferSize (64 KiB) is buffered and the socket takes no more.
                    waitedFlushes++;
                    serverWaitedOnFlush.TrySetResult();
                }

                await flush;
            }

            serverDone.TrySetResult(waitedFlushes);
        }), output: output);
        using var client = server.CreateClient();

        using var response = await client.GetAsync("/fast-write", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();

        // The client reads nothing until the server's writes have backed up.
        await serverWaitedOnFlush.Task.WaitAsync(Bounded.Wait);

        using var timeout = new CancellationTokenSource(Bounded.Wait * 2);
        byte[] buffer = new byte[16 * 1024];
        long received = 0;
        int reads = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, timeout.Token)) > 0)
        {
            Assert.Equal(-1, TestData.FindPatternMismatch(buffer.AsSpan(0, read), received));
            received += read;
            Assert.True(received <= Size, "more bytes than were sent");
            if (++reads % 2 == 0)
            {
                await Task.Delay(1, timeout.Token);
            }
        }

        Assert.Equal(Size, received);
        Assert.True(await serverDone.Task.WaitAsync(Bounded.Wait) > 0);
        Assert.Equal(1, server.IoUringAcceptedConnections);
    }

    private static bool HasEvent(TestServer server, int eventId, string connectionId)
        => server.Logs.Entries.Any(e => e.EventId.Id == eventId && e.Message.Contains(connectionId, StringComparison.Ordinal));

    /// <summary>A known-length body written to the connection in writes of random sizes.</summary>
    private sealed class RandomChunkContent(byte[] data, int seed, int maxChunk) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var random = new Random(seed);
            int offset = 0;
            while (offset < data.Length)
            {
                int size = Math.Min(TestData.NextChunkSize(random, maxChunk), data.Length - offset);
                await stream.WriteAsync(data.AsMemory(offset, size));
                offset += size;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = data.Length;
            return true;
        }
    }
}
