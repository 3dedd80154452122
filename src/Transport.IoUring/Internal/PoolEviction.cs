using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace Transport.IoUring.Internal;

/// <summary>
/// The timer that gives a ring group's idle pipe memory back: every period, each ring's pool
/// releases the slabs it did not need at the busiest moment of the period (all of whose blocks are
/// back), registered slabs are taken out of their ring's kernel table on the ring thread, and when
/// enough was released a garbage collection returns the pages to the OS. Off the rings' loops:
/// a ring only sees a posted work item when a slab it registered goes.
/// </summary>
/// <remarks>
/// Why the collection: the pool's slabs live on the pinned object heap, which only a full (gen 2)
/// collection sweeps, and a burst that ends leaves no allocation to trigger one; even after a
/// default full collection the server GC keeps most freed regions committed for reuse. Measured on
/// 200 MiB of freed 128 KiB pinned arrays (server GC, .NET 10): RSS 240 → 240 MiB without a
/// collection, → 177 MiB after GC.Collect() (also with compaction, GCConserveMemory=5 or 9, or
/// workstation GC: 208), → 67 MiB after an aggressive collection, which decommits the free
/// regions. So an aggressive collection, but only when a tick released at least
/// <see cref="CollectThresholdBytes"/>: a pool at a steady load releases nothing and never
/// triggers one, and a burst that ends triggers one or two.
/// </remarks>
internal sealed class PoolEviction : IAsyncDisposable
{
    /// <summary>Kestrel's eviction period (its PinnedBlockMemoryPool.DefaultEvictionDelay).</summary>
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromSeconds(10);

    /// <summary>Bytes released in one tick (all rings) that are worth a full, compacting collection.</summary>
    public const long CollectThresholdBytes = 8L * 1024 * 1024;

    private readonly RingThread[] _ringThreads;
    private readonly ILogger _logger;
    private readonly PeriodicTimer? _timer;
    private readonly Task _loop;
    private readonly SemaphoreSlim _tickLock = new(1, 1);

    public PoolEviction(RingThread[] rings, TimeSpan period, ILogger logger)
    {
        _ringThreads = rings;
        _logger = logger;
        if (period == Timeout.InfiniteTimeSpan)
        {
            _loop = Task.CompletedTask;
            return;
        }

        _timer = new PeriodicTimer(period);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Full collections this eviction triggered (diagnostics, tests).</summary>
    public int Collections { get; private set; }

    /// <summary>
    /// One eviction pass over every ring (what a tick does): returns the bytes released. The caller
    /// may be a test; ticks and such calls do not overlap.
    /// </summary>
    public async Task<long> EvictOnceAsync()
    {
        await _tickLock.WaitAsync().ConfigureAwait(false);
        try
        {
            long released = 0;
            List<Task>? unregistering = null;
            foreach (var ring in _ringThreads)
            {
                var pool = ring.MemoryPool;
                var evicted = pool.EvictIdleSlabs();
                if (evicted.Count == 0)
                {
                    continue;
                }

                released += (long)evicted.Count * PinnedBlockMemoryPool.SlabSize;
                IoUringLog.PoolEvicted(_logger, ring.Id, evicted.Count, (long)evicted.Count * PinnedBlockMemoryPool.SlabSize,
                    pool.PooledBytes, pool.RentedBlocks * PinnedBlockMemoryPool.BlockSize);
                if (ring.RegisteredSlabs is { } registered)
                {
                    (unregistering ??= new()).Add(registered.ReleaseAsync(evicted));
                }
                else
                {
                    foreach (var slab in evicted)
                    {
                        pool.ReleaseSlabIndex(slab.Index);
                    }
                }
            }

            if (unregistering is not null)
            {
                // The arrays are referenced until their slots are empty; collect after that.
                await Task.WhenAll(unregistering).ConfigureAwait(false);
            }

            if (released >= CollectThresholdBytes)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                Collections++;
            }

            return released;
        }
        finally
        {
            _tickLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _timer?.Dispose();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        try
        {
            while (await _timer!.WaitForNextTickAsync().ConfigureAwait(false))
            {
                await EvictOnceAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            IoUringLog.PoolEvictionFailed(_logger, ex);
        }
    }
}
