using System;
using System.Collections.Generic;
using System.Linq;

namespace Transport.IoUring.Benchmarks.Reporting;

/// <summary>
/// Statistics of paired rounds: round i of one transport against round i of another in the same
/// run. The harness interleaves transports round by round, so the two of a pair ran seconds apart,
/// and the machine's drift (this machine's neighbours move req/s by 7–24 % between runs, and by up
/// to 2× between rounds of h2c-100) hits both. A ratio of medians loses that pairing, and with
/// bimodal rounds it can swing from one run to the next; the geometric mean of the pairs' ratios
/// keeps it.
/// </summary>
internal static class PairedRounds
{
    /// <summary>Above this many pairs the permutation test samples sign patterns instead of enumerating them.</summary>
    public const int ExactLimit = 20;

    public const int SampledPermutations = 100_000;

    /// <summary>exp(mean(ln r)): the ratio that a typical pair shows; null for no pairs.</summary>
    public static double? GeometricMean(IReadOnlyList<double> ratios)
    {
        ArgumentNullException.ThrowIfNull(ratios);
        if (ratios.Count == 0 || ratios.Any(r => !(r > 0) || double.IsInfinity(r)))
        {
            return null;
        }

        return Math.Exp(ratios.Sum(r => Math.Log(r)) / ratios.Count);
    }

    /// <summary>
    /// Two-sided sign-flip permutation test of H0 "both transports are the same": then each pair's
    /// log ratio is as likely to be negative as positive, and the p-value is the share of the 2^n
    /// sign patterns whose sum is at least as far from zero as the one observed. Exact up to
    /// <see cref="ExactLimit"/> pairs; above that <see cref="SampledPermutations"/> patterns drawn
    /// with a fixed seed, so the same files always print the same p. Null for no pairs.
    /// </summary>
    public static double? SignFlipPValue(IReadOnlyList<double> ratios)
    {
        ArgumentNullException.ThrowIfNull(ratios);
        if (ratios.Count == 0 || ratios.Any(r => !(r > 0) || double.IsInfinity(r)))
        {
            return null;
        }

        double[] logs = ratios.Select(r => Math.Log(r)).ToArray();
        double observed = Math.Abs(logs.Sum());

        // Sums equal to the observed one up to rounding (the running sum below adds up to 2^20
        // terms) count as "at least as far", which errs towards a larger p.
        double threshold = observed - 1e-9 * Math.Max(1, observed);
        int n = logs.Length;

        if (n <= ExactLimit)
        {
            // Gray-code order: each pattern differs from the previous one in one sign, so its sum
            // is the previous sum with one term flipped.
            long patterns = 1L << n;
            var negative = new bool[n];
            double sum = logs.Sum();
            long asFar = Math.Abs(sum) >= threshold ? 1 : 0;
            for (long k = 1; k < patterns; k++)
            {
                int i = System.Numerics.BitOperations.TrailingZeroCount(k);
                sum += negative[i] ? 2 * logs[i] : -2 * logs[i];
                negative[i] = !negative[i];
                if (Math.Abs(sum) >= threshold)
                {
                    asFar++;
                }
            }

            return (double)asFar / patterns;
        }

        var random = new Random(20261204);
        long hits = 0;
        for (int draw = 0; draw < SampledPermutations; draw++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += random.Next(2) == 0 ? logs[i] : -logs[i];
            }

            if (Math.Abs(sum) >= threshold)
            {
                hits++;
            }
        }

        // The observed pattern is one of the possible ones: (hits + 1) / (draws + 1) never says 0.
        return (hits + 1.0) / (SampledPermutations + 1.0);
    }
}
