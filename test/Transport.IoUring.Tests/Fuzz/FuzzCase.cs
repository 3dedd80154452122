using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>What the client does after its last chunk.</summary>
internal enum FuzzEnding
{
    /// <summary>Nothing: the traffic itself makes the server close (Connection: close, HTTP/1.0, or an error).</summary>
    ServerCloses,

    /// <summary>shutdown(SHUT_WR): a FIN, then the client reads until the server ends the connection.</summary>
    HalfClose,

    /// <summary>close with SO_LINGER {on, 0}: an RST; the client reads nothing more.</summary>
    Reset,
}

/// <summary>
/// How the two transports' outcomes of a case are compared. Which rule a case gets follows from
/// what Kestrel on Sockets itself does not do the same way twice (docs/reliability.md, "Differential fuzzing").
/// </summary>
internal enum FuzzComparison
{
    /// <summary>Every byte received (Date values normalised) and how the server ended the connection.</summary>
    Exact,

    /// <summary>
    /// The case has bytes Kestrel rejects, or leaves unread. Kestrel may then abort the connection,
    /// which drops output not yet sent, and which Sockets ends with FIN or RST depending on timing:
    /// a side whose bytes stop inside a response, or that ended with RST, may have received a prefix
    /// of the other's bytes, never other bytes; otherwise every byte is compared. FIN and RST count
    /// as the same end, since the kernel also answers a close with unread bytes with RST.
    /// </summary>
    ExactUnlessCut,

    /// <summary>
    /// After a half-close, Kestrel answers requests received before the FIN only sometimes (it aborts
    /// pending output once the transport reports the connection closed): one side's bytes must be a
    /// prefix of the other's, FIN and RST count as the same end.
    /// </summary>
    Prefix,

    /// <summary>
    /// The client reset the connection, so it saw nothing reliably: what is compared is the answer
    /// to a probe request on a new connection right after.
    /// </summary>
    ProbeOnly,
}

/// <summary>One piece of a case's bytes, sent after a delay.</summary>
internal sealed record FuzzChunk(int DelayMs, byte[] Bytes);

/// <summary>
/// One generated connection: the bytes a client sends (split into chunks with delays), how it ends,
/// and how its outcome is compared. Generated from (seed, index) alone, so it can be replayed.
/// </summary>
internal sealed record FuzzCase(
    int Seed,
    int Index,
    string Kind,
    IReadOnlyList<FuzzChunk> Chunks,
    FuzzEnding Ending,
    int EndingDelayMs,
    FuzzComparison Comparison)
{
    /// <summary>Printed in full up to this size; larger cases are summarised (and written to a file by the test).</summary>
    public const int PrintLimit = 64 * 1024;

    public int Length => Chunks.Sum(c => c.Bytes.Length);

    public byte[] AllBytes() => Chunks.SelectMany(c => c.Bytes).ToArray();

    /// <summary>The case as text: every chunk's delay and escaped bytes (or, above <paramref name="limit"/>, its ends and hash).</summary>
    public string Describe(int limit = PrintLimit)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"case {Index} of seed {Seed}: {Kind}, {Chunks.Count} chunk(s), {Length} bytes, then {Ending}");
        if (Ending != FuzzEnding.ServerCloses)
        {
            text.Append(CultureInfo.InvariantCulture, $" after {EndingDelayMs} ms");
        }

        text.Append(CultureInfo.InvariantCulture, $"; compared {Comparison}\n");
        bool whole = Length <= limit;
        foreach (var chunk in Chunks)
        {
            text.Append(CultureInfo.InvariantCulture, $"  +{chunk.DelayMs} ms, {chunk.Bytes.Length} bytes: ");
            if (whole || chunk.Bytes.Length <= 4096)
            {
                text.Append('"').Append(Escape(chunk.Bytes)).Append("\"\n");
            }
            else
            {
                text.Append('"').Append(Escape(chunk.Bytes.AsSpan(0, 2048)))
                    .Append(CultureInfo.InvariantCulture, $"\" … \"{Escape(chunk.Bytes.AsSpan(chunk.Bytes.Length - 2048))}\"")
                    .Append(CultureInfo.InvariantCulture, $" (SHA-256 {Convert.ToHexString(SHA256.HashData(chunk.Bytes))})\n");
            }
        }

        return text.ToString();
    }

    /// <summary>C-style escaping: printable ASCII as is, \r \n \t \\ \", anything else \xNN.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            switch (b)
            {
                case (byte)'\r': text.Append("\\r"); break;
                case (byte)'\n': text.Append("\\n"); break;
                case (byte)'\t': text.Append("\\t"); break;
                case (byte)'\\': text.Append("\\\\"); break;
                case (byte)'"': text.Append("\\\""); break;
                case >= 0x20 and < 0x7f: text.Append((char)b); break;
                default: text.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}"); break;
            }
        }

        return text.ToString();
    }
}
