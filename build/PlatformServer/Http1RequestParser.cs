using System;
using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace PlatformServer;

/// <summary>What a request asks for.</summary>
internal enum PlatformEndpoint
{
    NotFound,
    Plaintext,
    Json,

    /// <summary>Which transport accepted the connection; the harness checks it before measuring.</summary>
    Transport,
}

/// <summary>The outcome of one parse attempt.</summary>
internal enum ParseStatus
{
    /// <summary>A whole request (head and body) was read and consumed.</summary>
    Complete,

    /// <summary>The buffer ends inside a request: nothing was consumed, read more.</summary>
    Incomplete,

    /// <summary>Not HTTP/1.x this server accepts (or too large): answer 400 and close.</summary>
    Invalid,
}

/// <summary>One parsed request: what to answer and whether the connection stays open after it.</summary>
internal readonly record struct PlatformRequest(PlatformEndpoint Endpoint, bool KeepAlive);

/// <summary>
/// A minimal HTTP/1.x request parser for the platform server, written to TechEmpower's test
/// requirements (GET /plaintext and /json, keep-alive, pipelined requests): request line, header
/// lines up to the empty line, and a Content-Length body, which is skipped. Only the headers that
/// change the answer are looked at (Connection, Content-Length); Transfer-Encoding is refused, as
/// none of the benchmark clients sends a chunked body.
/// </summary>
internal static class Http1RequestParser
{
    /// <summary>A request head longer than this (without its end) is refused.</summary>
    public const int MaxHeadBytes = 8 * 1024;

    /// <summary>A request body longer than this is refused: the server answers nothing that needs one.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    /// <summary>
    /// Parses the request at <paramref name="reader"/>'s position. Only on <see cref="ParseStatus.Complete"/>
    /// does the reader move, past the whole request, so pipelined requests are read one per call.
    /// </summary>
    public static ParseStatus TryParse(ref SequenceReader<byte> reader, out PlatformRequest request)
    {
        request = default;
        var r = reader;
        var status = TryReadLine(ref r, out var requestLine);
        if (status != ParseStatus.Complete)
        {
            return Unfinished(status, reader);
        }

        if (!TryParseRequestLine(requestLine, out var endpoint, out bool http11))
        {
            return ParseStatus.Invalid;
        }

        bool keepAlive = http11;
        long contentLength = 0;
        while (true)
        {
            status = TryReadLine(ref r, out var line);
            if (status != ParseStatus.Complete)
            {
                return Unfinished(status, reader);
            }

            if (line.IsEmpty)
            {
                break;
            }

            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return ParseStatus.Invalid;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ').Trim((byte)'\t');
            if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                keepAlive = ConnectionKeepsAlive(value, keepAlive);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out contentLength, out int used) || used != value.Length || contentLength < 0 || contentLength > MaxBodyBytes)
                {
                    return ParseStatus.Invalid;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                return ParseStatus.Invalid;
            }
        }

        if (r.Remaining < contentLength)
        {
            return ParseStatus.Incomplete;
        }

        r.Advance(contentLength);
        reader = r;
        request = new PlatformRequest(endpoint, keepAlive);
        return ParseStatus.Complete;
    }

    /// <summary>Incomplete stays incomplete only while the unfinished head is within its limit.</summary>
    private static ParseStatus Unfinished(ParseStatus status, in SequenceReader<byte> start)
        => status == ParseStatus.Incomplete && start.Remaining > MaxHeadBytes ? ParseStatus.Invalid : status;

    /// <summary>One line without its CRLF; a bare LF is refused.</summary>
    private static ParseStatus TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySpan<byte> line)
    {
        if (!reader.TryReadTo(out line, (byte)'\n'))
        {
            return ParseStatus.Incomplete;
        }

        if (line.IsEmpty || line[^1] != (byte)'\r')
        {
            return ParseStatus.Invalid;
        }

        line = line[..^1];
        return ParseStatus.Complete;
    }

    /// <summary>"METHOD SP target SP HTTP/1.x": the endpoint a GET names (query ignored), and the version.</summary>
    private static bool TryParseRequestLine(ReadOnlySpan<byte> line, out PlatformEndpoint endpoint, out bool http11)
    {
        endpoint = PlatformEndpoint.NotFound;
        http11 = false;
        int firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0)
        {
            return false;
        }

        var method = line[..firstSpace];
        var rest = line[(firstSpace + 1)..];
        int secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            return false;
        }

        var target = rest[..secondSpace];
        var version = rest[(secondSpace + 1)..];
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            http11 = true;
        }
        else if (!version.SequenceEqual("HTTP/1.0"u8))
        {
            return false;
        }

        if (target[0] != (byte)'/')
        {
            return false;
        }

        int query = target.IndexOf((byte)'?');
        var path = query < 0 ? target : target[..query];
        if (method.SequenceEqual("GET"u8))
        {
            endpoint = path.SequenceEqual("/plaintext"u8) ? PlatformEndpoint.Plaintext
                : path.SequenceEqual("/json"u8) ? PlatformEndpoint.Json
                : path.SequenceEqual("/transport"u8) ? PlatformEndpoint.Transport
                : PlatformEndpoint.NotFound;
        }

        return true;
    }

    /// <summary>The Connection header's tokens: "close" ends the connection, "keep-alive" keeps an HTTP/1.0 one.</summary>
    private static bool ConnectionKeepsAlive(ReadOnlySpan<byte> value, bool current)
    {
        foreach (var range in value.Split((byte)','))
        {
            var token = value[range].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(token, "close"u8))
            {
                return false;
            }

            if (Ascii.EqualsIgnoreCase(token, "keep-alive"u8))
            {
                current = true;
            }
        }

        return current;
    }
}
