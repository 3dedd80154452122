using System.Linq;
using System.Text;
using Xunit;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>
/// The fuzzer's comparison rules on hand-written outcomes: each rule lets through what Sockets itself
/// varies and nothing else, so a corrupted byte, a different answer or a hang on one side fails.
/// </summary>
public class FuzzOutcomeComparerTests
{
    private const string Ok = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nDate: Sun, 06 Dec 2026 19:47:22 GMT\r\nServer: Kestrel\r\n\r\nHello, World!";
    private const string NotFound = "HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Dec 2026 19:47:22 GMT\r\nServer: Kestrel\r\n\r\n";
    private const string ChunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nDate: Sun, 06 Dec 2026 19:47:22 GMT\r\nServer: Kestrel\r\nTransfer-Encoding: chunked\r\n\r\n";

    [Fact]
    public void ExactComparisonIgnoresTheDateValueButNotAnyOtherByte()
    {
        var oracle = Outcome(Ok + NotFound, FuzzEnd.Fin);

        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome((Ok + NotFound).Replace("19:47:22", "19:48:01"), FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome((Ok + NotFound).Replace("World", "Wor1d"), FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome((Ok + NotFound).Replace("Server: Kestrel", "Server: Kestrex"), FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome(Ok, FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome(Ok + NotFound + Ok, FuzzEnd.Fin)));
    }

    [Fact]
    public void EveryByteOfEveryResponseIsCompared()
    {
        string stream = Ok + NotFound + ChunkedHead + "3\r\nabc\r\n0\r\n\r\n";
        var oracle = Outcome(stream, FuzzEnd.Fin);
        for (int i = 0; i < stream.Length; i++)
        {
            if (IsInDateValue(stream, i))
            {
                continue;
            }

            byte[] corrupted = Encoding.Latin1.GetBytes(stream);
            corrupted[i] ^= 0x20;
            var candidate = new FuzzOutcome(corrupted, FuzzEnd.Fin, SentAll: true);
            Assert.True(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, candidate) is not null, $"a change of byte {i} went unnoticed");
        }
    }

    [Fact]
    public void ChunkBoundariesOfAResponseDoNotMatterButItsDataDoes()
    {
        var oracle = Outcome(ChunkedHead + "6\r\nabcdef\r\n0\r\n\r\n" + Ok, FuzzEnd.Fin);

        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome(ChunkedHead + "2\r\nab\r\n4\r\ncdef\r\n0\r\n\r\n" + Ok, FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome(ChunkedHead + "2\r\nab\r\n4\r\ncdeF\r\n0\r\n\r\n" + Ok, FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome(ChunkedHead + "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n" + Ok, FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome(ChunkedHead + "6\r\nabcdef\r\n" + Ok, FuzzEnd.Fin)));
    }

    [Fact]
    public void AnInterimContinueMayBeMissingButNotAFinalResponse()
    {
        const string Continue = "HTTP/1.1 100 Continue\r\n\r\n";
        var oracle = Outcome(NotFound + Ok, FuzzEnd.Fin);

        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome(NotFound + Continue + Ok, FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome(NotFound + Continue + NotFound + Ok, FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, oracle, Outcome(NotFound + "HTTP/1.1 103 Early Hints\r\n\r\n" + Ok, FuzzEnd.Fin)));
    }

    [Fact]
    public void FinAndResetAreTheSameEndOnlyWhereTheComparisonAllowsIt()
    {
        var fin = Outcome(Ok, FuzzEnd.Fin);
        var reset = Outcome(Ok, FuzzEnd.Reset);
        var deadline = Outcome(Ok, FuzzEnd.Deadline);

        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Exact, fin, reset));
        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, fin, reset));
        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.Prefix, reset, fin));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, fin, deadline));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Prefix, deadline, fin));
        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, deadline, deadline));
    }

    [Fact]
    public void AfterAnAbortOnlyASideCutShortMayHaveLessAndNeverOtherBytes()
    {
        var whole = Outcome(Ok + NotFound, FuzzEnd.Fin);
        var cut = Outcome(Ok[..50], FuzzEnd.Reset);

        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, whole, cut));
        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, cut, whole));
        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, Outcome(Ok, FuzzEnd.Reset), cut));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, Outcome(Ok, FuzzEnd.Fin), Outcome(Ok + NotFound, FuzzEnd.Reset)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, whole, Outcome(Ok, FuzzEnd.Fin)));
        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, whole, Outcome(Ok[..50], FuzzEnd.Fin)));
        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, Outcome(Ok + NotFound[..20], FuzzEnd.Fin), whole));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, Outcome(Ok, FuzzEnd.Fin), Outcome(Ok + NotFound[..20], FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.ExactUnlessCut, whole, Outcome(Ok[..50].Replace('O', 'o'), FuzzEnd.Reset)));
    }

    [Fact]
    public void AfterAHalfCloseEitherSideMayAnswerLessButNeverSomethingElse()
    {
        var all = Outcome(Ok + NotFound + ChunkedHead + "3\r\nabc\r\n0\r\n\r\n", FuzzEnd.Fin);

        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.Prefix, all, Outcome(Ok, FuzzEnd.Fin)));
        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.Prefix, Outcome("", FuzzEnd.Fin), all));
        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.Prefix, all, Outcome(Ok + NotFound + ChunkedHead + "2\r\nab", FuzzEnd.Reset)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Prefix, all, Outcome(NotFound, FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Prefix, all, Outcome(Ok + Ok, FuzzEnd.Fin)));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.Prefix, all, Outcome(Ok + NotFound + ChunkedHead + "2\r\nax", FuzzEnd.Fin)));
    }

    [Fact]
    public void AfterAClientResetOnlyTheProbeIsCompared()
    {
        var oracle = Outcome("", FuzzEnd.ClientReset) with { Probe = Encoding.Latin1.GetBytes(Ok) };

        Assert.Null(FuzzOutcomeComparer.Compare(FuzzComparison.ProbeOnly, oracle, Outcome(Ok, FuzzEnd.ClientReset) with { Probe = Encoding.Latin1.GetBytes(Ok) }));
        Assert.NotNull(FuzzOutcomeComparer.Compare(FuzzComparison.ProbeOnly, oracle, Outcome("", FuzzEnd.ClientReset) with { Probe = Encoding.Latin1.GetBytes(NotFound) }));
    }

    [Fact]
    public void ACaseDependsOnItsSeedAndIndexAlone()
    {
        var again = FuzzCaseGenerator.Generate(seed: 7, index: 41);
        _ = FuzzCaseGenerator.Generate(seed: 7, index: 40);

        Assert.Equal(FuzzCaseGenerator.Generate(seed: 7, index: 41).Describe(int.MaxValue), again.Describe(int.MaxValue));
        Assert.NotEqual(FuzzCaseGenerator.Generate(seed: 7, index: 42).Describe(int.MaxValue), again.Describe(int.MaxValue));
        Assert.NotEqual(FuzzCaseGenerator.Generate(seed: 8, index: 41).Describe(int.MaxValue), again.Describe(int.MaxValue));
        Assert.Equal(41, again.Index);
        Assert.Equal(again.Length, again.Chunks.Sum(c => c.Bytes.Length));
    }

    private static FuzzOutcome Outcome(string received, FuzzEnd end) => new(Encoding.Latin1.GetBytes(received), end, SentAll: true);

    private static bool IsInDateValue(string stream, int index)
    {
        for (int at = stream.IndexOf("\r\nDate: ", System.StringComparison.Ordinal); at >= 0; at = stream.IndexOf("\r\nDate: ", at + 1, System.StringComparison.Ordinal))
        {
            int start = at + "\r\nDate: ".Length;
            if (index >= start && index < stream.IndexOf("\r\n", start, System.StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
