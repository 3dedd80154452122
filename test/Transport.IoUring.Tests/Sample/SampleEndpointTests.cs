using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Sample;

/// <summary>The sample's whole contract, served by a separate sample process on its default transport, io_uring.</summary>
public sealed class SampleEndpointTests(IoUringSampleFixture fixture, ITestOutputHelper output) : IClassFixture<IoUringSampleFixture>
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(90);

    private SampleServerProcess Server => fixture.Server;

    [Fact]
    public async Task PlaintextReturnsHelloWorldAsTextPlain()
    {
        using var client = fixture.CreateClient();

        using var response = await client.GetAsync("/plaintext");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Hello, World!"u8.ToArray(), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task JsonReturnsTheMessageAsApplicationJson()
    {
        using var client = fixture.CreateClient();

        using var response = await client.GetAsync("/json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"message":"Hello, World!"}"""u8.ToArray(), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task TransportEndpointSaysIoUring()
    {
        using var client = fixture.CreateClient();

        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));
    }

    [Fact]
    public async Task EchoStreamsBackA64MiBUploadUnchanged()
    {
        using var cts = new CancellationTokenSource(TestTimeout);

        await RawEcho.AssertEchoesAsync(Server.BaseAddress.Port, 64L * 1024 * 1024, output, cts.Token);
    }

    [Fact]
    public async Task DownloadReturnsTenMillionBytesOfTheModulo251Pattern()
    {
        const long size = 10_000_000;
        using var cts = new CancellationTokenSource(TestTimeout);
        using var client = fixture.CreateClient();

        using var response = await client.GetAsync($"/download?size={size}", HttpCompletionOption.ResponseHeadersRead, cts.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(size, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        Assert.Equal(size, await DownloadPattern.ReadAndVerifyAsync(body, 0, cts.Token));
    }

    [Fact]
    public async Task WebSocketEchoesTextAndBinaryMessagesAndCompletesTheCloseHandshake()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var socket = new ClientWebSocket();
        var uri = new UriBuilder(Server.BaseAddress) { Scheme = "ws", Path = "/ws" }.Uri;
        await socket.ConnectAsync(uri, cts.Token);

        byte[] text = Encoding.UTF8.GetBytes("Hello, WebSocket ✓");
        await socket.SendAsync(text, WebSocketMessageType.Text, endOfMessage: true, cts.Token);
        var (textType, textEcho) = await ReceiveMessageAsync(socket, cts.Token);
        Assert.Equal(WebSocketMessageType.Text, textType);
        Assert.Equal(text, textEcho);

        // Larger than the server's 64 KiB receive buffer, so it comes back in several frames.
        byte[] binary = new byte[200 * 1024 + 7];
        Random.Shared.NextBytes(binary);
        await socket.SendAsync(binary, WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
        var (binaryType, binaryEcho) = await ReceiveMessageAsync(socket, cts.Token);
        Assert.Equal(WebSocketMessageType.Binary, binaryType);
        Assert.Equal(binary, binaryEcho);

        // A message the client sends in fragments keeps its type too.
        await socket.SendAsync(text.AsMemory(0, 5), WebSocketMessageType.Text, endOfMessage: false, cts.Token);
        await socket.SendAsync(text.AsMemory(5), WebSocketMessageType.Text, endOfMessage: true, cts.Token);
        var (fragmentedType, fragmentedEcho) = await ReceiveMessageAsync(socket, cts.Token);
        Assert.Equal(WebSocketMessageType.Text, fragmentedType);
        Assert.Equal(text, fragmentedEcho);

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
        Assert.Equal(WebSocketState.Closed, socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("done", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task TheProcessHoldsIoUringRingsWhoseCompletionCountersGrowWithRequests()
    {
        const int requests = 500;
        int pid = Server.Pid;
        var fds = ProcessRings.IoUringFds(pid);
        Assert.True(fds.Count > 0, $"pid {pid} holds no io_uring fd; its fds: {string.Join(", ", ProcessRings.OpenFds(pid).Select(f => $"{f.Fd} -> {f.Target}"))}");
        foreach (int fd in fds)
        {
            output.WriteLine($"fd {fd}: {string.Join(", ", ProcessRings.FdInfo(pid, fd).Where(kv => kv.Key.StartsWith("Sq", StringComparison.Ordinal) || kv.Key.StartsWith("Cq", StringComparison.Ordinal)).Select(kv => $"{kv.Key}={kv.Value}"))}");
        }

        var cqTailsBefore = fds.ToDictionary(fd => fd, fd => ProcessRings.RingCounter(pid, fd, "CqTail"));
        var sqTailsBefore = fds.ToDictionary(fd => fd, fd => ProcessRings.RingCounter(pid, fd, "SqTail"));

        using var cts = new CancellationTokenSource(TestTimeout);
        using var client = fixture.CreateClient();
        for (int i = 0; i < requests; i++)
        {
            using var response = await client.GetAsync("/plaintext", cts.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Each request costs at least a receive and a send completion; the counters are 32 bits and wrap.
        long completions = fds.Sum(fd => (long)unchecked(ProcessRings.RingCounter(pid, fd, "CqTail") - cqTailsBefore[fd]));
        long submissions = fds.Sum(fd => (long)unchecked(ProcessRings.RingCounter(pid, fd, "SqTail") - sqTailsBefore[fd]));
        output.WriteLine($"{requests} requests: {completions} completions and {submissions} submissions over {fds.Count} ring(s).");
        Assert.True(completions >= requests, $"{requests} requests moved CqTail by only {completions} over {fds.Count} ring fd(s).");
    }

    private static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveMessageAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var message = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (result.MessageType, message.ToArray());
            }
        }
    }
}

/// <summary>
/// POST /echo over a raw HTTP/1.1 connection that uploads and downloads at once. HttpClient sends an
/// HTTP/1.1 request body whole before it reads the response, and the server stops reading when its echo
/// is not read (backpressure), so a large echo needs one task writing while another reads.
/// </summary>
internal static class RawEcho
{
    public static async Task AssertEchoesAsync(int port, long length, ITestOutputHelper output, CancellationToken cancellationToken)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"Echo of {length} bytes, random seed {seed}.");
        byte[] expectedHash = RandomBytes.Sha256(length, seed);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        string head = $"POST /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken);
        var upload = Task.Run(() => RandomBytes.WriteAsync(stream, length, seed, cancellationToken), cancellationToken);

        var response = await RawHttpResponse.ReadHeadAsync(stream, cancellationToken);
        Assert.True(response.StatusCode == 200, $"Status line: {response.StatusLine}");
        Assert.Equal(length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Header("Content-Length"));
        Assert.Equal("application/octet-stream", response.Header("Content-Type"));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(response.BodyStart.Span);
        long received = response.BodyStart.Length;
        byte[] buffer = new byte[64 * 1024];
        while (received < length)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - received)), cancellationToken);
            if (read == 0)
            {
                break;
            }

            hash.AppendData(buffer, 0, read);
            received += read;
        }

        await upload;
        Assert.Equal(length, received);
        Assert.Equal(Convert.ToHexString(expectedHash), Convert.ToHexString(hash.GetHashAndReset()));
    }
}

