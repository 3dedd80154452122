using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>The sample with one h2c endpoint (HTTP/2 only, prior knowledge), on io_uring: what gRPC runs on in the grpc-unary benchmark.</summary>
public sealed class H2cSampleFixture : SampleServerFixture
{
    /// <summary>An HTTP/2 client with prior knowledge, as gRPC clients speak to an h2c endpoint.</summary>
    public HttpClient CreateH2cClient() => new(new SocketsHttpHandler())
    {
        BaseAddress = Server.BaseAddress,
        Timeout = TimeSpan.FromSeconds(60),
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    /// <summary>A POST of one gRPC message frame over HTTP/2, with gRPC's headers.</summary>
    public static HttpRequestMessage GrpcRequest(string path, byte[] frame)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            // A request made by hand takes the client's default version only if told to.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        return request;
    }

    protected override SampleServerOptions CreateOptions() => new()
    {
        Urls = null,
        Environment = new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__h2c__Url"] = "http://127.0.0.1:0",
            ["Kestrel__Endpoints__h2c__Protocols"] = "Http2",
        },
    };
}

/// <summary>The endpoints the benchmark harness's production-traffic scenarios load: the upload sink and the gRPC echo.</summary>
public sealed class SampleUploadSinkTests(IoUringSampleFixture fixture) : IClassFixture<IoUringSampleFixture>
{
    [Fact]
    public async Task UploadSinkReadsA16MiBBodyAndAnswersWithItsLengthOnIoUring()
    {
        const int length = 16 * 1024 * 1024 + 7;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var client = fixture.CreateClient();
        Assert.Equal("io_uring", await client.GetStringAsync("/transport", cts.Token));
        byte[] body = new byte[length];
        Random.Shared.NextBytes(body);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await client.PostAsync("/upload", content, cts.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(length.ToString(CultureInfo.InvariantCulture), await response.Content.ReadAsStringAsync(cts.Token));
    }

    [Fact]
    public async Task UploadSinkCountsAChunkedBodyOfUnknownLength()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var client = fixture.CreateClient();
        byte[] part = new byte[100_000];
        using var content = new PushStreamContentOfParts(part, parts: 30);

        using var response = await client.PostAsync("/upload", content, cts.Token);

        Assert.Null(content.Headers.ContentLength);
        Assert.Equal("3000000", await response.Content.ReadAsStringAsync(cts.Token));
    }

    /// <summary>A body sent with chunked transfer encoding: no Content-Length, so the sink must read to the end.</summary>
    private sealed class PushStreamContentOfParts(byte[] part, int parts) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(System.IO.Stream stream, TransportContext? context)
        {
            for (int i = 0; i < parts; i++)
            {
                await stream.WriteAsync(part);
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

public sealed class SampleGrpcEchoTests(H2cSampleFixture fixture) : IClassFixture<H2cSampleFixture>
{
    [Fact]
    public async Task GrpcEchoReturnsThePayloadItWasSentWithGrpcStatusZeroOnIoUring()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var client = fixture.CreateH2cClient();
        Assert.Equal("io_uring", await client.GetStringAsync("/transport", cts.Token));
        byte[] payload = new byte[100];
        Random.Shared.NextBytes(payload);

        // The gRPC wire format by hand: a 5-byte prefix (not compressed, big-endian length) around
        // the protobuf EchoMessage { bytes payload = 1; } (tag 0x0A, one-byte varint length).
        byte[] message = [0x0A, (byte)payload.Length, .. payload];
        byte[] frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        using var request = H2cSampleFixture.GrpcRequest("/benchmarks.Echo/Say", frame);

        using var response = await client.SendAsync(request, cts.Token);
        byte[] reply = await response.Content.ReadAsByteArrayAsync(cts.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
        Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(reply));
    }

    [Fact]
    public async Task AnUnknownGrpcMethodFailsWithUnimplementedInTheTrailers()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var client = fixture.CreateH2cClient();
        using var request = H2cSampleFixture.GrpcRequest("/benchmarks.Echo/Missing", [0, 0, 0, 0, 0]);

        using var response = await client.SendAsync(request, cts.Token);
        await response.Content.ReadAsByteArrayAsync(cts.Token);

        // 12 = UNIMPLEMENTED; the harness's probe relies on a failed call showing in grpc-status.
        string status = response.TrailingHeaders.TryGetValues("grpc-status", out var trailer) ? trailer.Single() : response.Headers.GetValues("grpc-status").Single();
        Assert.Equal("12", status);
    }
}
