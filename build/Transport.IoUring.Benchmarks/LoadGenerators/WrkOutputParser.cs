using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Transport.IoUring.Benchmarks.LoadGenerators;

/// <summary>
/// Parses wrk 4.x's text report (<c>wrk --latency</c>).
/// </summary>
/// <remarks>
/// With a pipelining script wrk times each response from the write of the whole batch, and its
/// high percentiles of pipelined runs have been seen as 0.00us: so latency of a pipelined run is
/// reported as unavailable (<paramref name="pipelined"/>), never taken from wrk.
/// </remarks>
internal static partial class WrkOutputParser
{
    public static LoadResult Parse(string output, bool pipelined)
    {
        ArgumentNullException.ThrowIfNull(output);

        var summary = SummaryLine().Match(output);
        if (!summary.Success)
        {
            throw new FormatException($"wrk printed no 'N requests in Ts' line: '{Shorten(output)}'");
        }

        long responses = long.Parse(summary.Groups["requests"].Value, CultureInfo.InvariantCulture);
        double seconds = ParseDuration(summary.Groups["time"].Value);

        long non2xx = 0;
        var non2xxMatch = Non2xxLine().Match(output);
        if (non2xxMatch.Success)
        {
            // wrk counts "non-2xx or 3xx": 3xx is not an error to wrk, but no scenario here expects one.
            non2xx = long.Parse(non2xxMatch.Groups["count"].Value, CultureInfo.InvariantCulture);
        }

        var details = new Dictionary<string, long>(StringComparer.Ordinal);
        long errors = 0;
        var socketErrors = SocketErrorsLine().Match(output);
        if (socketErrors.Success)
        {
            foreach (var kind in new[] { "connect", "read", "write", "timeout" })
            {
                long count = long.Parse(socketErrors.Groups[kind].Value, CultureInfo.InvariantCulture);
                if (count != 0)
                {
                    details[kind] = count;
                    errors += count;
                }
            }
        }

        double? p50 = null, p99 = null;
        if (!pipelined && responses > 0)
        {
            p50 = Percentile(output, "50");
            p99 = Percentile(output, "99");
        }

        return new LoadResult(responses, seconds, non2xx, errors, p50, p99, details);
    }

    private static double? Percentile(string output, string percent)
    {
        var match = Regex.Match(output, @"^\s*" + percent + @"%\s+(?<value>[0-9.]+)(?<unit>us|ms|s|m|h)\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant);
        return match.Success ? ToMicroseconds(match.Groups["value"].Value, match.Groups["unit"].Value) : null;
    }

    /// <summary>wrk's durations: "545.00us", "3.35ms", "1.02s", "2.00m".</summary>
    internal static double ToMicroseconds(string value, string unit)
    {
        double number = double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        return unit switch
        {
            "us" => number,
            "ms" => number * 1e3,
            "s" => number * 1e6,
            "m" => number * 60e6,
            "h" => number * 3600e6,
            _ => throw new FormatException($"Unknown wrk time unit '{unit}'"),
        };
    }

    private static double ParseDuration(string text)
    {
        var match = Regex.Match(text, @"^(?<value>[0-9.]+)(?<unit>us|ms|s|m|h)$", RegexOptions.CultureInvariant);
        if (!match.Success)
        {
            throw new FormatException($"Unknown wrk duration '{text}'");
        }

        return ToMicroseconds(match.Groups["value"].Value, match.Groups["unit"].Value) / 1e6;
    }

    // "  1027862 requests in 3.02s, 129.39MB read"
    [GeneratedRegex(@"^\s*(?<requests>\d+) requests in (?<time>[0-9.]+(?:us|ms|s|m|h)),", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex SummaryLine();

    // "  Non-2xx or 3xx responses: 40652"
    [GeneratedRegex(@"^\s*Non-2xx or 3xx responses: (?<count>\d+)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex Non2xxLine();

    // "  Socket errors: connect 0, read 18060, write 0, timeout 0"
    [GeneratedRegex(@"Socket errors: connect (?<connect>\d+), read (?<read>\d+), write (?<write>\d+), timeout (?<timeout>\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex SocketErrorsLine();

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + "…";
}
