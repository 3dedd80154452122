using System;
using System.Globalization;
using System.Text;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>
/// Compares what the transport under test answered to a case with what the oracle (Kestrel on its
/// Sockets transport) answered, by the case's <see cref="FuzzComparison"/>. Returns null when they
/// agree, else a description of the first difference.
/// </summary>
internal static class FuzzOutcomeComparer
{
    private const int Context = 80;

    public static string? Compare(FuzzComparison comparison, FuzzOutcome oracle, FuzzOutcome candidate)
    {
        byte[] expected = oracle.CanonicalForm;
        byte[] actual = candidate.CanonicalForm;
        switch (comparison)
        {
            case FuzzComparison.Exact:
                return DescribeBytes(expected, actual, Shorter.Neither)
                    ?? (oracle.End == candidate.End ? null : $"the connection ended with {candidate.End}, on Sockets with {oracle.End}");

            case FuzzComparison.ExactUnlessCut:
                // Kestrel aborts a connection when it rejects a request, and an abort drops the output
                // not sent yet: a side whose bytes stop inside a response, or that ended with RST, may
                // have a prefix of the other's bytes; otherwise the bytes are the same.
                bool oracleCut = IsCut(oracle);
                bool candidateCut = IsCut(candidate);
                return DescribeCloseKind(oracle.End, candidate.End)
                    ?? DescribeBytes(expected, actual, (oracleCut, candidateCut) switch
                    {
                        (true, true) => Shorter.Either,
                        (true, false) => Shorter.Expected,
                        (false, true) => Shorter.Actual,
                        _ => Shorter.Neither,
                    });

            case FuzzComparison.Prefix:
                return DescribeBytes(expected, actual, Shorter.Either) ?? DescribeCloseKind(oracle.End, candidate.End);

            case FuzzComparison.ProbeOnly:
                if (oracle.Probe is null || candidate.Probe is null)
                {
                    throw new InvalidOperationException("A reset case's outcome carries no probe answer.");
                }

                string? probe = DescribeBytes(ResponseCanonicalForm.Of(oracle.Probe), ResponseCanonicalForm.Of(candidate.Probe), Shorter.Neither);
                return probe is null ? null : "the probe request after the reset was answered differently: " + probe;

            default:
                throw new ArgumentOutOfRangeException(nameof(comparison), comparison, null);
        }
    }

    private static bool IsCut(FuzzOutcome outcome)
        => outcome.End == FuzzEnd.Reset || ResponseCanonicalForm.EndsInsideAResponse(outcome.Received);

    // FIN and RST both mean "the server closed"; a deadline on one side only does not.
    private static string? DescribeCloseKind(FuzzEnd expected, FuzzEnd actual)
        => (expected == FuzzEnd.Deadline) == (actual == FuzzEnd.Deadline)
            ? null
            : $"the connection ended with {actual}, on Sockets with {expected}";

    /// <summary>Which side may have received only a prefix of the other's bytes.</summary>
    private enum Shorter
    {
        Neither,
        Expected,
        Actual,
        Either,
    }

    private static string? DescribeBytes(byte[] expected, byte[] actual, Shorter mayBeShorter)
    {
        int common = Math.Min(expected.Length, actual.Length);
        int at = expected.AsSpan(0, common).CommonPrefixLength(actual.AsSpan(0, common));
        bool agrees = at == common && (expected.Length == actual.Length || mayBeShorter switch
        {
            Shorter.Either => true,
            Shorter.Expected => expected.Length < actual.Length,
            Shorter.Actual => actual.Length < expected.Length,
            _ => false,
        });
        if (agrees)
        {
            return null;
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"compared form (ResponseCanonicalForm) {actual.Length} bytes, on Sockets {expected.Length}; ");
        text.Append(at == common
            ? $"identical for the first {at}, then one side has more"
            : $"they differ first at byte {at}");
        text.Append(CultureInfo.InvariantCulture, $"\n    Sockets:  …\"{Around(expected, at)}\"");
        text.Append(CultureInfo.InvariantCulture, $"\n    io_uring: …\"{Around(actual, at)}\"");
        return text.ToString();
    }

    private static string Around(byte[] bytes, int at)
    {
        int start = Math.Max(0, at - Context);
        int end = Math.Min(bytes.Length, at + Context);
        return start >= end ? "" : FuzzCase.Escape(bytes.AsSpan(start, end - start));
    }
}
