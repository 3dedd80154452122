using System.Threading;

namespace Transport.IoUring.Internal;

// What a ring counts, for metrics, diagnostics and tests. Written by the ring thread with plain
// stores; read from any thread.
internal sealed partial class RingThread
{
    /// <summary>The ring's fd, for diagnostics and tests (-1 before start).</summary>
    public int RingFd => _ring?.Fd ?? -1;

    /// <summary>Reads that went into registered pipe memory (IORING_OP_READ_FIXED).</summary>
    public long FixedBufferReads => _registeredSlabs?.FixedBufferReads ?? 0;

    /// <summary>Receive completions that filled more than one provided buffer (receive bundles, 6.10).</summary>
    public long MultiBufferCompletions => _bufferRing?.MultiBufferCompletions ?? 0;

    /// <summary>Receive completions that continued a provided buffer earlier ones had partly used (incremental consumption, 6.12).</summary>
    public long PartialBufferReuses => _bufferRing?.PartialBufferReuses ?? 0;

    /// <summary>The pool slabs registered with this ring's kernel table (null unless PollAndReceive uses registered buffers).</summary>
    public RegisteredSlabs? RegisteredSlabs => _registeredSlabs;

    /// <summary>Completions that arrived for a recycled slot and were dropped.</summary>
    public long StaleCompletions { get; private set; }

    /// <summary>io_uring_enter calls replaced by a simulated error (tests).</summary>
    public long SimulatedEnterErrors => _enterFaults?.Injected ?? 0;

    /// <summary>
    /// Counts of the I/O path for the transport's metrics, incremented by this ring's thread only.
    /// Other threads use <see cref="ReadCounters"/>.
    /// </summary>
    public RingCounters Counters;

    /// <summary>A snapshot of everything this ring has counted; any thread, also after the ring stopped.</summary>
    public RingCounters ReadCounters()
    {
        var ring = Volatile.Read(ref _ring);
        return new RingCounters
        {
            BytesReceived = Volatile.Read(ref Counters.BytesReceived),
            BytesSent = Volatile.Read(ref Counters.BytesSent),
            BufferRingExhaustions = Volatile.Read(ref Counters.BufferRingExhaustions),
            AcceptedConnections = Connections.Accepted,
            ActiveConnections = Connections.Active,
            EnterCalls = ring?.EnterCalls ?? 0,
            SubmittedSqes = ring?.SubmittedSqes ?? 0,
            ReapedCqes = ring?.ReapedCqes ?? 0,
            CqOverflows = ring?.CqOverflowCount ?? 0,
            ApplicationStalls = _applicationQueue.Stalls,
            PoolPooledBytes = MemoryPool.PooledBytes,
            PoolAllocatedBytes = MemoryPool.AllocatedBytesTotal,
            PoolEvictedBytes = MemoryPool.EvictedBytesTotal,
            PoolRentedBytes = MemoryPool.RentedBytesTotal,
        };
    }

    /// <summary>Requests whose final CQE is not reaped yet (diagnostics; read from any thread).</summary>
    public long InFlight => _ring?.InFlight ?? 0;
}
