using System.Buffers;
using BenchmarkDotNet.Attributes;
using Transport.IoUring.Internal;

namespace Transport.IoUring.MicroBenchmarks;

/// <summary>
/// Rent and return of 4 KiB pipe blocks: the transport's pinned pool against
/// <see cref="MemoryPool{T}.Shared"/> (array-pool backed, not pinned).
/// </summary>
[MemoryDiagnoser]
public class MemoryPoolBenchmarks
{
    private readonly PinnedBlockMemoryPool _pinned = new();
    private readonly IMemoryOwner<byte>[] _held = new IMemoryOwner<byte>[16];

    [GlobalSetup]
    public void Setup()
    {
        // Slabs exist before measuring, as in a server that has run for a while.
        for (int i = 0; i < _held.Length; i++)
        {
            _held[i] = _pinned.Rent(PinnedBlockMemoryPool.BlockSize);
        }

        for (int i = 0; i < _held.Length; i++)
        {
            _held[i].Dispose();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _pinned.Dispose();

    [Benchmark(Baseline = true, Description = "PinnedBlockMemoryPool rent + return")]
    public int PinnedRentReturn()
    {
        var block = _pinned.Rent(PinnedBlockMemoryPool.BlockSize);
        int length = block.Memory.Length;
        block.Dispose();
        return length;
    }

    [Benchmark(Description = "MemoryPool<byte>.Shared rent + return")]
    public int SharedRentReturn()
    {
        var block = MemoryPool<byte>.Shared.Rent(PinnedBlockMemoryPool.BlockSize);
        int length = block.Memory.Length;
        block.Dispose();
        return length;
    }

    [Benchmark(Description = "PinnedBlockMemoryPool 16 rents, then 16 returns")]
    public int PinnedSixteen()
    {
        for (int i = 0; i < _held.Length; i++)
        {
            _held[i] = _pinned.Rent(PinnedBlockMemoryPool.BlockSize);
        }

        for (int i = 0; i < _held.Length; i++)
        {
            _held[i].Dispose();
        }

        return _held.Length;
    }
}
