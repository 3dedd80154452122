using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Transport.IoUring.Interop;
using Xunit;
using static Transport.IoUring.Tests.Interop.RingTestHelpers;

namespace Transport.IoUring.Tests.Interop;

public sealed unsafe class RingTests
{
    [Theory]
    [InlineData(0u)]
    [InlineData(SetupFlags.CoopTaskrun | SetupFlags.SubmitAll)]
    [InlineData(SingleIssuerDeferTaskrun)]
    public void NopRoundTripReturnsUserDataAndZeroResult(uint flags)
    {
        using var ring = CreateRing(8, 16, flags);
        Assert.Equal(flags, ring.SetupFlags & flags);

        SqePrep.Nop(GetSqe(ring), 0xDEAD_BEEF_0000_0042);
        Assert.Equal(1u, ring.PendingSubmissions);

        int submitted = ring.SubmitAndWait(1); // a NOP completes by itself, so waiting for it cannot hang
        Assert.Equal(1, submitted);
        Assert.Equal(0u, ring.PendingSubmissions);
        Assert.True(ring.HasCompletions);

        var cqes = Reap(ring);
        var cqe = Assert.Single(cqes);
        Assert.Equal(0xDEAD_BEEF_0000_0042UL, cqe.UserData);
        Assert.Equal(0, cqe.Result);
        Assert.Equal(0u, cqe.Flags);
        Assert.False(ring.HasCompletions);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(SingleIssuerDeferTaskrun)]
    public void ThousandNopsThroughA64EntryQueueAreEachReapedExactlyOnce(uint flags)
    {
        const int Count = 1000;
        using var ring = CreateRing(64, 0, flags);
        Assert.Equal(64u, ring.SqEntries);

        var seen = new int[Count];
        int submissions = 0;
        for (int i = 0; i < Count; i++)
        {
            Sqe* sqe = ring.TryGetSqe();
            if (sqe == null)
            {
                Assert.Equal(ring.SqEntries, ring.PendingSubmissions);
                Assert.Equal((int)ring.SqEntries, Submit(ring));
                submissions++;
                Tally(Reap(ring));
                sqe = GetSqe(ring);
            }

            SqePrep.Nop(sqe, (ulong)i);
        }

        Submit(ring);
        int outstanding = Count - seen.Sum();
        Tally(ReapCount(ring, outstanding, $"the last {outstanding} NOPs"));

        Assert.Equal(Count / 64, submissions);
        Assert.All(seen, s => Assert.Equal(1, s));
        Assert.Equal(0u, ring.CqOverflowCount);
        Assert.False(ring.HasCompletions);

        void Tally(List<Completion> cqes)
        {
            foreach (var c in cqes)
            {
                Assert.Equal(0, c.Result);
                Assert.InRange(c.UserData, 0UL, (ulong)Count - 1);
                seen[c.UserData]++;
            }
        }
    }

