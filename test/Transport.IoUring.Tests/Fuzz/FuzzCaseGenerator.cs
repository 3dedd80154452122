using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>
/// Generates HTTP/1.1 client traffic for the sample server (samples/WebApp): valid pipelined
/// requests to its endpoints, malformed request lines and headers, oversized heads and bodies,
/// chunked bodies (valid and broken), random byte mutations, half-closes and resets, every case
/// split at random points with small delays. Case <c>i</c> of seed <c>s</c> depends on (s, i)
/// alone, so one case can be replayed without the ones before it.
/// </summary>
/// <remarks>
/// The servers run with Kestrel:Limits:MaxRequestBodySize = <see cref="MaxRequestBodySize"/>, so
/// an oversized body costs kilobytes, not Kestrel's default 30 MB; /echo lifts the limit itself.
/// Every case that ends with <see cref="FuzzEnding.ServerCloses"/> ends in a request that asks the
/// server to close (Connection: close or HTTP/1.0), so the client never waits on a timer.
/// </remarks>
internal static class FuzzCaseGenerator
{
    public const int MaxRequestBodySize = 64 * 1024;

    private const string TokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
    private const string TextChars = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,.;:-_/()";

    /// <summary>How a request asks about the connection after it.</summary>
    private enum After
    {
        KeepAlive,
        Close,
        Http10,
    }

    /// <summary>A request's bytes, and whether the server leaves part of them unread (a body the app ignores, sent with Connection: close).</summary>
    private readonly record struct Request(byte[] Bytes, bool MayLeaveBytesUnread);

    public static FuzzCase Generate(int seed, int index)
    {
        var random = new Random(CaseSeed(seed, index));
        int roll = random.Next(100);
        (string kind, List<byte[]> parts, FuzzEnding ending, FuzzComparison comparison) = roll switch
        {
            < 22 => ValidBatch(random),
            < 31 => WithMalformed(random, "malformed-request-line", MalformedRequestLine(random)),
            < 41 => WithMalformed(random, "malformed-header", MalformedHeader(random)),
            < 47 => WithMalformed(random, "oversized-head", OversizedHead(random)),
            < 53 => OversizedBody(random),
            < 61 => ValidChunked(random),
            < 67 => WithMalformed(random, "broken-chunked-body", BrokenChunkedRequest(random)),
            < 77 => Mutated(random),
            < 89 => HalfClosed(random),
            _ => Reset(random),
        };

        byte[] all = parts.SelectMany(p => p).ToArray();
        int endingDelay = ending == FuzzEnding.ServerCloses ? 0 : Delay(random);
        return new FuzzCase(seed, index, kind, Split(random, all), ending, endingDelay, comparison);
    }

    /// <summary>SplitMix64 of (seed, index): neighbouring seeds and indices give unrelated cases.</summary>
    public static int CaseSeed(int seed, int index)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    // 1–5 valid requests, pipelined; the last one asks the server to close.
    private static (string, List<byte[]>, FuzzEnding, FuzzComparison) ValidBatch(Random random)
    {
        var parts = new List<byte[]>();
        int count = random.Next(100) switch { < 40 => 1, < 65 => 2, < 85 => 3, _ => random.Next(4, 9) };
        bool unread = false;
        for (int i = 0; i < count; i++)
        {
            var request = ValidRequest(random, i == count - 1 ? (random.Next(4) == 0 ? After.Http10 : After.Close) : After.KeepAlive);
            parts.Add(request.Bytes);
            unread = request.MayLeaveBytesUnread && i == count - 1;
        }

        return ("valid", parts, FuzzEnding.ServerCloses, unread ? FuzzComparison.ExactUnlessCut : FuzzComparison.Exact);
    }

    // 0–2 valid requests, the bad one, then 1–2 valid ones (the last asks to close): what Kestrel
    // rejects ends the connection; what it accepts after all is served and closed.
    private static (string, List<byte[]>, FuzzEnding, FuzzComparison) WithMalformed(Random random, string kind, byte[] bad)
    {
        var parts = new List<byte[]>();
        int before = random.Next(3);
        for (int i = 0; i < before; i++)
        {
            parts.Add(ValidRequest(random, After.KeepAlive).Bytes);
        }

        parts.Add(bad);
        int after = random.Next(1, 3);
        for (int i = 0; i < after; i++)
        {
            parts.Add(ValidRequest(random, i == after - 1 ? After.Close : After.KeepAlive).Bytes);
        }

        return (kind, parts, FuzzEnding.ServerCloses, FuzzComparison.ExactUnlessCut);
    }

