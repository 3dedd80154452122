using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Http1;

/// <summary>Receives a response body piece by piece.</summary>
internal delegate void BodySink(ReadOnlySpan<byte> data);

/// <summary>How the server ended a connection, as the client saw it.</summary>
internal enum PeerClose
{
    /// <summary>recv returned 0: an orderly FIN.</summary>
    Fin,

    /// <summary>recv failed with ECONNRESET: an RST.</summary>
    Reset,
}

/// <summary>A parsed HTTP/1.1 response (head, and the body once read).</summary>
internal sealed class RawHttpResponse
{
    public RawHttpResponse(int statusCode, Dictionary<string, string> headers)
    {
        StatusCode = statusCode;
        Headers = headers;
    }

    public int StatusCode { get; }

    /// <summary>Header values by case-insensitive name; repeated headers are joined with ", ".</summary>
    public Dictionary<string, string> Headers { get; }

    public byte[] Body { get; set; } = [];

    public string BodyText => Encoding.UTF8.GetString(Body);

    public bool IsChunked => Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true;

    public long? ContentLength => Header("Content-Length") is string value ? long.Parse(value, CultureInfo.InvariantCulture) : null;

    public bool ConnectionClose => Header("Connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) == true;

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>Asserts the response came over an io_uring connection (and, if given, in that receive mode).</summary>
    public void AssertServedOverIoUring(IoUringReceiveMode? receiveMode = null)
    {
        Assert.Equal("io_uring", Header(TestServer.TransportHeader));
        if (receiveMode is not null)
        {
            Assert.Equal(receiveMode.ToString(), Header(Http1App.ReceiveModeHeader));
        }
    }
}

/// <summary>
/// A client connection that writes raw bytes and parses HTTP/1.1 responses itself (Content-Length,
/// chunked, or read-to-close bodies), for tests that need control over the bytes on the wire:
/// pipelining, chunk sizes, half-close, resets. Every receive and send is bounded by
/// <see cref="OperationTimeout"/> so a broken server fails the test instead of hanging it.
/// One task may send while another receives.
/// </summary>
internal sealed class RawHttpConnection : IDisposable
{
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(30);

    private const int MaxHeadBytes = 64 * 1024;

    private readonly Socket _socket;
    private CancellationTokenSource _receiveTimeout = new();
    private CancellationTokenSource _sendTimeout = new();
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(Socket socket)
    {
        _socket = socket;
    }

    public Socket Socket => _socket;

    public static async Task<RawHttpConnection> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = new CancellationTokenSource(OperationTimeout);
            await socket.ConnectAsync(endPoint, timeout.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RawHttpConnection(socket);
    }

    public static string Get(string pathAndQuery, bool close = false)
        => $"GET {pathAndQuery} HTTP/1.1\r\nHost: test\r\n{(close ? "Connection: close\r\n" : "")}\r\n";

    public Task SendAsync(string text) => SendAsync(Encoding.ASCII.GetBytes(text));

    public async Task SendAsync(ReadOnlyMemory<byte> data)
    {
        var token = Restart(ref _sendTimeout);
        try
        {
            while (!data.IsEmpty)
            {
                int sent = await _socket.SendAsync(data, SocketFlags.None, token);
                data = data[sent..];
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            throw new TimeoutException($"The server did not accept bytes for {OperationTimeout.TotalSeconds} s.");
        }
    }

    /// <summary>Reads one whole response (head and body).</summary>
    public async Task<RawHttpResponse> ReadResponseAsync()
    {
        var response = await ReadResponseHeadAsync() ?? throw new EndOfStreamException("The server closed the connection instead of responding.");
        var body = new MemoryStream();
        await ReadBodyAsync(response, data => body.Write(data));
        response.Body = body.ToArray();
        return response;
    }

    /// <summary>Reads a status line and headers; null when the connection ends before any byte of it.</summary>
    public async Task<RawHttpResponse?> ReadResponseHeadAsync()
    {
        string? statusLine = await ReadLineAsync(eofBeforeLineIsNull: true);
        if (statusLine is null)
        {
            return null;
        }

        string[] parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Not an HTTP/1.x status line: '{statusLine}'.");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int headBytes = statusLine.Length;
        while (true)
        {
            string line = (await ReadLineAsync(eofBeforeLineIsNull: false))!;
            if (line.Length == 0)
            {
                break;
            }

            headBytes += line.Length;
            if (headBytes > MaxHeadBytes)
            {
                throw new InvalidDataException("The response head is too large.");
            }

            int colon = line.IndexOf(':');
            if (colon <= 0)
            {
                throw new InvalidDataException($"Malformed header line: '{line}'.");
            }

            string name = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var existing) ? existing + ", " + value : value;
        }

        return new RawHttpResponse(int.Parse(parts[1], CultureInfo.InvariantCulture), headers);
    }

