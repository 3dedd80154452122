using System;
using System.Collections.Generic;
using System.Linq;
using Transport.IoUring.Benchmarks.Running;

namespace Transport.IoUring.Benchmarks.Results;

/// <summary>
/// One table row: the medians over a transport's measured rounds (the median of three shrugs off
/// one disturbed round), summed errors, the highest peak RSS and the most disturbed round.
/// </summary>
internal sealed record TransportSummary(
    string Transport,
    int Rounds,
    double RequestsPerSecond,
    double MinRequestsPerSecond,
    double MaxRequestsPerSecond,
    double? CpuMicrosecondsPerRequest,
    double? P50Microseconds,
    double? P99Microseconds,
    long Errors,
    long Non2xx,
    long PeakRssKiB,
    double ServerCpuPercent,
    double LoadGeneratorCpuPercent,
    double OtherCpuPercent,
    bool Disturbed,
    double? SoftIrqMicrosecondsPerRequest = null,
    double? ServerCoresMicrosecondsPerRequest = null)
{
    public static TransportSummary? Of(TransportReport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        var rounds = transport.Rounds.Where(r => r.FailureReason is null).ToList();
        if (rounds.Count == 0)
        {
            return null;
        }

        return new TransportSummary(
            transport.Name,
            rounds.Count,
            Median(rounds.Select(r => r.RequestsPerSecond))!.Value,
            rounds.Min(r => r.RequestsPerSecond),
            rounds.Max(r => r.RequestsPerSecond),
            Median(rounds.Select(r => r.CpuMicrosecondsPerRequest)),
            Median(rounds.Select(r => r.P50Microseconds)),
            Median(rounds.Select(r => r.P99Microseconds)),
            rounds.Sum(r => r.Errors),
            rounds.Sum(r => r.Non2xx),
            transport.Rounds.Max(r => r.PeakRssKiB),
            Median(rounds.Select(r => (double?)r.ServerCpuPercent))!.Value,
            Median(rounds.Select(r => (double?)r.LoadGeneratorCpuPercent))!.Value,
            rounds.Max(r => r.OtherCpuPercent),
            rounds.Any(r => r.Disturbed),
            Median(rounds.Select(r => r.SoftIrqMicrosecondsPerRequest)),
            Median(rounds.Select(r => r.ServerCoresMicrosecondsPerRequest)));
    }

    /// <summary>The median of the values present, or null when none is.</summary>
    public static double? Median(IEnumerable<double?> values)
    {
        var present = values.Where(v => v.HasValue).Select(v => v!.Value).OrderBy(v => v).ToArray();
        if (present.Length == 0)
        {
            return null;
        }

        int mid = present.Length / 2;
        return present.Length % 2 == 1 ? present[mid] : (present[mid - 1] + present[mid]) / 2;
    }

    public static double? Median(IEnumerable<double> values) => Median(values.Select(v => (double?)v));
}

/// <summary>A ratio row: one transport's figures divided by another's (e.g. iouring / sockets).</summary>
internal sealed record TransportRatio(
    string Numerator,
    string Denominator,
    double? RequestsPerSecond,
    double? CpuMicrosecondsPerRequest,
    double? P50,
    double? P99,
    double? PeakRss,
    double? SoftIrqMicrosecondsPerRequest = null,
    double? ServerCoresMicrosecondsPerRequest = null)
{
    public string Label => $"{Numerator} / {Denominator}";

    public static TransportRatio Of(TransportSummary numerator, TransportSummary denominator)
    {
        ArgumentNullException.ThrowIfNull(numerator);
        ArgumentNullException.ThrowIfNull(denominator);
        return new TransportRatio(
            numerator.Transport,
            denominator.Transport,
            Divide(numerator.RequestsPerSecond, denominator.RequestsPerSecond),
            Divide(numerator.CpuMicrosecondsPerRequest, denominator.CpuMicrosecondsPerRequest),
            Divide(numerator.P50Microseconds, denominator.P50Microseconds),
            Divide(numerator.P99Microseconds, denominator.P99Microseconds),
            Divide(numerator.PeakRssKiB, denominator.PeakRssKiB),
            Divide(numerator.SoftIrqMicrosecondsPerRequest, denominator.SoftIrqMicrosecondsPerRequest),
            Divide(numerator.ServerCoresMicrosecondsPerRequest, denominator.ServerCoresMicrosecondsPerRequest));
    }

    /// <summary>a ÷ b, or null when either is missing or b is not positive.</summary>
    public static double? Divide(double? a, double? b)
        => a is double x && b is double y && y > 0 ? x / y : null;

    /// <summary>
    /// The ratio rows of a scenario: every io_uring transport against every Sockets transport
    /// present (iouring / sockets, iouring / sockets-inline, ...), in table order, then the current
    /// code against its baseline build (iouring / iouring-baseline) when both ran, and the current code
    /// against itself with kernel features off (iouring / iouring-without-FEATURE).
    /// </summary>
    public static List<TransportRatio> For(IReadOnlyList<TransportSummary> summaries, Func<string, bool> isIoUring)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        return Pairs(summaries.Select(s => s.Transport).ToList(), isIoUring)
            .Select(p => Of(summaries.First(s => s.Transport == p.Numerator), summaries.First(s => s.Transport == p.Denominator)))
            .ToList();
    }

    /// <summary>The (numerator, denominator) names of <see cref="For"/>, for tables whose figures are not summaries.</summary>
    public static List<(string Numerator, string Denominator)> Pairs(IReadOnlyList<string> transports, Func<string, bool> isIoUring)
    {
        ArgumentNullException.ThrowIfNull(transports);
        ArgumentNullException.ThrowIfNull(isIoUring);
        var pairs = new List<(string, string)>();
        foreach (string numerator in transports.Where(isIoUring))
        {
            foreach (string denominator in transports.Where(t => !isIoUring(t)))
            {
                pairs.Add((numerator, denominator));
            }
        }

        if (transports.Contains(TransportVariant.BaselineOf) && transports.Contains(TransportVariant.BaselineName))
        {
            pairs.Add((TransportVariant.BaselineOf, TransportVariant.BaselineName));
        }

        // A kernel path on against off, in the same build (iouring / iouring-without-FEATURE).
        if (transports.Contains(TransportVariant.BaselineOf))
        {
            foreach (string without in transports.Where(t => t.StartsWith(TransportVariant.WithoutPrefix, StringComparison.Ordinal)))
            {
                pairs.Add((TransportVariant.BaselineOf, without));
            }
        }

        // A setting on against off, on the same row (ROW@VARIABLE=VALUE / ROW).
        foreach (string withEnvironment in transports.Where(t => t.Contains(TransportVariant.EnvironmentSeparator, StringComparison.Ordinal)))
        {
            string row = TransportVariant.RowOf(withEnvironment);
            if (transports.Contains(row))
            {
                pairs.Add((withEnvironment, row));
            }
        }

        return pairs;
    }
}
