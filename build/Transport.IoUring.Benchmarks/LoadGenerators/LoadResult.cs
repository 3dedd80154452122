using System.Collections.Generic;

namespace Transport.IoUring.Benchmarks.LoadGenerators;

/// <summary>What one load-generator run reports, in one shape for every tool.</summary>
/// <param name="Responses">Responses received (any status): the divisor of CPU per request.</param>
/// <param name="Seconds">The tool's own measured duration.</param>
/// <param name="Non2xx">Responses whose status was not 2xx.</param>
/// <param name="Errors">Requests that got no response: connect, read and write errors, timeouts.</param>
/// <param name="P50Microseconds">Median latency, or null where the tool's figure is not trustworthy.</param>
/// <param name="P99Microseconds">99th percentile latency, or null likewise.</param>
/// <param name="ErrorDetails">The tool's error descriptions with counts, if it gives them.</param>
internal sealed record LoadResult(
    long Responses,
    double Seconds,
    long Non2xx,
    long Errors,
    double? P50Microseconds,
    double? P99Microseconds,
    IReadOnlyDictionary<string, long> ErrorDetails)
{
    public double RequestsPerSecond => Seconds > 0 ? Responses / Seconds : 0;
}
