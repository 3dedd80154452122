using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>How a fuzzed connection ended, as the client saw it.</summary>
internal enum FuzzEnd
{
    /// <summary>The server sent FIN (recv returned 0).</summary>
    Fin,

    /// <summary>The server sent RST (recv failed with ECONNRESET).</summary>
    Reset,

    /// <summary>The server had not ended the connection when the case's deadline passed.</summary>
    Deadline,

    /// <summary>The client reset the connection itself (a <see cref="FuzzEnding.Reset"/> case).</summary>
    ClientReset,
}

/// <summary>What one server did with one case.</summary>
/// <param name="Received">Every byte the client received, as received.</param>
/// <param name="End">How the connection ended.</param>
/// <param name="SentAll">False when a send failed because the server had already closed (not compared: it depends on when the server's close arrived).</param>
/// <param name="Probe">After a <see cref="FuzzEnding.Reset"/> case: the bytes of the answer to GET /plaintext on a new connection.</param>
internal sealed partial record FuzzOutcome(byte[] Received, FuzzEnd End, bool SentAll, byte[]? Probe = null)
{
    /// <summary>The received bytes in the form they are compared in (<see cref="ResponseCanonicalForm"/>).</summary>
    public byte[] CanonicalForm => ResponseCanonicalForm.Of(Received);

    /// <summary>The status lines found in the received bytes, for messages (a body that contains one is counted too).</summary>
    public IReadOnlyList<string> StatusLines()
    {
        var lines = new List<string>();
        foreach (Match match in StatusLinePattern().Matches(Encoding.Latin1.GetString(Received)))
        {
            lines.Add(match.Groups[1].Value);
        }

        return lines;
    }

    public string Summary()
        => $"{Received.Length} bytes [{string.Join(", ", StatusLines())}], then {End}{(SentAll ? "" : " (a send failed: the server had closed)")}";

    [GeneratedRegex(@"(HTTP/1\.[01] [0-9]{3}[^\r\n]*)\r\n")]
    private static partial Regex StatusLinePattern();
}
