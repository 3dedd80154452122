using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Threading;

namespace Transport.IoUring.Internal;

/// <summary>
/// The memory behind a ring's pipes: 4 KiB blocks cut from 128 KiB slabs on the pinned object heap,
/// so the kernel may read and write them while the GC runs and pinning costs nothing. Blocks are
/// rented and returned from any thread and reused. Slabs whose blocks are all back, beyond what the
/// busiest moment of the last eviction period needed, are released by <see cref="EvictIdleSlabs"/>
/// (driven by a timer, <see cref="PoolEviction"/>), as Kestrel's own pool evicts idle blocks.
/// </summary>
/// <remarks>
/// Each slab has an index, small and dense, which the ring uses as its slot in the kernel's table
/// of registered buffers (<see cref="RegisteredSlabs"/>). An evicted slab's index is not given to a
/// new slab until <see cref="ReleaseSlabIndex"/>: the ring first empties that slot, so the kernel
/// never reads a new slab through a slot that still names the old one.
/// </remarks>
internal sealed class PinnedBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;
    private const int BlocksPerSlab = 32;

    /// <summary>Bytes in one slab: the unit the ring registers with the kernel and the pool releases.</summary>
    public const int SlabSize = BlocksPerSlab * BlockSize;

    private readonly ConcurrentQueue<Block> _blocks = new();
    private readonly ConcurrentDictionary<byte[], Slab> _slabsByArray = new(ReferenceEqualityComparer.Instance);

    // Guarded by _slabLock: the live slabs by index (null: free or reserved), and the indexes free
    // for new slabs (reserved indexes of evicted slabs are in neither).
    private readonly object _slabLock = new();
    private Slab?[] _slabs = new Slab?[64];
    private readonly SortedSet<int> _freeIndexes = new();
    private readonly List<byte[]> _quarantined = new();
    private int _indexesUsed;

    private long _slabCount;
    private long _rentedBlocks;
    private long _peakRentedBlocks;
    private long _rentedBytesTotal;
    private long _allocatedBytesTotal;
    private long _evictedBytesTotal;
    private long _doubleReturns;
    private int _disposed;

    public override int MaxBufferSize => BlockSize;

    /// <summary>Bytes of the slabs this pool holds now (rented or pooled).</summary>
    public long AllocatedBytes => Interlocked.Read(ref _slabCount) * SlabSize;

    /// <summary>Blocks rented and not yet returned.</summary>
    public long RentedBlocks => Interlocked.Read(ref _rentedBlocks);

    /// <summary>Bytes held by the pool and free for reuse (rented blocks excluded).</summary>
    public long PooledBytes => Volatile.Read(ref _disposed) != 0 ? 0 : AllocatedBytes - RentedBlocks * BlockSize;

    /// <summary>Bytes rented since the pool was created (every rent counts its block).</summary>
    public long RentedBytesTotal => Interlocked.Read(ref _rentedBytesTotal);

    /// <summary>Bytes of slabs allocated since the pool was created.</summary>
    public long AllocatedBytesTotal => Interlocked.Read(ref _allocatedBytesTotal);

    /// <summary>Blocks returned a second time (each also threw); a bug in whoever returned them.</summary>
    public long DoubleReturns => Interlocked.Read(ref _doubleReturns);

    /// <summary>Bytes of slabs released by eviction since the pool was created.</summary>
    public long EvictedBytesTotal => Interlocked.Read(ref _evictedBytesTotal);

    public override IMemoryOwner<byte> Rent(int size = -1)
    {
        if (size > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"Cannot rent more than {BlockSize} bytes from this pool.");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);

        if (!_blocks.TryDequeue(out var block))
        {
            block = AllocateSlab();
        }

        block.MarkRented();
        long rented = Interlocked.Increment(ref _rentedBlocks);
        if (rented > Volatile.Read(ref _peakRentedBlocks))
        {
            // A racing rent may overwrite a slightly higher peak: the peak only sizes what eviction
            // keeps, and the next rent at that level corrects it.
            Volatile.Write(ref _peakRentedBlocks, rented);
        }

        Interlocked.Add(ref _rentedBytesTotal, BlockSize);
        return block;
    }

    /// <summary>The slab (and its index) that <paramref name="memory"/> was cut from; false for memory of another origin.</summary>
    public bool TryGetSlab(Memory<byte> memory, out int slabIndex, [NotNullWhen(true)] out byte[]? slab)
    {
        if (MemoryMarshal.TryGetArray<byte>(memory, out var segment) && _slabsByArray.TryGetValue(segment.Array!, out var owner))
        {
            slabIndex = owner.Index;
            slab = owner.Array;
            return true;
        }

        slabIndex = -1;
        slab = null;
        return false;
    }

    /// <summary>
    /// Releases slabs whose blocks are all in the pool, keeping enough slabs for the most blocks
    /// rented at once since the last call; returns the released slabs, whose indexes stay reserved
    /// until <see cref="ReleaseSlabIndex"/>. Any thread; rents that find the pool empty meanwhile
    /// wait for it instead of allocating.
    /// </summary>
    public List<EvictedSlab> EvictIdleSlabs()
    {
        var evicted = new List<EvictedSlab>();
        lock (_slabLock)
        {
            long rented = Interlocked.Read(ref _rentedBlocks);
            long peak = Math.Max(Interlocked.Exchange(ref _peakRentedBlocks, rented), rented);
            long keep = (peak + BlocksPerSlab - 1) / BlocksPerSlab;
            long surplus = Interlocked.Read(ref _slabCount) - keep;
            if (surplus <= 0 || _disposed != 0)
            {
                return evicted;
            }

            // Take every pooled block out, count them per slab, and put back those of the slabs
            // that stay, lowest index first: the next rents come from the low slabs, so the high
            // ones are the next to fall idle.
            var drained = new List<Block>(_blocks.Count);
            while (_blocks.TryDequeue(out var block))
            {
                drained.Add(block);
                block.Slab.PooledBlocks++;
            }

            for (int i = _indexesUsed - 1; i >= 0 && surplus > 0; i--)
            {
                var slab = _slabs[i];
                if (slab is not null && slab.PooledBlocks == BlocksPerSlab)
                {
                    slab.Evicted = true;
                    _slabs[i] = null;
                    _slabsByArray.TryRemove(slab.Array, out _);
                    surplus--;
                    evicted.Add(new EvictedSlab(slab.Index, slab.Array));
                }
            }

            drained.Sort(static (a, b) => a.Slab.Index != b.Slab.Index ? a.Slab.Index - b.Slab.Index : a.Offset - b.Offset);
            foreach (var block in drained)
            {
                block.Slab.PooledBlocks = 0;
                if (!block.Slab.Evicted)
                {
                    _blocks.Enqueue(block);
                }
            }

            Interlocked.Add(ref _slabCount, -evicted.Count);
            Interlocked.Add(ref _evictedBytesTotal, (long)evicted.Count * SlabSize);
        }

        return evicted;
    }

    /// <summary>Makes the index of an evicted slab available to new slabs (once no kernel table names it).</summary>
    public void ReleaseSlabIndex(int index)
    {
        lock (_slabLock)
        {
            _freeIndexes.Add(index);
        }
    }

    /// <summary>Keeps an evicted slab's array alive and its index out of use for good (its slot could not be emptied).</summary>
    public void Quarantine(EvictedSlab slab)
    {
        lock (_slabLock)
        {
            _quarantined.Add(slab.Array);
        }
    }

    protected override void Dispose(bool disposing)
    {
        // Blocks still held by pipes stay valid (they are GC memory); the pool only stops lending
        // and lets go of its pooled blocks.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            lock (_slabLock)
            {
                _blocks.Clear();
                Array.Clear(_slabs);
                _slabsByArray.Clear();
            }
        }
    }

    private Block AllocateSlab()
    {
        lock (_slabLock)
        {
            if (_blocks.TryDequeue(out var existing))
            {
                return existing;
            }

            int index;
            if (_freeIndexes.Count > 0)
            {
                index = _freeIndexes.Min;
                _freeIndexes.Remove(index);
            }
            else
            {
                index = _indexesUsed++;
                if (index == _slabs.Length)
                {
                    Array.Resize(ref _slabs, index * 2);
                }
            }

            var slab = new Slab(index, GC.AllocateUninitializedArray<byte>(SlabSize, pinned: true));
            _slabs[index] = slab;
            _slabsByArray[slab.Array] = slab;
            for (int i = 1; i < BlocksPerSlab; i++)
            {
                _blocks.Enqueue(new Block(this, slab, i * BlockSize));
            }

            Interlocked.Increment(ref _slabCount);
            Interlocked.Add(ref _allocatedBytesTotal, SlabSize);
            return new Block(this, slab, 0);
        }
    }

    private void Return(Block block)
    {
        // Atomic, so two threads returning the same block cannot both succeed.
        if (!block.TryMarkReturned())
        {
            Interlocked.Increment(ref _doubleReturns);
            throw new InvalidOperationException("A block of the io_uring transport's memory pool was returned twice.");
        }

        Interlocked.Decrement(ref _rentedBlocks);
        if (Volatile.Read(ref _disposed) == 0)
        {
            _blocks.Enqueue(block);
        }
    }

    /// <summary>A slab taken out of the pool: its kernel registration (if any) must go before its index is reused.</summary>
    public readonly record struct EvictedSlab(int Index, byte[] Array);

    private sealed class Slab(int index, byte[] array)
    {
        public int Index { get; } = index;
        public byte[] Array { get; } = array;

        // Under the pool's slab lock, during an eviction only.
        public int PooledBlocks;
        public bool Evicted;
    }

    private sealed class Block : IMemoryOwner<byte>
    {
        private readonly PinnedBlockMemoryPool _pool;
        private int _rented;

        public Block(PinnedBlockMemoryPool pool, Slab slab, int offset)
        {
            _pool = pool;
            Slab = slab;
            Offset = offset;
            Memory = new Memory<byte>(slab.Array, offset, BlockSize);
        }

        public Slab Slab { get; }

        public int Offset { get; }

        public Memory<byte> Memory { get; }

        public void MarkRented() => Volatile.Write(ref _rented, 1);

        public bool TryMarkReturned() => Interlocked.Exchange(ref _rented, 0) == 1;

        public void Dispose() => _pool.Return(this);
    }
}
