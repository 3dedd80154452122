using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Transport.IoUring.Interop;
using Xunit;

namespace Transport.IoUring.Tests.Interop;

/// <summary>
/// Ring plumbing for the interop tests. Everything runs on the calling thread, because rings made
/// with SINGLE_ISSUER accept submissions only from the thread that created them.
/// </summary>
internal static unsafe class RingTestHelpers
{
    public const uint SingleIssuerDeferTaskrun = SetupFlags.SingleIssuer | SetupFlags.DeferTaskrun;

    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    public static Ring CreateRing(uint sqEntries, uint cqEntries = 0, uint flags = 0)
    {
        Ring? ring = Ring.TryCreate(sqEntries, cqEntries, flags, out int errno);
        Assert.True(ring is not null, $"Ring.TryCreate({sqEntries}, {cqEntries}, 0x{flags:X}) failed: {LibC.Describe(errno)}");
        Assert.Equal(0, errno);
        return ring!;
    }

    public static Sqe* GetSqe(Ring ring)
    {
        Sqe* sqe = ring.TryGetSqe();
        Assert.True(sqe != null, "the submission queue is unexpectedly full");
        return sqe;
    }

    /// <summary>Submits what is pending without waiting; fails the test on an error.</summary>
    public static int Submit(Ring ring)
    {
        int ret = ring.SubmitAndWait(0);
        Assert.True(ret >= 0, $"io_uring_enter failed: {LibC.Describe(-ret)}");
        return ret;
    }

    /// <summary>Reaps everything the CQ ring holds now.</summary>
    public static List<Completion> Reap(Ring ring)
    {
        var result = new List<Completion>();
        Span<Completion> batch = stackalloc Completion[32];
        int n;
        while ((n = ring.ReapCompletions(batch)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                result.Add(batch[i]);
            }
        }

        return result;
    }

    /// <summary>
    /// Submits what is pending and collects completions until <paramref name="done"/> says so, entering
    /// the kernel with min_complete=0 (which also runs DEFER_TASKRUN work) so that a missing
    /// completion fails the test after <see cref="WaitLimit"/> instead of hanging it.
    /// </summary>
    public static List<Completion> ReapUntil(Ring ring, Func<List<Completion>, bool> done, string waitingFor)
    {
        var all = new List<Completion>();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Submit(ring);
            all.AddRange(Reap(ring));
            if (done(all))
            {
                return all;
            }

            if (clock.Elapsed > WaitLimit)
            {
                Assert.Fail($"timed out after {WaitLimit.TotalSeconds}s waiting for {waitingFor}; got {Describe(all)}");
            }

            Thread.Sleep(1);
        }
    }

    public static List<Completion> ReapCount(Ring ring, int count, string waitingFor)
        => ReapUntil(ring, all => all.Count >= count, waitingFor);

    public static string Describe(IEnumerable<Completion> cqes)
    {
        var parts = new List<string>();
        foreach (var c in cqes)
        {
            parts.Add($"{{user_data={c.UserData} res={c.Result} flags=0x{c.Flags:X}}}");
        }

        return parts.Count == 0 ? "no completions" : string.Join(", ", parts);
    }
}
