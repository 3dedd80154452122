using System;

namespace Transport.IoUring.Internal;

/// <summary>
/// At most one report per interval for a failure that repeats (accept backing off on EMFILE, a
/// failing io_uring_enter): the first occurrence is reported at once, later ones within the
/// interval are counted and the count goes with the next report. Single-threaded (ring thread).
/// </summary>
internal struct LogRateLimit(long intervalMs)
{
    private long _nextReportAt;
    private int _suppressed;

    /// <summary>True when this occurrence should be logged; <paramref name="suppressed"/> is how many were not since the last report.</summary>
    public bool ShouldReport(out int suppressed)
    {
        long now = Environment.TickCount64;
        if (now >= _nextReportAt)
        {
            suppressed = _suppressed;
            _suppressed = 0;
            _nextReportAt = now + intervalMs;
            return true;
        }

        _suppressed++;
        suppressed = 0;
        return false;
    }
}