    /// <summary>Reads the body of <paramref name="response"/> into <paramref name="sink"/>.</summary>
    public async Task ReadBodyAsync(RawHttpResponse response, BodySink sink)
    {
        if (response.IsChunked)
        {
            while (true)
            {
                string sizeLine = (await ReadLineAsync(eofBeforeLineIsNull: false))!;
                int semicolon = sizeLine.IndexOf(';');
                long size = long.Parse(semicolon < 0 ? sizeLine : sizeLine[..semicolon], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    // Trailers, then the empty line that ends the message.
                    while ((await ReadLineAsync(eofBeforeLineIsNull: false))!.Length != 0)
                    {
                    }

                    return;
                }

                await ReadExactlyAsync(size, sink);
                if ((await ReadLineAsync(eofBeforeLineIsNull: false))!.Length != 0)
                {
                    throw new InvalidDataException("A chunk is not followed by CRLF.");
                }
            }
        }

        if (response.ContentLength is long length)
        {
            await ReadExactlyAsync(length, sink);
            return;
        }

        if (response.StatusCode is 204 or 304 || response.StatusCode < 200)
        {
            return;
        }

        // No framing: the body runs to the end of the connection.
        var (data, _) = await ReadUntilClosedAsync();
        sink(data);
    }

    /// <summary>
    /// Reads everything until the server ends the connection; returns the bytes (including any
    /// already buffered) and whether it ended with FIN or RST.
    /// </summary>
    public async Task<(byte[] Data, PeerClose Close)> ReadUntilClosedAsync(int maxBytes = 64 * 1024 * 1024)
    {
        var data = new MemoryStream();
        data.Write(_buffer, _start, _end - _start);
        _start = _end = 0;
        while (true)
        {
            int received;
            try
            {
                received = await ReceiveAsync(_buffer);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                return (data.ToArray(), PeerClose.Reset);
            }

            if (received == 0)
            {
                return (data.ToArray(), PeerClose.Fin);
            }

            data.Write(_buffer, 0, received);
            if (data.Length > maxBytes)
            {
                throw new InvalidDataException($"The server sent more than {maxBytes} bytes without closing.");
            }
        }
    }

    /// <summary>Closes with SO_LINGER {on, 0}: the kernel sends RST instead of FIN.</summary>
    public void Reset()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public void Dispose()
    {
        _socket.Dispose();
        _receiveTimeout.Dispose();
        _sendTimeout.Dispose();
    }

    private async Task ReadExactlyAsync(long count, BodySink sink)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync())
            {
                throw new EndOfStreamException($"The connection ended with {count} byte(s) of the body missing.");
            }

            int take = (int)Math.Min(count, _end - _start);
            sink(_buffer.AsSpan(_start, take));
            _start += take;
            count -= take;
        }
    }

    private async Task<string?> ReadLineAsync(bool eofBeforeLineIsNull)
    {
        int searched = 0;
        while (true)
        {
            int index = _buffer.AsSpan(_start + searched, _end - _start - searched).IndexOf("\r\n"u8);
            if (index >= 0)
            {
                int length = searched + index;
                string line = Encoding.ASCII.GetString(_buffer, _start, length);
                _start += length + 2;
                return line;
            }

            searched = Math.Max(0, _end - _start - 1);
            if (searched > MaxHeadBytes)
            {
                throw new InvalidDataException("A line of the response is too long.");
            }

            bool wasEmpty = _start == _end;
            if (!await FillAsync())
            {
                if (wasEmpty && eofBeforeLineIsNull)
                {
                    return null;
                }

                throw new EndOfStreamException("The connection ended in the middle of a response.");
            }
        }
    }

    /// <summary>Receives more bytes into the buffer; false on EOF.</summary>
    private async Task<bool> FillAsync()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            else
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }

        int received = await ReceiveAsync(_buffer.AsMemory(_end));
        _end += received;
        return received > 0;
    }

    private async Task<int> ReceiveAsync(Memory<byte> memory)
    {
        var token = Restart(ref _receiveTimeout);
        try
        {
            return await _socket.ReceiveAsync(memory, SocketFlags.None, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            throw new TimeoutException($"The server sent nothing for {OperationTimeout.TotalSeconds} s.");
        }
    }

    private static CancellationToken Restart(ref CancellationTokenSource timeout)
    {
        if (!timeout.TryReset())
        {
            timeout.Dispose();
            timeout = new CancellationTokenSource();
        }

        timeout.CancelAfter(OperationTimeout);
        return timeout.Token;
    }
}
