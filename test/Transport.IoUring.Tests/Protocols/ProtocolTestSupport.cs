using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Protocols;

/// <summary>Generous bounds for every wait in these tests: they only turn a hang into a failure.</summary>
internal static class Bounds
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    public static CancellationTokenSource Token() => new(Wait);
}

/// <summary>
/// HttpClients for servers the fixture's CreateClient cannot reach (TLS with a test certificate,
/// Unix domain sockets, other hosts): every response must carry the expected X-Transport header.
/// </summary>
internal static class TransportClient
{
    public static HttpClient Create(Uri baseAddress, SocketsHttpHandler handler, string expectedTransport = "io_uring", Version? version = null)
    {
        return new HttpClient(new TransportCheckingHandler(expectedTransport) { InnerHandler = handler })
        {
            BaseAddress = baseAddress,
            Timeout = Bounds.Wait,
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    private sealed class TransportCheckingHandler(string expected) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Assert.True(response.Headers.TryGetValues(TestServer.TransportHeader, out var values), "response has no X-Transport header");
            Assert.Equal(expected, values!.Single());
            return response;
        }
    }
}

/// <summary>Random payloads and their round trips through an echo endpoint, checked by SHA-256.</summary>
internal static class Payload
{
    /// <summary>
    /// POSTs <paramref name="size"/> random bytes to <paramref name="path"/> and checks the echoed body
    /// byte for byte. Over HTTP/2 request and response stream at the same time; HttpClient's HTTP/1.1
    /// reads the response only after the whole body is sent, so there the size must stay well below
    /// what the socket buffers and the server's MaxReadBufferSize hold (use <see cref="RawEchoAsync"/>).
    /// </summary>
    public static async Task EchoAsync(HttpClient client, int size, string path = "/echo", Version? version = null)
    {
        byte[] data = RandomNumberGenerator.GetBytes(size);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new DuplexContent(data) };
        if (version is not null)
        {
            request.Version = version;
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bounds.Wait);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (version is not null)
        {
            Assert.Equal(version, response.Version);
        }

        await using var body = await response.Content.ReadAsStreamAsync();
        var (length, hash) = await HashStreamAsync(body).WaitAsync(Bounds.Wait);
        Assert.Equal(data.Length, length);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), hash);
    }

    /// <summary>
    /// POSTs <paramref name="size"/> random bytes to an echo endpoint over a raw HTTP/1.1 connection
    /// (plain or TLS), writing the body while the response streams back as a real full-duplex peer
    /// does (HttpClient's HTTP/1.1 reads the response only after the whole body is sent, which
    /// deadlocks a large echo once the socket buffers are full). Checks the echo byte for byte and
    /// returns the response.
    /// </summary>
    public static async Task<RawHttpResponse> RawEchoAsync(Stream stream, int size, string path = "/echo")
    {
        byte[] data = RandomNumberGenerator.GetBytes(size);
        using var cts = Bounds.Token();
        byte[] head = Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {size}\r\n\r\n");
        var send = Task.Run(async () =>
        {
            await stream.WriteAsync(head, cts.Token);
            for (int offset = 0; offset < data.Length; offset += 64 * 1024)
            {
                await stream.WriteAsync(data.AsMemory(offset, Math.Min(64 * 1024, data.Length - offset)), cts.Token);
            }

            await stream.FlushAsync(cts.Token);
        });

        var response = await new RawHttpReader(stream).ReadResponseAsync(cts.Token).WaitAsync(Bounds.Wait);
        await send.WaitAsync(Bounds.Wait);
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(data.Length, response.Body.Length);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), Convert.ToHexString(SHA256.HashData(response.Body)));
        return response;
    }

    /// <summary>Reads <paramref name="stream"/> to its end: how many bytes, and their SHA-256 in hex.</summary>
    public static async Task<(long Length, string Hash)> HashStreamAsync(Stream stream)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            total += read;
        }

        return (total, Convert.ToHexString(sha.GetHashAndReset()));
    }
}

/// <summary>
/// A request body HttpClient may send while the response already streams back (its buffered
/// contents, ByteArrayContent and the like, make HTTP/2 wait for the whole body first).
/// </summary>
internal sealed class DuplexContent(byte[] data) : HttpContent
{
    private readonly byte[] _data = data;

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => await SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        for (int offset = 0; offset < _data.Length; offset += 64 * 1024)
        {
            await stream.WriteAsync(_data.AsMemory(offset, Math.Min(64 * 1024, _data.Length - offset)), cancellationToken);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _data.Length;
        return true;
    }
}

/// <summary>One HTTP/1.1 response read off a raw socket.</summary>
internal sealed record RawHttpResponse(int StatusCode, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>
/// Reads Content-Length-framed HTTP/1.1 responses off a raw stream, so tests can pipeline many
/// requests on one connection and read the responses back in order.
/// </summary>
internal sealed class RawHttpReader(Stream stream)
{
    private readonly Stream _stream = stream;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public async Task<RawHttpResponse> ReadResponseAsync(CancellationToken cancellationToken)
    {
        int headerEnd;
        while ((headerEnd = IndexOfHeaderEnd()) < 0)
        {
            await FillAsync(cancellationToken);
        }

        string head = Encoding.ASCII.GetString(_buffer, _start, headerEnd - _start);
        _start = headerEnd + 4;
        string[] lines = head.Split("\r\n");
        string[] status = lines[0].Split(' ', 3);
        Assert.Equal("HTTP/1.1", status[0]);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        Assert.True(headers.TryGetValue("Content-Length", out string? lengthText), $"the response has no Content-Length: {head}");
        int length = int.Parse(lengthText, CultureInfo.InvariantCulture);
        while (_end - _start < length)
        {
            await FillAsync(cancellationToken);
        }

        byte[] body = _buffer.AsSpan(_start, length).ToArray();
        _start += length;
        return new RawHttpResponse(int.Parse(status[1], CultureInfo.InvariantCulture), headers, body);
    }

    private int IndexOfHeaderEnd()
    {
        int index = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
        return index < 0 ? -1 : _start + index;
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        if (read == 0)
        {
            throw new EndOfStreamException("The server closed the connection in the middle of a response.");
        }

        _end += read;
    }
}
