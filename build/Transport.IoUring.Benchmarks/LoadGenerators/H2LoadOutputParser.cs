using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;

namespace Transport.IoUring.Benchmarks.LoadGenerators;

/// <summary>
/// Parses h2load's text report, and its <c>--log-file</c> (one line per request: start time in µs
/// since the epoch, status code, µs until the end of the response) for latency percentiles, which
/// the report itself does not give (only min/max/mean/sd).
/// </summary>
internal static partial class H2LoadOutputParser
{
    public static LoadResult Parse(string output, IReadOnlyList<double>? latenciesMicroseconds = null)
    {
        ArgumentNullException.ThrowIfNull(output);

        var finished = FinishedLine().Match(output);
        var requests = RequestsLine().Match(output);
        var codes = StatusCodesLine().Match(output);
        if (!finished.Success || !requests.Success || !codes.Success)
        {
            throw new FormatException($"h2load printed no 'finished in', 'requests:' or 'status codes:' line: '{Shorten(output)}'");
        }

        double seconds = ParseSeconds(finished.Groups["value"].Value, finished.Groups["unit"].Value);
        long done = Long(requests, "done");
        long failed = Long(requests, "failed");
        long errored = Long(requests, "errored");
        long timeout = Long(requests, "timeout");
        long c2 = Long(codes, "c2"), c3 = Long(codes, "c3"), c4 = Long(codes, "c4"), c5 = Long(codes, "c5");

        // h2load's "failed" includes every non-2xx response as well as errored and timed-out
        // requests; responses are the ones with a status code.
        long responses = c2 + c3 + c4 + c5;
        long errors = errored + timeout;
        long noResponse = Math.Max(0, done - responses - errors);

        var details = new Dictionary<string, long>(StringComparer.Ordinal);
        if (errored != 0)
        {
            details["errored"] = errored;
        }

        if (timeout != 0)
        {
            details["timeout"] = timeout;
        }

        if (noResponse != 0)
        {
            details["done without a status code"] = noResponse;
        }

        long started = Long(requests, "started");
        if (responses == 0 && started > 0)
        {
            details["started but never done"] = started - done;
        }

        _ = failed;
        double? p50 = null, p99 = null;
        if (latenciesMicroseconds is { Count: > 0 })
        {
            p50 = Percentiles.Of(latenciesMicroseconds, 50);
            p99 = Percentiles.Of(latenciesMicroseconds, 99);
        }

        return new LoadResult(responses, seconds, c3 + c4 + c5, errors + noResponse, p50, p99, details);
    }

    /// <summary>Reads the durations (third column, µs) of an h2load <c>--log-file</c>.</summary>
    public static List<double> ParseLog(TextReader log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var latencies = new List<double>();
        string? line;
        while ((line = log.ReadLine()) is not null)
        {
            if (line.Length == 0)
            {
                continue;
            }

            int lastTab = line.LastIndexOf('\t');
            if (lastTab < 0 || !double.TryParse(line.AsSpan(lastTab + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double micros))
            {
                throw new FormatException($"Not an h2load log line: '{line}'");
            }

            latencies.Add(micros);
        }

        return latencies;
    }

    private static long Long(Match match, string group) => long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    private static double ParseSeconds(string value, string unit)
    {
        double number = double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        return unit switch
        {
            "ms" => number / 1e3,
            "s" => number,
            "m" => number * 60,
            _ => throw new FormatException($"Unknown h2load time unit '{unit}'"),
        };
    }

    // "finished in 3.00s, 93623.33 req/s, 3.57MB/s"
    [GeneratedRegex(@"^finished in (?<value>[0-9.]+)(?<unit>ms|s|m),", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex FinishedLine();

    // "requests: 280870 total, 282470 started, 280870 done, 280870 succeeded, 0 failed, 0 errored, 0 timeout"
    [GeneratedRegex(@"^requests: (?<total>\d+) total, (?<started>\d+) started, (?<done>\d+) done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, (?<errored>\d+) errored, (?<timeout>\d+) timeout", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex RequestsLine();

    // "status codes: 280870 2xx, 0 3xx, 0 4xx, 0 5xx"
    [GeneratedRegex(@"^status codes: (?<c2>\d+) 2xx, (?<c3>\d+) 3xx, (?<c4>\d+) 4xx, (?<c5>\d+) 5xx", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex StatusCodesLine();

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + "…";
}
