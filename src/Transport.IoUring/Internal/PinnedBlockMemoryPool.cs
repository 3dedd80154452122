using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Threading;

namespace Transport.IoUring.Internal;

/// <summary>
/// The memory behind a ring's pipes: 4 KiB blocks cut from slabs on the pinned object heap, so the
/// kernel may read and write them while the GC runs and pinning costs nothing. Blocks are rented
/// and returned from any thread; a returned block is reused, never freed, as in Kestrel's pool.
/// </summary>
internal sealed class PinnedBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;
    private const int BlocksPerSlab = 32;

    private readonly ConcurrentQueue<Block> _blocks = new();
    private readonly ConcurrentDictionary<byte[], int> _slabIndexes = new(ReferenceEqualityComparer.Instance);
    private readonly object _slabLock = new();
    private long _slabCount;
    private int _disposed;

    /// <summary>Bytes in one slab: the unit the ring registers with the kernel.</summary>
    public const int SlabSize = BlocksPerSlab * BlockSize;

    public override int MaxBufferSize => BlockSize;

    /// <summary>Bytes allocated for slabs so far.</summary>
    public long AllocatedBytes => Interlocked.Read(ref _slabCount) * BlocksPerSlab * BlockSize;

    /// <summary>Blocks rented and not yet returned.</summary>
    public long RentedBlocks => Interlocked.Read(ref _slabCount) * BlocksPerSlab - _blocks.Count;

    public override IMemoryOwner<byte> Rent(int size = -1)
    {
        if (size > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"Cannot rent more than {BlockSize} bytes from this pool.");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);

        if (_blocks.TryDequeue(out var block))
        {
            block.MarkRented();
            return block;
        }

        return AllocateSlab();
    }

    /// <summary>The slab (and its index, in allocation order) that <paramref name="memory"/> was cut from; false for memory of another origin.</summary>
    public bool TryGetSlab(Memory<byte> memory, out int slabIndex, [NotNullWhen(true)] out byte[]? slab)
    {
        if (MemoryMarshal.TryGetArray<byte>(memory, out var segment) && _slabIndexes.TryGetValue(segment.Array!, out slabIndex))
        {
            slab = segment.Array!;
            return true;
        }

        slabIndex = -1;
        slab = null;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        // Blocks still held by pipes stay valid (they are GC memory); the pool only stops lending.
        Interlocked.Exchange(ref _disposed, 1);
    }

    private Block AllocateSlab()
    {
        lock (_slabLock)
        {
            if (_blocks.TryDequeue(out var existing))
            {
                existing.MarkRented();
                return existing;
            }

            byte[] slab = GC.AllocateUninitializedArray<byte>(SlabSize, pinned: true);
            _slabIndexes[slab] = (int)Interlocked.Read(ref _slabCount);
            for (int i = 1; i < BlocksPerSlab; i++)
            {
                _blocks.Enqueue(new Block(this, new Memory<byte>(slab, i * BlockSize, BlockSize)));
            }

            Interlocked.Increment(ref _slabCount);
            var first = new Block(this, new Memory<byte>(slab, 0, BlockSize));
            first.MarkRented();
            return first;
        }
    }

    private void Return(Block block)
    {
        // Atomic, so two threads returning the same block cannot both succeed.
        if (!block.TryMarkReturned())
        {
            throw new InvalidOperationException("A block of the io_uring transport's memory pool was returned twice.");
        }

        _blocks.Enqueue(block);
    }

    private sealed class Block : IMemoryOwner<byte>
    {
        private readonly PinnedBlockMemoryPool _pool;

        public Block(PinnedBlockMemoryPool pool, Memory<byte> memory)
        {
            _pool = pool;
            Memory = memory;
        }

        public Memory<byte> Memory { get; }

        private int _rented;

        public void MarkRented() => Volatile.Write(ref _rented, 1);

        public bool TryMarkReturned() => Interlocked.Exchange(ref _rented, 0) == 1;

        public void Dispose() => _pool.Return(this);
    }
}
