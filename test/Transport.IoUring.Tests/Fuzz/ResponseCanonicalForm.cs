using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>
/// The part of a stream of HTTP/1.1 responses that does not depend on timing: every head with its
/// Date value blanked, and every body's bytes, with a chunked body's chunk framing removed and
/// interim 100 Continue responses left out.
/// </summary>
/// <remarks>
/// Kestrel writes one chunk per flush of the app, and /echo flushes once per read of the request
/// body, whose sizes follow how the transport happened to receive it: Sockets and io_uring (and
/// Sockets twice in a row) cut the same echoed bytes into different chunks. The form keeps the
/// order of everything, so a stream cut short is a prefix of the whole stream's form. Bytes that do
/// not parse as responses are kept as they are.
/// </remarks>
internal static class ResponseCanonicalForm
{
    private static readonly byte[] ChunkedBodyMarker = "\n[chunked body]\n"u8.ToArray();
    private static readonly byte[] LastChunkMarker = "\n[last chunk]\n"u8.ToArray();

    public static byte[] Of(byte[] received) => Parse(received, out _);

    /// <summary>
    /// True when the bytes stop inside a response (its head or its body), as when the server
    /// dropped the rest of its output; false when they end where a response ends (or are empty).
    /// Bytes that do not parse as responses count as cut.
    /// </summary>
    public static bool EndsInsideAResponse(byte[] received)
    {
        Parse(received, out bool cut);
        return cut;
    }

    private static byte[] Parse(byte[] received, out bool cut)
    {
        var form = new MemoryStream(received.Length);
        int position = 0;
        cut = true;
        while (position < received.Length)
        {
            int headEnd = IndexOf(received, position, "\r\n\r\n"u8);
            if (headEnd < 0)
            {
                form.Write(BlankDates(received.AsSpan(position)));
                return form.ToArray();
            }

            headEnd += 4;
            string head = Encoding.Latin1.GetString(received, position, headEnd - position);
            int headStart = position;
            position = headEnd;
            if (!TryReadFraming(head, out int status, out bool chunked, out long? contentLength))
            {
                form.Write(BlankDates(received.AsSpan(headStart)));
                return form.ToArray();
            }

            if (status == 100)
            {
                // Kestrel sends 100 Continue only when no byte of the body is buffered yet as the app
                // starts reading it: whether the transport's last read brought some is timing.
                continue;
            }

            form.Write(BlankDates(received.AsSpan(headStart, headEnd - headStart)));
            if (status < 200 || status is 204 or 304)
            {
                continue;
            }

            if (chunked)
            {
                form.Write(ChunkedBodyMarker);
                if (!CopyChunkedBody(received, ref position, form))
                {
                    return form.ToArray();
                }
            }
            else if (contentLength is long length)
            {
                int take = (int)Math.Min(length, received.Length - position);
                form.Write(received.AsSpan(position, take));
                position += take;
                if (take < length)
                {
                    return form.ToArray();
                }
            }

            // Neither: Kestrel sends no body then (a 404 without one, for example), and keeps the
            // connection, so what follows is the next response.
        }

        cut = false;
        return form.ToArray();
    }

    /// <summary>Copies a chunked body's data; false when the bytes end inside it or stop parsing (the rest is copied as is).</summary>
    private static bool CopyChunkedBody(byte[] received, ref int position, MemoryStream form)
    {
        while (true)
        {
            int lineEnd = IndexOf(received, position, "\r\n"u8);
            if (lineEnd < 0)
            {
                return false;
            }

            string sizeText = Encoding.Latin1.GetString(received, position, lineEnd - position);
            int semicolon = sizeText.IndexOf(';');
            if (!long.TryParse(semicolon < 0 ? sizeText : sizeText[..semicolon], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long size) || size < 0)
            {
                form.Write(BlankDates(received.AsSpan(position)));
                return false;
            }

            position = lineEnd + 2;
            if (size == 0)
            {
                // Trailers up to the empty line.
                int end = received.AsSpan(position).StartsWith("\r\n"u8) ? position : IndexOf(received, position, "\r\n\r\n"u8);
                form.Write(LastChunkMarker);
                if (end < 0)
                {
                    form.Write(received.AsSpan(position));
                    return false;
                }

                end += end == position ? 2 : 4;
                form.Write(received.AsSpan(position, end - position));
                position = end;
                return true;
            }

            int take = (int)Math.Min(size, received.Length - position);
            form.Write(received.AsSpan(position, take));
            position += take;
            if (take < size || received.Length - position < 2)
            {
                return false;
            }

            if (!received.AsSpan(position).StartsWith("\r\n"u8))
            {
                form.Write(BlankDates(received.AsSpan(position)));
                return false;
            }

            position += 2;
        }
    }

    private static bool TryReadFraming(string head, out int status, out bool chunked, out long? contentLength)
    {
        chunked = false;
        contentLength = null;
        string[] lines = head.Split("\r\n");
        string[] statusLine = lines[0].Split(' ', 3);
        if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/1.", StringComparison.Ordinal)
            || !int.TryParse(statusLine[1], NumberStyles.None, CultureInfo.InvariantCulture, out status))
        {
            status = 0;
            return false;
        }

        foreach (string line in lines[1..])
        {
            int colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            string name = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && value.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                chunked = true;
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long length))
            {
                contentLength = length;
            }
        }

        return true;
    }

    /// <summary>The bytes with every Date header's value replaced by asterisks (same length).</summary>
    private static byte[] BlankDates(ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        ReadOnlySpan<byte> marker = "\r\nDate: "u8;
        int from = 0;
        while (true)
        {
            int at = copy.AsSpan(from).IndexOf(marker);
            if (at < 0)
            {
                return copy;
            }

            int start = from + at + marker.Length;
            int end = copy.AsSpan(start).IndexOf("\r\n"u8);
            end = end < 0 ? copy.Length : start + end;
            copy.AsSpan(start, end - start).Fill((byte)'*');
            from = end;
        }
    }

    private static int IndexOf(byte[] bytes, int from, ReadOnlySpan<byte> value)
    {
        int at = bytes.AsSpan(from).IndexOf(value);
        return at < 0 ? -1 : from + at;
    }
}
