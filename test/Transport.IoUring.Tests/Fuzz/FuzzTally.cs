using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>
/// Counts of a fuzz run, printed at its end: cases per kind, how connections ended on each side,
/// and for half-closes which side answered more (compared only as prefixes: the figures say how
/// often the transports differ there).
/// </summary>
internal sealed class FuzzTally(string candidate)
{
    private readonly SortedDictionary<string, int> _kinds = new(System.StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _ends = new(System.StringComparer.Ordinal);
    private int _halfCloses;
    private int _halfCloseCandidateMore;
    private int _halfCloseCandidateLess;
    private int _halfCloseResponsesSockets;
    private int _halfCloseResponsesCandidate;
    private int _closeKindDiffers;
    private readonly List<string> _deadlines = new();

    public void Add(FuzzCase fuzzCase, FuzzOutcome oracle, FuzzOutcome candidateOutcome)
    {
        Increment(_kinds, fuzzCase.Kind);
        Increment(_ends, $"{fuzzCase.Comparison}: Sockets {oracle.End} / {candidate} {candidateOutcome.End}");
        if (oracle.End == FuzzEnd.Deadline || candidateOutcome.End == FuzzEnd.Deadline)
        {
            _deadlines.Add($"{fuzzCase.Index} ({fuzzCase.Kind}: Sockets {oracle.End}, {candidate} {candidateOutcome.End})");
        }

        if (oracle.End != candidateOutcome.End)
        {
            _closeKindDiffers++;
        }

        if (fuzzCase.Ending == FuzzEnding.HalfClose)
        {
            _halfCloses++;
            _halfCloseResponsesSockets += oracle.StatusLines().Count;
            _halfCloseResponsesCandidate += candidateOutcome.StatusLines().Count;
            if (candidateOutcome.Received.Length > oracle.Received.Length)
            {
                _halfCloseCandidateMore++;
            }
            else if (candidateOutcome.Received.Length < oracle.Received.Length)
            {
                _halfCloseCandidateLess++;
            }
        }
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("cases by kind: ").AppendJoin(", ", _kinds.Select(k => $"{k.Key} {k.Value}")).Append('\n');
        text.Append("ends:\n");
        foreach (var (ends, count) in _ends)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {ends}: {count}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"cases whose connection ended differently (FIN/RST, allowed where the comparison says so): {_closeKindDiffers}\n");
        text.Append(CultureInfo.InvariantCulture, $"cases still open at the deadline ({FuzzCasePlayer.Deadline.TotalSeconds:0} s): {_deadlines.Count} {string.Join(", ", _deadlines)}\n");
        text.Append(CultureInfo.InvariantCulture, $"half-closes: {_halfCloses}; {candidate} answered more bytes in {_halfCloseCandidateMore}, fewer in {_halfCloseCandidateLess}; ");
        text.Append(CultureInfo.InvariantCulture, $"status lines received: {candidate} {_halfCloseResponsesCandidate}, Sockets {_halfCloseResponsesSockets}");
        return text.ToString();
    }

    private static void Increment(SortedDictionary<string, int> counts, string key)
        => counts[key] = counts.TryGetValue(key, out int count) ? count + 1 : 1;
}
