using System;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

public class IntegrityTests(ITestOutputHelper output)
{
    private const int Size = 32 * 1024 * 1024;
    private const int MaxChunk = 64 * 1024;

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task A32MiBChunkedUploadInRandomSizedChunksIsEchoedBackIntact(IoUringReceiveMode mode)
    {
        byte[] data = TestData.Random(seed: 1, Size);
        await using var server = await TestServer.StartAsync(Http1App.Map, o => o.ReceiveMode = mode, output: output);
        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);

        // The upload runs while the echo is read, as the server echoes before the upload ends.
        var upload = Task.Run(async () =>
        {
            await connection.SendAsync("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            var random = new Random(2);
            byte[] frame = new byte[MaxChunk + 16];
            int offset = 0;
            while (offset < data.Length)
            {
                int size = Math.Min(TestData.NextChunkSize(random, MaxChunk), data.Length - offset);
                int header = Encoding.ASCII.GetBytes($"{size:x}\r\n", frame);
                data.AsSpan(offset, size).CopyTo(frame.AsSpan(header));
                "\r\n"u8.CopyTo(frame.AsSpan(header + size));
                await connection.SendAsync(frame.AsMemory(0, header + size + 2));
                offset += size;
            }

            await connection.SendAsync("0\r\n\r\n");
        });

        var response = await connection.ReadResponseHeadAsync();
        Assert.NotNull(response);
        Assert.Equal(200, response.StatusCode);
        response.AssertServedOverIoUring(mode);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        await connection.ReadBodyAsync(response, chunk =>
        {
            hash.AppendData(chunk);
            received += chunk.Length;
        });
        await upload.WaitAsync(Bounded.Wait);

        Assert.Equal(Size, received);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), Convert.ToHexString(hash.GetHashAndReset()));
    }

    [Fact]
    public async Task A32MiBDownloadWrittenInRandomSizedFlushedWritesArrivesIntactWhenReadInRandomSizedReads()
    {
        byte[] data = TestData.Random(seed: 3, Size);
        await using var server = await TestServer.StartAsync(app => app.MapGet("/random-writes", async (HttpContext context) =>
        {
            context.Response.ContentLength = data.Length;
            var random = new Random(4);
            int offset = 0;
            while (offset < data.Length)
            {
                int size = Math.Min(TestData.NextChunkSize(random, MaxChunk), data.Length - offset);
                await context.Response.Body.WriteAsync(data.AsMemory(offset, size), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                offset += size;
            }
        }), output: output);
        using var client = server.CreateClient();

        using var response = await client.GetAsync("/random-writes", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var timeout = new CancellationTokenSource(Bounded.Wait * 2);
        var random = new Random(5);
        byte[] buffer = new byte[MaxChunk];
        long received = 0;
        int read;
        while ((read = await body.ReadAsync(buffer.AsMemory(0, TestData.NextChunkSize(random, MaxChunk)), timeout.Token)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            received += read;
            Assert.True(received <= Size, "more bytes than were sent");
        }

        Assert.Equal(Size, received);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), Convert.ToHexString(hash.GetHashAndReset()));
        Assert.Equal(1, server.IoUringAcceptedConnections);
    }
}
