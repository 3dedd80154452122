using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Transport.IoUring.Internal;
using Xunit;

namespace Transport.IoUring.Tests.Interop;

public sealed class PinnedBlockMemoryPoolTests
{
    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4096)]
    public void RentReturnsA4096ByteBlock(int size)
    {
        using var pool = new PinnedBlockMemoryPool();
        using var block = pool.Rent(size);
        Assert.Equal(4096, block.Memory.Length);
        Assert.Equal(4096, pool.MaxBufferSize);
    }

    [Fact]
    public void RentingMoreThan4096BytesThrows()
    {
        using var pool = new PinnedBlockMemoryPool();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(4097));
        Assert.Equal("size", ex.ParamName);
    }

    [Fact]
    public void ReturnedBlocksAreReusedInsteadOfAllocatingMore()
    {
        using var pool = new PinnedBlockMemoryPool();
        var first = RentMany(pool, 64);
        long allocated = pool.AllocatedBytes;
        Assert.True(allocated >= 64 * 4096, $"allocated {allocated}");
        Assert.Equal(64, pool.RentedBlocks);
        var firstSegments = first.Select(Segment).ToHashSet();
        Assert.Equal(64, firstSegments.Count); // no block lent twice

        foreach (var b in first)
        {
            b.Dispose();
        }

        Assert.Equal(0, pool.RentedBlocks);
        var second = RentMany(pool, 64);
        Assert.Equal(allocated, pool.AllocatedBytes);
        Assert.True(firstSegments.SetEquals(second.Select(Segment)), "the second round of rents did not get the returned blocks back");
        foreach (var b in second)
        {
            b.Dispose();
        }
    }

    [Fact]
    public void BlocksAreCutFromSharedSlabsWithoutOverlapping()
    {
        using var pool = new PinnedBlockMemoryPool();
        var blocks = RentMany(pool, 40); // more than one slab
        var ranges = new List<(nint Start, nint End)>();
        foreach (var b in blocks)
        {
            using var pin = b.Memory.Pin();
            nint start;
            unsafe
            {
                start = (nint)pin.Pointer;
            }

            ranges.Add((start, start + b.Memory.Length));
            b.Memory.Span.Fill(0xAB);
        }

        ranges.Sort();
        for (int i = 1; i < ranges.Count; i++)
        {
            Assert.True(ranges[i].Start >= ranges[i - 1].End, "two blocks overlap");
        }

        Assert.All(blocks, b => Assert.True(MemoryMarshal.TryGetArray<byte>(b.Memory, out var seg) && seg.Array!.Length > 4096));
        foreach (var b in blocks)
        {
            b.Dispose();
        }
    }

    [Fact]
    public void ReturningABlockTwiceThrows()
    {
        using var pool = new PinnedBlockMemoryPool();
        var block = pool.Rent();
        block.Dispose();
        var ex = Assert.Throws<InvalidOperationException>(() => block.Dispose());
        Assert.Contains("returned twice", ex.Message);
        Assert.Equal(0, pool.RentedBlocks); // the second return did not enqueue it again
    }

    [Fact]
    public void RentingFromADisposedPoolThrows()
    {
        var pool = new PinnedBlockMemoryPool();
        var held = pool.Rent();
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
        held.Memory.Span.Fill(1); // blocks still out stay usable
        held.Dispose();
    }

    [Fact]
    public void ConcurrentRentersNeverShareABlock()
    {
        using var pool = new PinnedBlockMemoryPool();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            byte mark = (byte)(worker + 1);
            for (int i = 0; i < 5_000; i++)
            {
                using var block = pool.Rent();
                var span = block.Memory.Span;
                span.Fill(mark);
                Assert.True(span.IndexOfAnyExcept(mark) < 0, "another renter wrote into this block");
            }
        });
        Assert.Equal(0, pool.RentedBlocks);
    }

    [Fact]
    public void IdleSlabsAreReleasedOnlyAfterAPeriodThatDidNotNeedThem()
    {
        using var pool = new PinnedBlockMemoryPool();
        var blocks = RentMany(pool, 4 * 32);
        Assert.Equal(4 * PinnedBlockMemoryPool.SlabSize, pool.AllocatedBytes);
        foreach (var b in blocks)
        {
            b.Dispose();
        }

        // The period that just ended needed all four slabs at once: they stay.
        Assert.Empty(pool.EvictIdleSlabs());
        Assert.Equal(4 * PinnedBlockMemoryPool.SlabSize, pool.PooledBytes);

        // A whole period without a rent: every idle slab goes.
        var evicted = pool.EvictIdleSlabs();
        Assert.Equal(4, evicted.Count);
        Assert.Equal(0, pool.AllocatedBytes);
        Assert.Equal(0, pool.PooledBytes);
        Assert.Equal(4 * PinnedBlockMemoryPool.SlabSize, pool.EvictedBytesTotal);
        Assert.Equal(4 * PinnedBlockMemoryPool.SlabSize, pool.AllocatedBytesTotal);
    }

    [Fact]
    public void ASlabWithABlockStillRentedIsKeptAndItsBlockStaysUsable()
    {
        using var pool = new PinnedBlockMemoryPool();
        var blocks = RentMany(pool, 64);
        var held = blocks[5];
        foreach (var b in blocks.Where(b => b != held))
        {
            b.Dispose();
        }

        pool.EvictIdleSlabs();
        var evicted = pool.EvictIdleSlabs();

        Assert.Single(evicted);
        Assert.Equal(PinnedBlockMemoryPool.SlabSize, pool.AllocatedBytes);
        Assert.True(pool.TryGetSlab(held.Memory, out _, out var slab));
        Assert.NotSame(evicted[0].Array, slab);
        Assert.False(pool.TryGetSlab(new Memory<byte>(evicted[0].Array, 0, 4096), out _, out _));
        held.Memory.Span.Fill(7);

        // The kept slab's other blocks are lent again, and no evicted block is.
        var again = RentMany(pool, 31);
        Assert.All(again, b => Assert.Same(slab, Segment(b).Array));
        Assert.Equal(PinnedBlockMemoryPool.SlabSize, pool.AllocatedBytes);
        Assert.True(held.Memory.Span.IndexOfAnyExcept((byte)7) < 0, "a block rented after the eviction overlapped the held one");
        foreach (var b in again.Append(held))
        {
            b.Dispose();
        }

        Assert.Equal(0, pool.RentedBlocks);
    }

    [Fact]
    public void AnEvictedSlabsIndexIsNotGivenToANewSlabUntilItIsReleased()
    {
        using var pool = new PinnedBlockMemoryPool();
        var first = RentMany(pool, 32);
        Assert.True(pool.TryGetSlab(first[0].Memory, out int firstIndex, out _));
        first.ForEach(b => b.Dispose());
        pool.EvictIdleSlabs();
        var evicted = Assert.Single(pool.EvictIdleSlabs());
        Assert.Equal(firstIndex, evicted.Index);

        var second = pool.Rent();
        Assert.True(pool.TryGetSlab(second.Memory, out int secondIndex, out _));
        Assert.NotEqual(firstIndex, secondIndex); // the kernel may still name the old slab under firstIndex

        pool.ReleaseSlabIndex(firstIndex);
        var third = RentMany(pool, 32); // 31 from the second slab, then a new one
        Assert.True(pool.TryGetSlab(third[^1].Memory, out int thirdIndex, out _));
        Assert.Equal(firstIndex, thirdIndex);
        second.Dispose();
        third.ForEach(b => b.Dispose());
    }

    [Fact]
    public void EvictionRacingRentersNeverLendAnEvictedOrSharedBlock()
    {
        using var pool = new PinnedBlockMemoryPool();
        using var stop = new System.Threading.CancellationTokenSource();
        int evictedSlabs = 0;
        // A thread of its own: the thread pool's few threads are busy with the renters.
        var evictor = new System.Threading.Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var slab in pool.EvictIdleSlabs())
                {
                    // An evicted slab is nobody's: scribbling over it must not show in any renter's block.
                    slab.Array.AsSpan().Fill(0xEE);
                    pool.ReleaseSlabIndex(slab.Index);
                    System.Threading.Interlocked.Increment(ref evictedSlabs);
                }
            }
        });
        evictor.Start();

        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            byte mark = (byte)(worker + 1);
            var held = new List<IMemoryOwner<byte>>();
            // Bursts of 200 blocks between stretches of 4, so slabs keep falling idle and coming back.
            for (int i = 0; i < 20_000; i++)
            {
                var block = pool.Rent();
                block.Memory.Span.Fill(mark);
                held.Add(block);
                if (held.Count == ((i / 1000) % 2 == 0 ? 200 : 4))
                {
                    foreach (var b in held)
                    {
                        Assert.True(b.Memory.Span.IndexOfAnyExcept(mark) < 0, "a lent block was written by another renter or the evictor");
                        b.Dispose();
                    }

                    held.Clear();
                }
            }

            held.ForEach(b => b.Dispose());
        });

        stop.Cancel();
        evictor.Join();
        Assert.Equal(0, pool.RentedBlocks);
        Assert.True(evictedSlabs > 0, "the evictor never released a slab, so the race was not exercised");
    }

    private static List<IMemoryOwner<byte>> RentMany(MemoryPool<byte> pool, int count)
        => Enumerable.Range(0, count).Select(_ => pool.Rent()).ToList();

    private static (byte[] Array, int Offset) Segment(IMemoryOwner<byte> block)
    {
        Assert.True(MemoryMarshal.TryGetArray<byte>(block.Memory, out var segment));
        return (segment.Array!, segment.Offset);
    }
}
