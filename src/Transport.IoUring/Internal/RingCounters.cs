namespace Transport.IoUring.Internal;

/// <summary>
/// What one ring has counted, for the transport's metrics (<see cref="IoUringMetrics"/>). A ring's
/// own <see cref="RingThread.Counters"/> are written only by its thread, with plain increments: no
/// interlocked operation and no meter call on the I/O path. <see cref="RingThread.ReadCounters"/>
/// takes a snapshot of everything from any thread.
/// </summary>
internal struct RingCounters
{
    /// <summary>Bytes received from the network into connections' input pipes.</summary>
    public long BytesReceived;

    /// <summary>Bytes the kernel reported sent.</summary>
    public long BytesSent;

    /// <summary>Receive completions with ENOBUFS: the provided-buffer ring was empty at that instant.</summary>
    public long BufferRingExhaustions;

    // Filled in by snapshots only (the ring thread counts these elsewhere).
    public long AcceptedConnections;
    public long ActiveConnections;
    public long EnterCalls;
    public long SubmittedSqes;
    public long ReapedCqes;
    public long CqOverflows;
    public long ApplicationStalls;

    // The ring's memory pool (PinnedBlockMemoryPool), bytes. Pooled is a level, like ActiveConnections.
    public long PoolPooledBytes;
    public long PoolAllocatedBytes;
    public long PoolEvictedBytes;
    public long PoolRentedBytes;

    /// <summary>Adds the cumulative counts of <paramref name="other"/> (not its levels: active connections, pooled bytes).</summary>
    public void AddTotals(in RingCounters other)
    {
        BytesReceived += other.BytesReceived;
        BytesSent += other.BytesSent;
        BufferRingExhaustions += other.BufferRingExhaustions;
        AcceptedConnections += other.AcceptedConnections;
        EnterCalls += other.EnterCalls;
        SubmittedSqes += other.SubmittedSqes;
        ReapedCqes += other.ReapedCqes;
        CqOverflows += other.CqOverflows;
        ApplicationStalls += other.ApplicationStalls;
        PoolAllocatedBytes += other.PoolAllocatedBytes;
        PoolEvictedBytes += other.PoolEvictedBytes;
        PoolRentedBytes += other.PoolRentedBytes;
    }
}