    [Fact]
    public void TryGetSqeReturnsNullWhenTheSubmissionQueueIsFull()
    {
        using var ring = CreateRing(8);
        for (int i = 0; i < ring.SqEntries; i++)
        {
            SqePrep.Nop(GetSqe(ring), (ulong)i);
        }

        Assert.True(ring.TryGetSqe() == null);
        Assert.True(ring.TryGetSqe() == null); // and handing out nothing did not move the tail
        Assert.Equal(ring.SqEntries, ring.PendingSubmissions);

        // Submitting frees the slots even before the completions are reaped.
        Assert.Equal((int)ring.SqEntries, Submit(ring));
        Sqe* next = ring.TryGetSqe();
        Assert.True(next != null);
        SqePrep.Nop(next, 8);
        Submit(ring);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => (ulong)i), ReapCount(ring, 9, "nine NOPs").Select(c => c.UserData).Order());
    }

    [Fact]
    public void TryGetSqeHandsOutAZeroedEntryWhenASlotIsReused()
    {
        using var ring = CreateRing(4);
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < ring.SqEntries; i++)
            {
                Sqe* sqe = GetSqe(ring);
                var bytes = new ReadOnlySpan<byte>(sqe, sizeof(Sqe));
                Assert.True(bytes.IndexOfAnyExcept((byte)0) < 0, $"round {round}, SQE {i} was handed out dirty");
                SqePrep.Nop(sqe, ulong.MaxValue - (ulong)i); // leaves non-zero bytes in the slot
            }

            Submit(ring);
            ReapCount(ring, (int)ring.SqEntries, "a round of NOPs");
        }
    }

    [Fact]
    public void RingRoundsEntriesUpToPowersOfTwoAndHonoursTheCqSize()
    {
        using (var ring = CreateRing(5))
        {
            Assert.Equal(8u, ring.SqEntries);
            Assert.Equal(16u, ring.CqEntries); // the kernel's default is twice the SQ
        }

        using (var ring = CreateRing(8, 100))
        {
            Assert.Equal(8u, ring.SqEntries);
            Assert.Equal(128u, ring.CqEntries);
            Assert.NotEqual(0u, ring.SetupFlags & SetupFlags.CqSize);
        }
    }

    [Fact]
    public void RegisteredRingFdStillRoundTripsNops()
    {
        Assert.True(Environment.OSVersion.Version >= new Version(5, 18), "IORING_REGISTER_RING_FDS needs 5.18; this test expects a kernel that has it");
        using var ring = CreateRing(8, 0, SingleIssuerDeferTaskrun);
        Assert.False(ring.UsesRegisteredRingFd);

        Assert.True(ring.TryRegisterRingFd());
        Assert.True(ring.UsesRegisteredRingFd);

        for (int round = 0; round < 3; round++)
        {
            SqePrep.Nop(GetSqe(ring), 100UL + (ulong)round);
            SqePrep.Nop(GetSqe(ring), 200UL + (ulong)round);
            Assert.Equal(2, ring.SubmitAndWait(2));
            var cqes = Reap(ring).OrderBy(c => c.UserData).ToList();
            Assert.Equal([100UL + (ulong)round, 200UL + (ulong)round], cqes.Select(c => c.UserData));
            Assert.All(cqes, c => Assert.Equal(0, c.Result));
        }
    }

    [Fact]
    public void SubmittingFromAnotherThreadFailsWithEExistOnASingleIssuerRing()
    {
        using var ring = CreateRing(8, 0, SingleIssuerDeferTaskrun);
        SqePrep.Nop(GetSqe(ring), 7);

        int fromOtherThread = 0;
        var thread = new Thread(() => fromOtherThread = ring.SubmitAndWait(0));
        thread.Start();
        Assert.True(thread.Join(WaitLimit));
        Assert.Equal(-Errno.EEXIST, fromOtherThread);

        // The owning thread submits the same NOP afterwards.
        Assert.Equal(1, ring.SubmitAndWait(1));
        Assert.Equal(7UL, Assert.Single(Reap(ring)).UserData);
    }

    [Fact]
    public void CqeSkipSuccessSuppressesTheCompletionOfASuccessfulNop()
    {
        // Checks that Sqe.Flags reaches the kernel as sqe->flags: only the second NOP may complete.
        Assert.NotEqual(0u, RingCapabilities.Current.KernelFeatureWord & Features.CqeSkip);
        using var ring = CreateRing(8);
        Sqe* skipped = GetSqe(ring);
        SqePrep.Nop(skipped, 1);
        skipped->Flags = SqeFlags.CqeSkipSuccess;
        SqePrep.Nop(GetSqe(ring), 2);

        Assert.Equal(2, ring.SubmitAndWait(1));
        Assert.Equal(2UL, Assert.Single(Reap(ring)).UserData);
        Submit(ring);
        Assert.Empty(Reap(ring)); // and nothing else arrives for the first
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FdAccountingCollection
{
    public const string Name = "io_uring fd accounting (runs alone)";
}

[Collection(FdAccountingCollection.Name)]
public sealed class RingFdTests
{
    [Fact]
    public void DisposeClosesTheRingFd()
    {
        int before = CountIoUringFds();

        var rings = new List<Ring>();
        for (int i = 0; i < 10; i++)
        {
            rings.Add(CreateRing(8));
        }

        Assert.Equal(before + 10, CountIoUringFds());
        Assert.All(rings, r => Assert.Equal("anon_inode:[io_uring]", FdTarget(r.Fd)));

        foreach (var r in rings)
        {
            r.Dispose();
        }

        Assert.Equal(before, CountIoUringFds());
        rings[0].Dispose(); // a second Dispose is harmless
        Assert.Equal(before, CountIoUringFds());
    }

    private static int CountIoUringFds()
        => Directory.GetFiles("/proc/self/fd").Count(path => FdTarget(path) == "anon_inode:[io_uring]");

    private static string? FdTarget(int fd) => FdTarget($"/proc/self/fd/{fd}");

    private static string? FdTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null; // closed between listing and reading
        }
    }
}
