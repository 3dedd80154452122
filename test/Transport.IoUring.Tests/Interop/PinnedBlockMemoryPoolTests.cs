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

    private static List<IMemoryOwner<byte>> RentMany(MemoryPool<byte> pool, int count)
        => Enumerable.Range(0, count).Select(_ => pool.Rent()).ToList();

    private static (byte[] Array, int Offset) Segment(IMemoryOwner<byte> block)
    {
        Assert.True(MemoryMarshal.TryGetArray<byte>(block.Memory, out var segment));
        return (segment.Array!, segment.Offset);
    }
}
