using System;
using System.Globalization;
using System.Text;
using System.Threading;

namespace PlatformServer;

/// <summary>
/// The Date header line ("Date: Tue, 10 Dec 2024 10:00:00 GMT\r\n"), formatted once a second by a
/// timer rather than per response, as Kestrel and TechEmpower's entries do (HTTP dates have
/// one-second resolution).
/// </summary>
internal static class DateHeader
{
    private static byte[] s_line = Format(DateTimeOffset.UtcNow);

    // Rooted here for the life of the process.
    private static readonly Timer s_timer = new(static _ => Volatile.Write(ref s_line, Format(DateTimeOffset.UtcNow)), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

    /// <summary>The current line, CRLF included.</summary>
    public static ReadOnlySpan<byte> Line => Volatile.Read(ref s_line);

    /// <summary>Starts the timer (the first access does; this makes it explicit at start-up).</summary>
    public static void Start() => GC.KeepAlive(s_timer);

    internal static byte[] Format(DateTimeOffset now) => Encoding.ASCII.GetBytes("Date: " + now.UtcDateTime.ToString("r", CultureInfo.InvariantCulture) + "\r\n");
}
