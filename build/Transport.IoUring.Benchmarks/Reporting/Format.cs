using System;
using System.Globalization;

namespace Transport.IoUring.Benchmarks.Reporting;

/// <summary>How figures are written in tables: invariant culture, units spelled out.</summary>
internal static class Format
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    public const string Missing = "n/a";

    public static string Integer(double value) => Math.Round(value).ToString("N0", s_invariant);

    /// <summary>1234 → "1.23k", 1234567 → "1.23M".</summary>
    public static string Short(double value) => Math.Abs(value) switch
    {
        >= 1e6 => (value / 1e6).ToString("0.00", s_invariant) + "M",
        >= 1e4 => (value / 1e3).ToString("0.0", s_invariant) + "k",
        >= 1e3 => (value / 1e3).ToString("0.00", s_invariant) + "k",
        _ => value.ToString("0", s_invariant),
    };

    /// <summary>Three significant digits, enough for figures that vary by several per cent.</summary>
    public static string Significant(double? value)
    {
        if (value is not double v)
        {
            return Missing;
        }

        return Math.Abs(v) switch
        {
            >= 100 => v.ToString("0", s_invariant),
            >= 10 => v.ToString("0.0", s_invariant),
            >= 1 => v.ToString("0.00", s_invariant),
            _ => v.ToString("0.000", s_invariant),
        };
    }

    public static string Latency(double? microseconds)
    {
        if (microseconds is not double us)
        {
            return Missing;
        }

        return us < 1000 ? us.ToString("0", s_invariant) + " µs" : (us / 1000).ToString("0.00", s_invariant) + " ms";
    }

    public static string MiB(long kib) => (kib / 1024.0).ToString("0.0", s_invariant) + " MiB";

    public static string Percent(double value) => value.ToString("0", s_invariant) + " %";

    public static string Ratio(double? value) => value is double v ? v.ToString("0.00", s_invariant) + "×" : Missing;

    /// <summary>A relative change: +4.2 %, -10.0 %.</summary>
    public static string Change(double? from, double? to)
    {
        if (from is not double a || to is not double b || a == 0)
        {
            return Missing;
        }

        double change = (b - a) / a * 100;
        return (change >= 0 ? "+" : "") + change.ToString("0.0", s_invariant) + " %";
    }

    public static string Seconds(double seconds) => seconds.ToString("0.#", s_invariant) + " s";
}