    private static (string, List<byte[]>, FuzzEnding, FuzzComparison) OversizedBody(Random random)
    {
        var parts = new List<byte[]>();
        if (random.Next(2) == 0)
        {
            parts.Add(ValidRequest(random, After.KeepAlive).Bytes);
        }

        int length = random.Next(MaxRequestBodySize + 1, 4 * MaxRequestBodySize);
        switch (random.Next(3))
        {
            case 0:
                // /echo lifts the limit: a large body echoed back whole.
                parts.Add(Ascii($"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n").Concat(Body(random, length)).ToArray());
                return ("oversized-body-echo", parts, FuzzEnding.ServerCloses, FuzzComparison.Exact);
            case 1:
                // Declared over the limit, sent whole, to an endpoint that never reads it.
                parts.Add(Ascii($"POST /plaintext HTTP/1.1\r\nHost: test\r\nContent-Length: {length}\r\n\r\n").Concat(Body(random, length)).ToArray());
                break;
            default:
                // Chunked, over the limit only once the chunks add up.
                parts.Add(Ascii("POST /missing HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n").Concat(ChunkedBody(random, Body(random, length), trailer: false)).ToArray());
                break;
        }

        parts.Add(ValidRequest(random, After.Close).Bytes);
        return ("oversized-body", parts, FuzzEnding.ServerCloses, FuzzComparison.ExactUnlessCut);
    }

    private static (string, List<byte[]>, FuzzEnding, FuzzComparison) ValidChunked(Random random)
    {
        var parts = new List<byte[]>();
        int count = random.Next(1, 4);
        for (int i = 0; i < count; i++)
        {
            After after = i == count - 1 ? After.Close : After.KeepAlive;
            parts.Add(i == count - 1 || random.Next(2) == 0 ? ChunkedEcho(random, after) : ValidRequest(random, after).Bytes);
        }

        return ("chunked", parts, FuzzEnding.ServerCloses, FuzzComparison.Exact);
    }

    // A valid batch with 1–4 bytes replaced, inserted, deleted or a range repeated.
    private static (string, List<byte[]>, FuzzEnding, FuzzComparison) Mutated(Random random)
    {
        var (_, parts, _, _) = ValidBatch(random);
        var bytes = parts.SelectMany(p => p).ToList();
        int mutations = random.Next(1, 5);
        for (int m = 0; m < mutations && bytes.Count > 0; m++)
        {
            // Mostly in the heads, where the parser is.
            int position = random.Next(Math.Min(bytes.Count, random.Next(2) == 0 ? 200 : bytes.Count));
            switch (random.Next(4))
            {
                case 0:
                    bytes[position] = InterestingByte(random);
                    break;
                case 1:
                    bytes.Insert(position, InterestingByte(random));
                    break;
                case 2:
                    bytes.RemoveAt(position);
                    break;
                default:
                    int length = Math.Min(random.Next(1, 16), bytes.Count - position);
                    bytes.InsertRange(position, bytes.GetRange(position, length));
                    break;
            }
        }

        // A mutation often breaks the batch's own Connection: close; an intact request asking to close
        // follows, so the server closes unless the mutated bytes left it waiting for a body.
        return ("mutated", [bytes.ToArray(), Ascii("GET /plaintext HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")], FuzzEnding.ServerCloses, FuzzComparison.ExactUnlessCut);
    }

    // 1–3 keep-alive requests, the last possibly cut short, then a FIN.
    private static (string, List<byte[]>, FuzzEnding, FuzzComparison) HalfClosed(Random random)
    {
        var parts = KeepAliveRequests(random, out bool truncated);
        return (truncated ? "half-close-mid-request" : "half-close", parts, FuzzEnding.HalfClose, FuzzComparison.Prefix);
    }

    private static (string, List<byte[]>, FuzzEnding, FuzzComparison) Reset(Random random)
    {
        var parts = KeepAliveRequests(random, out bool truncated);
        return (truncated ? "reset-mid-request" : "reset", parts, FuzzEnding.Reset, FuzzComparison.ProbeOnly);
    }

