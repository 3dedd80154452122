using System;
using System.Collections.Generic;
using System.Text.Json;

namespace Transport.IoUring.Benchmarks.LoadGenerators;

/// <summary>
/// What the harness's own load generators (<c>churn-client</c>, <c>websocket-client</c>) print: one
/// JSON object. A response is one answered request, or one echoed WebSocket message.
/// </summary>
internal sealed class ClientReport
{
    public long Responses { get; init; }
    public double Seconds { get; init; }
    public long Non2xx { get; init; }
    public Dictionary<string, long> ErrorDetails { get; init; } = new();
    public double? P50Microseconds { get; init; }
    public double? P99Microseconds { get; init; }

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    /// <summary>Parses a built-in client's output (the last line that is a JSON object).</summary>
    public static LoadResult Parse(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        int start = output.LastIndexOf("{\"responses\"", StringComparison.Ordinal);
        if (start < 0)
        {
            throw new FormatException($"the client printed no report: '{(output.Length > 200 ? output[..200] : output)}'");
        }

        var report = JsonSerializer.Deserialize<ClientReport>(output.AsSpan(start), s_json)
            ?? throw new FormatException("the client printed null");
        long errors = 0;
        foreach (var count in report.ErrorDetails.Values)
        {
            errors += count;
        }

        return new LoadResult(report.Responses, report.Seconds, report.Non2xx, errors, report.P50Microseconds, report.P99Microseconds, report.ErrorDetails);
    }
}
