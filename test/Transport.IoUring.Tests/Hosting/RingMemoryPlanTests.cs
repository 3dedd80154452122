using Transport.IoUring.Internal;
using Xunit;

namespace Transport.IoUring.Tests.Hosting;

/// <summary>
/// The locked-memory plan against what the 6.18 kernel charged, measured by binary search over
/// RLIMIT_MEMLOCK as an unprivileged user (build/memlock/ring-memlock.c, docs/configuration.md).
/// </summary>
public sealed class RingMemoryPlanTests
{
    private const int Page = 4096;

    [Theory]
    [InlineData(16, 0, 8192)]
    [InlineData(64, 0, 12288)]
    [InlineData(256, 0, 36864)]
    [InlineData(1024, 0, 139264)]
    [InlineData(2048, 0, 274432)]
    [InlineData(4096, 0, 544768)]
    [InlineData(1024, 512, 147456)]
    [InlineData(1024, 4096, 204800)]
    [InlineData(16, 1, 12288)]
    [InlineData(16, 256, 12288)]
    [InlineData(16, 512, 16384)]
    public void ARingIsChargedWhatTheKernelWasMeasuredToCharge(int ringEntries, int bufferRingEntries, long measuredBytes)
    {
        Assert.Equal(measuredBytes, RingMemoryPlan.BytesForRing(ringEntries, bufferRingEntries, Page));
    }

    [Fact]
    public void WithoutALimitTheRingsAreAsConfigured()
    {
        var plan = RingMemoryPlan.Create(new IoUringTransportOptions { RingCount = 64 }, usesBufferRing: true, limitBytes: null, Page);
        Assert.False(plan.IsReduced);
        Assert.Equal(64, plan.RingCount);
        Assert.Equal(1024, plan.RingEntries);
    }

    [Fact]
    public void AShortBudgetFirstCostsRingSizeThenRings()
    {
        var options = new IoUringTransportOptions { RingCount = 16 };

        // 16 × 256-entry rings (45,056 bytes each) fit 1 MiB; 16 × 512 (77,824) do not.
        var smaller = RingMemoryPlan.Create(options, usesBufferRing: true, limitBytes: 1024 * 1024, Page);
        Assert.Equal((16, 256), (smaller.RingCount, smaller.RingEntries));
        Assert.True(smaller.IsReduced);

        // At 256 entries only 5 rings fit 256 KiB.
        var fewer = RingMemoryPlan.Create(options, usesBufferRing: true, limitBytes: 256 * 1024, Page);
        Assert.Equal((5, 256), (fewer.RingCount, fewer.RingEntries));
        Assert.True(fewer.PlannedBytes <= 256 * 1024);
    }

    [Fact]
    public void WhenNotEvenOneRingOf256FitsOneSmallerRingIsPlannedAndBelowTheMinimumNone()
    {
        var options = new IoUringTransportOptions { RingCount = 2 };

        var one = RingMemoryPlan.Create(options, usesBufferRing: true, limitBytes: 20 * 1024, Page);
        Assert.Equal((1, 64, 256), (one.RingCount, one.RingEntries, one.BufferRingEntries));

        var none = RingMemoryPlan.Create(options, usesBufferRing: true, limitBytes: 8 * 1024, Page);
        Assert.Equal(0, none.RingCount);
        Assert.Contains("not even one ring of 16 entries (12288 bytes) fits", none.DescribeShortfall(), System.StringComparison.Ordinal);
    }
}