    private static List<byte[]> KeepAliveRequests(Random random, out bool truncated)
    {
        var parts = new List<byte[]>();
        int count = random.Next(1, 4);
        for (int i = 0; i < count; i++)
        {
            parts.Add(random.Next(4) == 0 ? ChunkedEcho(random, After.KeepAlive) : ValidRequest(random, After.KeepAlive).Bytes);
        }

        truncated = random.Next(3) == 0;
        if (truncated)
        {
            byte[] last = parts[^1];
            parts[^1] = last[..random.Next(1, last.Length)];
        }

        return parts;
    }

    private static Request ValidRequest(Random random, After after)
    {
        string version = after == After.Http10 ? "HTTP/1.0" : "HTTP/1.1";
        var headers = new List<string>();
        byte[] body = [];
        string method = "GET";
        string target;
        bool unread = false;
        switch (random.Next(12))
        {
            case 0: target = "/plaintext"; break;
            case 1: target = "/json"; break;
            case 2:
                target = "/download?size=" + random.Next(4) switch
                {
                    0 => 0,
                    1 => random.Next(1, 100),
                    2 => random.Next(100, 20_000),
                    _ => random.Next(20_000, 300_000),
                };
                break;
            case 3: target = random.Next(2) == 0 ? "/download?size=-" + random.Next(1, 9) : "/download?size=" + Token(random, 1, 6); break;
            case 4: target = "/missing/" + Token(random, 0, 12); break;
            case 5:
                method = random.Next(2) == 0 ? "DELETE" : "PUT";
                target = "/echo";
                break;
            case 6: method = "HEAD"; target = "/plaintext"; break;
            case 7: target = "http://test/json"; break;
            case 8:
                // The app does not read it; Kestrel drains it before the next request.
                method = "POST";
                target = "/plaintext";
                body = Body(random, random.Next(0, 2048));
                headers.Add($"Content-Length: {body.Length}");
                unread = true;
                break;
            default:
                method = "POST";
                target = "/echo";
                body = Body(random, random.Next(10) == 0 ? random.Next(16 * 1024, 256 * 1024) : random.Next(0, 4096));
                headers.Add(Header(random, "Content-Length", body.Length.ToString(CultureInfo.InvariantCulture)));
                if (random.Next(5) == 0)
                {
                    headers.Add(Header(random, "Content-Type", "application/x-fuzz"));
                }

                if (after != After.Http10 && random.Next(5) == 0)
                {
                    headers.Add(Header(random, "Expect", "100-continue"));
                }

                break;
        }

        if (after != After.Http10 || random.Next(2) == 0)
        {
            headers.Insert(0, Header(random, "Host", random.Next(3) == 0 ? "127.0.0.1" : "test"));
        }

        AddExtraHeaders(random, headers);
        if (after == After.Close)
        {
            headers.Add(Header(random, "Connection", "close"));
        }
        else if (after == After.KeepAlive && random.Next(6) == 0)
        {
            headers.Add(Header(random, "Connection", "keep-alive"));
        }

        return new Request(Head(method, target, version, headers).Concat(body).ToArray(), unread);
    }

    private static byte[] ChunkedEcho(Random random, After after)
    {
        var headers = new List<string> { Header(random, "Host", "test"), Header(random, "Transfer-Encoding", "chunked") };
        AddExtraHeaders(random, headers);
        if (after == After.Close)
        {
            headers.Add("Connection: close");
        }

        byte[] body = Body(random, random.Next(10) == 0 ? random.Next(8 * 1024, 128 * 1024) : random.Next(0, 2048));
        return Head("POST", "/echo", "HTTP/1.1", headers).Concat(ChunkedBody(random, body, trailer: random.Next(4) == 0)).ToArray();
    }

    private static byte[] ChunkedBody(Random random, byte[] body, bool trailer)
    {
        var bytes = new List<byte>();
        int offset = 0;
        while (offset < body.Length)
        {
            int size = Math.Min(body.Length - offset, random.Next(3) == 0 ? random.Next(1, 16) : random.Next(1, 32 * 1024));
            string hex = size.ToString(random.Next(2) == 0 ? "x" : "X", CultureInfo.InvariantCulture);
            string extension = random.Next(6) == 0 ? ";" + Token(random, 1, 8) + "=" + Token(random, 0, 8) : "";
            bytes.AddRange(Ascii($"{hex}{extension}\r\n"));
            bytes.AddRange(body.AsSpan(offset, size).ToArray());
            bytes.AddRange("\r\n"u8.ToArray());
            offset += size;
        }

        bytes.AddRange("0\r\n"u8.ToArray());
        if (trailer)
        {
            bytes.AddRange(Ascii($"X-Trailer-{Token(random, 1, 6)}: {Token(random, 0, 12)}\r\n"));
        }

        bytes.AddRange("\r\n"u8.ToArray());
        return bytes.ToArray();
    }