/// <summary>Seeded random bytes, generated as they are written.</summary>
internal static class RandomBytes
{
    private const int ChunkSize = 64 * 1024;

    /// <summary>The SHA-256 of the bytes <see cref="WriteAsync"/> writes with these arguments.</summary>
    public static byte[] Sha256(long length, int seed)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(seed);
        byte[] buffer = new byte[ChunkSize];
        for (long left = length; left > 0;)
        {
            int n = (int)Math.Min(buffer.Length, left);
            random.NextBytes(buffer.AsSpan(0, n));
            hash.AppendData(buffer, 0, n);
            left -= n;
        }

        return hash.GetHashAndReset();
    }

    public static async Task WriteAsync(Stream stream, long length, int seed, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        byte[] buffer = new byte[ChunkSize];
        for (long left = length; left > 0;)
        {
            int n = (int)Math.Min(buffer.Length, left);
            random.NextBytes(buffer.AsSpan(0, n));
            await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            left -= n;
        }
    }
}

/// <summary>The status line and headers of an HTTP/1.1 response read from a raw connection.</summary>
internal sealed class RawHttpResponse
{
    private readonly string[] _headerLines;

    private RawHttpResponse(string statusLine, string[] headerLines, ReadOnlyMemory<byte> bodyStart)
    {
        StatusLine = statusLine;
        _headerLines = headerLines;
        BodyStart = bodyStart;
    }

    public string StatusLine { get; }

    public int StatusCode => int.Parse(StatusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The body bytes that arrived with the head.</summary>
    public ReadOnlyMemory<byte> BodyStart { get; }

    public string? Header(string name) => _headerLines
        .Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
        .Select(l => l[(name.Length + 1)..].Trim())
        .SingleOrDefault();

    public static async Task<RawHttpResponse> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[64 * 1024];
        int filled = 0;
        while (true)
        {
            int end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                string[] lines = Encoding.ASCII.GetString(buffer, 0, end).Split("\r\n");
                return new RawHttpResponse(lines[0], lines[1..], buffer.AsMemory(end + 4, filled - end - 4));
            }

            if (filled == buffer.Length)
            {
                throw new InvalidDataException("The response head is larger than 64 KiB.");
            }

            int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException($"The connection closed after {filled} bytes of response head: {Encoding.ASCII.GetString(buffer, 0, filled)}");
            }

            filled += read;
        }
    }
}

/// <summary>The /download body: byte i is (byte)(i % 251).</summary>
internal static class DownloadPattern
{
    /// <summary>
    /// Reads <paramref name="body"/> to its end, checking each byte against the pattern from offset
    /// <paramref name="offset"/> on; returns the offset reached.
    /// </summary>
    public static async Task<long> ReadAndVerifyAsync(Stream body, long offset, CancellationToken cancellationToken, long stopAfter = long.MaxValue)
    {
        byte[] buffer = new byte[64 * 1024];
        while (offset < stopAfter)
        {
            int read = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, stopAfter - offset)), cancellationToken);
            if (read == 0)
            {
                break;
            }

            Verify(buffer.AsSpan(0, read), offset);
            offset += read;
        }

        return offset;
    }

    private static void Verify(ReadOnlySpan<byte> data, long offset)
    {
        int expected = (int)(offset % 251);
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] != expected)
            {
                Assert.Fail($"Byte {offset + i} is {data[i]}, expected {expected}.");
            }

            expected = expected == 250 ? 0 : expected + 1;
        }
    }
}
