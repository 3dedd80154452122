using System;
using System.Collections.Generic;
using System.Text.Json;

namespace Transport.IoUring.Benchmarks.LoadGenerators;

/// <summary>
/// Parses <c>bombardier -l -p r -o json</c>: one JSON object whose <c>result</c> holds the counts
/// per status class, the errors, and latency percentiles in microseconds.
/// </summary>
/// <remarks>
/// bombardier counts a request that failed with an error (refused, reset, timeout) in
/// <c>others</c> and lists it in <c>errors</c>; <c>others</c> beyond the listed errors would be
/// responses with a status outside 1xx–5xx, counted here as non-2xx.
/// </remarks>
internal static class BombardierOutputParser
{
    public static LoadResult Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        int start = json.IndexOf('{');
        if (start < 0)
        {
            throw new FormatException($"bombardier printed no JSON: '{Shorten(json)}'");
        }

        using var document = JsonDocument.Parse(json.AsMemory(start));
        if (!document.RootElement.TryGetProperty("result", out var result))
        {
            throw new FormatException("bombardier JSON has no 'result' object");
        }

        long r1 = Count(result, "req1xx"), r2 = Count(result, "req2xx"), r3 = Count(result, "req3xx"),
             r4 = Count(result, "req4xx"), r5 = Count(result, "req5xx"), others = Count(result, "others");

        var details = new Dictionary<string, long>(StringComparer.Ordinal);
        long errors = 0;
        if (result.TryGetProperty("errors", out var errorArray) && errorArray.ValueKind == JsonValueKind.Array)
        {
            foreach (var error in errorArray.EnumerateArray())
            {
                string description = error.GetProperty("description").GetString() ?? "?";
                long count = error.GetProperty("count").GetInt64();
                details[description] = details.GetValueOrDefault(description) + count;
                errors += count;
            }
        }

        long oddStatus = Math.Max(0, others - errors);
        double seconds = result.GetProperty("timeTakenSeconds").GetDouble();

        double? p50 = null, p99 = null;
        if (result.TryGetProperty("latency", out var latency) && latency.TryGetProperty("percentiles", out var percentiles))
        {
            p50 = Percentile(percentiles, "50");
            p99 = Percentile(percentiles, "99");
        }

        long responses = r1 + r2 + r3 + r4 + r5 + oddStatus;
        if (responses == 0)
        {
            // With no response bombardier's latency figures time the failures, not requests.
            p50 = p99 = null;
        }

        return new LoadResult(responses, seconds, r1 + r3 + r4 + r5 + oddStatus, errors, p50, p99, details);
    }

    private static long Count(JsonElement result, string name)
        => result.TryGetProperty(name, out var value) ? value.GetInt64() : 0;

    private static double? Percentile(JsonElement percentiles, string name)
        => percentiles.TryGetProperty(name, out var value) ? value.GetDouble() : null;

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + "…";
}