    private static byte[] MalformedRequestLine(Random random)
    {
        string line = random.Next(16) switch
        {
            0 => "G@T /plaintext HTTP/1.1",
            1 => " GET /plaintext HTTP/1.1",
            2 => "GET /plaintext HTTP/1.2",
            3 => "GET /plaintext HTTP/2.0",
            4 => "GET /plaintext http/1.1",
            5 => "GET /plaintext HTTP/1.1x",
            6 => "GET /plaintext",
            7 => "GET  /plaintext HTTP/1.1",
            8 => "GET plaintext HTTP/1.1",
            9 => "GET /pl aintext HTTP/1.1",
            10 => "GET /plain\u0001text HTTP/1.1",
            11 => "GET /%zz HTTP/1.1",
            12 => "get /plaintext HTTP/1.1",
            13 => "GET /plaintext HTTP/1.1\r",
            14 => "\u0000GET /plaintext HTTP/1.1",
            _ => Token(random, 1, 8) + " /" + Token(random, 0, 8) + " HTTP/1." + random.Next(10),
        };

        byte[] head = Ascii(line + "\r\nHost: test\r\n\r\n");
        if (random.Next(8) == 0)
        {
            // Bytes no ASCII request line has.
            head[random.Next(Math.Min(head.Length, line.Length + 1))] = (byte)random.Next(0x80, 0x100);
        }

        return head;
    }

