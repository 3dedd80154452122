using System;
using System.Threading;

namespace Transport.IoUring.Internal;

/// <summary>Connection ids in Kestrel's format: 13 base-32 characters of an increasing 64-bit counter.</summary>
internal static class ConnectionIds
{
    private static readonly char[] s_encode32Chars = "0123456789ABCDEFGHIJKLMNOPQRSTUV".ToCharArray();
    private static long s_lastId = DateTime.UtcNow.Ticks;

    public static string Next()
    {
        long id = Interlocked.Increment(ref s_lastId);
        return string.Create(13, id, static (buffer, value) =>
        {
            for (int i = 12; i >= 0; i--)
            {
                buffer[i] = s_encode32Chars[(int)(value & 31)];
                value >>= 5;
            }
        });
    }
}
