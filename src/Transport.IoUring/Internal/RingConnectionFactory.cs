using System.Diagnostics;
using System.IO.Pipelines;
using System.Threading;
using Microsoft.Extensions.Logging;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// Builds the connections of one ring from accepted fds: endpoints, TCP_NODELAY where the listen
/// socket did not pass it on, a slot, and pipes from <see cref="PipeOptions"/> made once per ring
/// (as Kestrel's Sockets transport makes them once per I/O queue). Counts what it built.
/// </summary>
internal sealed class RingConnectionFactory
{
    private readonly RingThread _ringThread;
    private readonly RingSlots _slots;
    private readonly RingApplicationQueue _applicationQueue;
    private readonly bool _inline;
    private readonly long _maxRead;
    private readonly long _maxWrite;
    private long _accepted;
    private int _active;

    public RingConnectionFactory(RingThread ringThread, RingSlots slots, IoUringTransportOptions options, RingApplicationQueue applicationQueue, ILoggerFactory loggerFactory)
    {
        _ringThread = ringThread;
        _slots = slots;
        _applicationQueue = applicationQueue;
        _inline = options.UnsafePreferInlineScheduling;
        Logger = loggerFactory.CreateLogger("Transport.IoUring.Connections");
        _maxRead = options.MaxReadBufferSize ?? 0;
        _maxWrite = options.MaxWriteBufferSize ?? 0;

        // The transport side of both pipes is scheduled on the ring, the application side on the
        // ring's application queue; with UnsafePreferInlineScheduling each connection gets options
        // of its own (PipeOptionsForNewConnection).
        (InputOptions, OutputOptions) = Options(applicationQueue);
    }

    public PipeOptions InputOptions { get; }

    public PipeOptions OutputOptions { get; }

    /// <summary>
    /// The pipe options of a new connection, and its scheduler under UnsafePreferInlineScheduling
    /// (null otherwise: the options made once per ring, on the application queue).
    /// </summary>
    public (PipeOptions Input, PipeOptions Output, InlineConnectionScheduler? Inline) PipeOptionsForNewConnection()
    {
        if (!_inline)
        {
            return (InputOptions, OutputOptions, null);
        }

        var scheduler = new InlineConnectionScheduler(_applicationQueue);
        var (input, output) = Options(scheduler);
        return (input, output, scheduler);
    }

    private (PipeOptions Input, PipeOptions Output) Options(PipeScheduler applicationScheduler) =>
    (
        new PipeOptions(_ringThread.MemoryPool, readerScheduler: applicationScheduler, writerScheduler: _ringThread,
            pauseWriterThreshold: _maxRead, resumeWriterThreshold: _maxRead / 2, useSynchronizationContext: false),
        new PipeOptions(_ringThread.MemoryPool, readerScheduler: _ringThread, writerScheduler: applicationScheduler,
            pauseWriterThreshold: _maxWrite, resumeWriterThreshold: _maxWrite / 2, useSynchronizationContext: false)
    );

    /// <summary>The logger of connection events (category Transport.IoUring.Connections).</summary>
    public ILogger Logger { get; }

    /// <summary>Connections accepted since the ring started (any thread).</summary>
    public long Accepted => Volatile.Read(ref _accepted);

    /// <summary>Connections whose fd is open (any thread).</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Ring thread: turns an accepted fd into a connection, hands it to its listener and starts its I/O.</summary>
    public void Accept(int fd, IoUringConnectionListener listener)
    {
        Debug.Assert(_ringThread.IsOnRingThread);
        var (local, remote) = listener.GetEndPoints(fd);
        if (listener.AcceptedSocketsNeedNoDelay)
        {
            LibC.SetNoDelay(fd);
        }

        int slot = _slots.Reserve(out uint generation);
        var connection = new IoUringConnection(_ringThread, listener, fd, slot, generation, local, remote);
        _slots.Occupy(slot, connection);
        Interlocked.Increment(ref _active);
        Volatile.Write(ref _accepted, _accepted + 1);
        listener.OnConnectionAccepted(connection);
        connection.Start();
    }

    /// <summary>Ring thread: the connection's fd is closed and nothing of it is in flight; its slot is free for the next.</summary>
    public void OnClosed(IoUringConnection connection)
    {
        Debug.Assert(_ringThread.IsOnRingThread);
        _slots.Free(connection.Slot);
        Interlocked.Decrement(ref _active);
    }
}