    private static byte[] MalformedHeader(Random random)
    {
        var headers = new List<string> { "Host: test" };
        AddExtraHeaders(random, headers);
        string bad = random.Next(20) switch
        {
            0 => "X-No-Colon value",
            1 => "X-Space-Before-Colon : value",
            2 => " folded-continuation",
            3 => "X-A\u0000B: value",
            4 => "X-A: val\u0000ue",
            5 => "X-A: val\u007fue",
            6 => "Content-Length: abc",
            7 => "Content-Length: -1",
            8 => "Content-Length: 1\r\nContent-Length: 2",
            9 => "Transfer-Encoding: gzip",
            10 => "Transfer-Encoding: chunked\r\nContent-Length: 5",
            11 => ": empty-name",
            12 => "X A: space-in-name",
            13 => "Host: second-host",
            14 => "X-Bare-LF: value\n",
            15 => "X-Bare-CR: va\rlue",
            16 => "Content-Length: 99999999999999999999999",
            17 => "Transfer-Encoding: chunked, identity",
            18 => "X-Utf8: caf\u00e9",
            _ => Token(random, 1, 10) + (random.Next(2) == 0 ? "\t" : "") + ":" + Token(random, 0, 10),
        };

        // Missing Host instead, sometimes.
        if (random.Next(10) == 0)
        {
            headers.RemoveAt(0);
            bad = "X-Host-Missing: yes";
        }

        headers.Insert(random.Next(headers.Count + 1), bad);
        return Encoding.Latin1.GetBytes("GET /plaintext HTTP/1.1\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "\r\n");
    }

    private static byte[] OversizedHead(Random random)
    {
        // Kestrel's defaults: request line 8 KiB, headers 32 KiB in total, 100 headers.
        switch (random.Next(3))
        {
            case 0:
                return Ascii($"GET /{Token(random, 8 * 1024, 10 * 1024)} HTTP/1.1\r\nHost: test\r\n\r\n");
            case 1:
                return Ascii($"GET /plaintext HTTP/1.1\r\nHost: test\r\nX-Big: {new string('v', random.Next(32 * 1024, 40 * 1024))}\r\n\r\n");
            default:
                var text = new StringBuilder("GET /plaintext HTTP/1.1\r\nHost: test\r\n");
                int count = random.Next(101, 160);
                for (int i = 0; i < count; i++)
                {
                    text.Append(CultureInfo.InvariantCulture, $"X-H{i}: {i}\r\n");
                }

                return Ascii(text.Append("\r\n").ToString());
        }
    }

    // Sent to an endpoint that does not read the body, so Kestrel only meets the error while draining it.
    private static byte[] BrokenChunkedRequest(Random random)
    {
        string body = random.Next(9) switch
        {
            0 => "zz\r\nabc\r\n0\r\n\r\n",
            1 => "10000000000000000\r\nabc\r\n0\r\n\r\n",
            2 => "3\r\nabcdef\r\n0\r\n\r\n",
            3 => "3\nabc\r\n0\r\n\r\n",
            4 => "3;\u0001\r\nabc\r\n0\r\n\r\n",
            5 => "3\r\nabc\r\n0\r\nBad Trailer\r\n\r\n",
            6 => "-3\r\nabc\r\n0\r\n\r\n",
            7 => "3\r\nabcXY0\r\n\r\n",
            _ => "3 \r\nabc\r\n0\r\n\r\n",
        };

        return Ascii($"POST {(random.Next(2) == 0 ? "/plaintext" : "/missing")} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
    }

    private static void AddExtraHeaders(Random random, List<string> headers)
    {
        int count = random.Next(100) switch { < 50 => 0, < 90 => random.Next(1, 4), _ => random.Next(4, 30) };
        for (int i = 0; i < count; i++)
        {
            headers.Add(random.Next(5) switch
            {
                0 => Header(random, "Accept", "*/*"),
                1 => Header(random, "User-Agent", "fuzz/" + random.Next(10)),
                2 => Header(random, "Accept-Encoding", "gzip, br"),
                _ => Header(random, "X-Fuzz-" + Token(random, 1, 10), Token(random, 0, 40)),
            });
        }
    }

    // A valid header with the name's case and the optional whitespace around the value varied.
    private static string Header(Random random, string name, string value)
    {
        name = random.Next(4) switch
        {
            0 => name.ToLowerInvariant(),
            1 => name.ToUpperInvariant(),
            _ => name,
        };
        string before = random.Next(6) switch { 0 => "", 1 => "\t", 2 => "  ", _ => " " };
        string after = random.Next(6) switch { 0 => " ", 1 => "\t", _ => "" };
        return name + ":" + before + value + after;
    }

    private static byte[] Head(string method, string target, string version, List<string> headers)
        => Ascii($"{method} {target} {version}\r\n{string.Concat(headers.Select(h => h + "\r\n"))}\r\n");

    private static byte[] Body(Random random, int length)
    {
        var body = new byte[length];
        if (random.Next(2) == 0)
        {
            random.NextBytes(body);
        }
        else
        {
            for (int i = 0; i < body.Length; i++)
            {
                body[i] = (byte)TextChars[random.Next(TextChars.Length)];
            }
        }

        return body;
    }

    private static string Token(Random random, int min, int max)
    {
        var chars = new char[random.Next(min, max + 1)];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = TokenChars[random.Next(TokenChars.Length)];
        }

        return new string(chars);
    }

    private static byte InterestingByte(Random random) => random.Next(10) switch
    {
        0 => (byte)'\r',
        1 => (byte)'\n',
        2 => (byte)' ',
        3 => (byte)':',
        4 => 0,
        5 => (byte)'0',
        6 => (byte)'9',
        _ => (byte)random.Next(256),
    };

    // 0–12 split points, each chunk after a delay of mostly 0–3 ms.
    private static List<FuzzChunk> Split(Random random, byte[] all)
    {
        int splits = random.Next(100) switch { < 30 => 0, < 80 => random.Next(1, 4), _ => random.Next(4, 13) };
        var points = new SortedSet<int>();
        for (int i = 0; i < splits && all.Length > 1; i++)
        {
            points.Add(random.Next(1, all.Length));
        }

        var chunks = new List<FuzzChunk>();
        int start = 0;
        foreach (int point in points.Append(all.Length))
        {
            chunks.Add(new FuzzChunk(chunks.Count == 0 ? 0 : Delay(random), all[start..point]));
            start = point;
        }

        return chunks;
    }

    private static int Delay(Random random) => random.Next(100) switch
    {
        < 45 => 0,
        < 85 => random.Next(1, 4),
        _ => random.Next(4, 21),
    };

    private static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);
}
