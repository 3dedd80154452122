using System;
using Microsoft.Extensions.Logging;

namespace Transport.IoUring.Internal;

/// <summary>
/// The transport's log messages. Categories: Transport.IoUring (start-up, fallback, rings) and
/// Transport.IoUring.Connections (per connection, Debug and below only).
/// </summary>
internal static partial class IoUringLog
{
    [LoggerMessage(1, LogLevel.Information, "Kestrel is serving {EndPoint} on io_uring: {RingCount} ring thread(s), receive mode {ReceiveMode}, kernel {KernelVersion}, features in use: {Features}.", EventName = "Serving")]
    public static partial void Serving(ILogger logger, string endPoint, int ringCount, IoUringReceiveMode receiveMode, Version kernelVersion, string features);

    [LoggerMessage(2, LogLevel.Warning, "io_uring is unavailable, so Kestrel falls back to the Sockets transport: {Reason}", EventName = "FallingBackToSockets")]
    public static partial void FallingBackToSockets(ILogger logger, string reason);

    [LoggerMessage(3, LogLevel.Warning, "Receive mode BufferRing needs a provided-buffer ring (Linux 5.19); ring {RingId} uses PollAndReceive instead.", EventName = "BufferRingUnavailable")]
    public static partial void BufferRingUnavailable(ILogger logger, int ringId);

    [LoggerMessage(4, LogLevel.Warning, "Accepting on {EndPoint} failed with {Error}; retrying in {DelayMs} ms ({Suppressed} more such failures since the last report; reported at most every 10 s).", EventName = "AcceptBackoff")]
    public static partial void AcceptBackoff(ILogger logger, string endPoint, string error, int delayMs, int suppressed);

    [LoggerMessage(5, LogLevel.Error, "Accepting on {EndPoint} failed with {Error}; this ring stops accepting on it.", EventName = "AcceptFailed")]
    public static partial void AcceptFailed(ILogger logger, string endPoint, string error);

    [LoggerMessage(6, LogLevel.Critical, "io_uring_enter failed on ring {RingId}: {Error} ({Suppressed} more such failures since the last report; reported at most every 10 s).", EventName = "EnterFailed")]
    public static partial void EnterFailed(ILogger logger, int ringId, string error, int suppressed);

    [LoggerMessage(7, LogLevel.Error, "Unexpected exception on ring thread {RingId}.", EventName = "RingThreadError")]
    public static partial void RingThreadError(ILogger logger, int ringId, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Ring {RingId} stopped with {InFlight} request(s) still in flight after {TimeoutMs} ms.", EventName = "RingStopTimedOut")]
    public static partial void RingStopTimedOut(ILogger logger, int ringId, long inFlight, int timeoutMs);

    [LoggerMessage(9, LogLevel.Warning, "Ring {RingId} could not register pipe memory slab {SlabIndex} with the kernel ({Error}); reads into unregistered slabs use plain recv. Raise RLIMIT_MEMLOCK (ulimit -l) to register more.", EventName = "RegisteredBuffersLimited")]
    public static partial void RegisteredBuffersLimited(ILogger logger, int ringId, int slabIndex, string error);

    [LoggerMessage(60, LogLevel.Warning, "Ring {RingId} could not empty registered-buffer slot {SlabIndex} of an evicted pipe memory slab ({Error}); the slab is kept and its slot is not reused.", EventName = "SlabUnregisterFailed")]
    public static partial void SlabUnregisterFailed(ILogger logger, int ringId, int slabIndex, string error);

    [LoggerMessage(61, LogLevel.Debug, "Ring {RingId}'s memory pool released {Slabs} idle slab(s) ({Bytes} bytes); {PooledBytes} bytes stay pooled and {RentedBytes} rented.", EventName = "PoolEvicted")]
    public static partial void PoolEvicted(ILogger logger, int ringId, int slabs, long bytes, long pooledBytes, long rentedBytes);

    [LoggerMessage(62, LogLevel.Debug, "Ring {RingId} stopped with {Blocks} block(s) of its memory pool still rented (held by pipes the application has not completed yet, or leaked).", EventName = "PoolBlocksRentedAtStop")]
    public static partial void PoolBlocksRentedAtStop(ILogger logger, int ringId, long blocks);

    [LoggerMessage(63, LogLevel.Error, "Releasing idle pipe memory failed; eviction stops until the rings restart.", EventName = "PoolEvictionFailed")]
    public static partial void PoolEvictionFailed(ILogger logger, Exception exception);

    [LoggerMessage(40, LogLevel.Warning, "The io_uring rings are reduced to fit locked memory: {Shortfall}", EventName = "RingsReducedToFitLockedMemory")]
    public static partial void RingsReducedToFitLockedMemory(ILogger logger, string shortfall);

    [LoggerMessage(41, LogLevel.Information, "io_uring is switched off (Kestrel:Transport:IoUring:Enabled is false), so Kestrel serves on the Sockets transport.", EventName = "Disabled")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(42, LogLevel.Warning, "Configuration section Kestrel:Transport:IoUring has key(s) no option binds, ignored: {UnknownKeys}. The options are: {KnownKeys}.", EventName = "UnknownConfigurationKeys")]
    public static partial void UnknownConfigurationKeys(ILogger logger, string unknownKeys, string knownKeys);

    // Per-connection events, category Transport.IoUring.Connections (as Kestrel's Sockets transport logs them).

    [LoggerMessage(20, LogLevel.Debug, @"Connection id ""{ConnectionId}"" received FIN.", EventName = "ConnectionReadFin")]
    public static partial void ConnectionReadFin(ILogger logger, string connectionId);

    [LoggerMessage(21, LogLevel.Debug, @"Connection id ""{ConnectionId}"" sending FIN because: ""{Reason}""", EventName = "ConnectionWriteFin")]
    public static partial void ConnectionWriteFin(ILogger logger, string connectionId, string reason);

    [LoggerMessage(22, LogLevel.Debug, @"Connection id ""{ConnectionId}"" reset.", EventName = "ConnectionReset")]
    public static partial void ConnectionReset(ILogger logger, string connectionId);

    [LoggerMessage(23, LogLevel.Debug, @"Connection id ""{ConnectionId}"" paused.", EventName = "ConnectionPause")]
    public static partial void ConnectionPause(ILogger logger, string connectionId);

    [LoggerMessage(24, LogLevel.Debug, @"Connection id ""{ConnectionId}"" resumed.", EventName = "ConnectionResume")]
    public static partial void ConnectionResume(ILogger logger, string connectionId);

    [LoggerMessage(25, LogLevel.Debug, @"Connection id ""{ConnectionId}"" communication error.", EventName = "ConnectionError")]
    public static partial void ConnectionError(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(26, LogLevel.Debug, @"Connection id ""{ConnectionId}"" aborted: ""{Reason}"".", EventName = "ConnectionAbort")]
    public static partial void ConnectionAbort(ILogger logger, string connectionId, string reason);
}
