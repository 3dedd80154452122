using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// A dedicated thread that owns one io_uring and every socket accepted on it. It loops: run work
/// posted by other threads, submit all pending SQEs and wait in one io_uring_enter, dispatch the
/// completions. It is also the <see cref="PipeScheduler"/> of its connections' transport side, so
/// pipe continuations that touch a socket run here, where all of that socket's I/O happens.
/// </summary>
internal sealed class RingThread : PipeScheduler
{
    private const int CompletionBatch = 256;
    private const int StopTimeoutMs = 5000;
    private const int MaxWorkItemsPerTurn = 4096;
    private const int RegisteredSlabSlots = 1024;   // 1024 × 128 KiB slabs = 128 MiB of pipe memory per ring

    private readonly IoUringTransportOptions _options;
    private readonly ILogger _logger;
    private readonly ILogger _connectionLogger;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _work = new();

    // 1 while the ring thread is (about to be) blocked in io_uring_enter: only then do posters
    // write the eventfd, so a busy ring is never woken needlessly.
    private int _parked;

    private Ring? _ring;
    private ProvidedBufferRing? _bufferRing;
    private EventFd? _eventFd;
    private RegisteredBufferTable? _registeredBuffers;
    private RegisteredSlabs? _registeredSlabs;
    private bool _wakeArmed;
    private bool _stopRequested;

    // A failing io_uring_enter is retried every millisecond; it is reported once per 10 s.
    private LogRateLimit _enterFailedLog = new(10_000);

    private IoUringConnection?[] _connections = new IoUringConnection?[64];
    private uint[] _connectionGenerations = new uint[64];
    private readonly Stack<int> _freeConnectionSlots = new();
    private int _connectionSlotsUsed;
    private int _activeConnections;
    private long _acceptedConnections;

    private readonly List<RingAcceptor?> _acceptors = new();
    private readonly RingApplicationQueue? _applicationQueue;

    public RingThread(int id, IoUringTransportOptions options, RingCapabilities capabilities, ILoggerFactory loggerFactory)
    {
        Id = id;
        _options = options;
        _logger = loggerFactory.CreateLogger("Transport.IoUring");
        _connectionLogger = loggerFactory.CreateLogger("Transport.IoUring.Connections");
        Capabilities = capabilities;
        Features = capabilities.Available & ~options.DisabledFeatures;
        ReceiveMode = options.ReceiveMode;
        MemoryPool = new PinnedBlockMemoryPool();
        if (!options.UnsafePreferInlineScheduling)
        {
            _applicationQueue = new RingApplicationQueue(this, _logger);
        }

        ApplicationScheduler = _applicationQueue ?? PipeScheduler.Inline;
        _thread = new Thread(Run)
        {
            Name = $"io_uring ring {id}",
            IsBackground = true,
        };
    }

    public int Id { get; }
    public RingCapabilities Capabilities { get; }

    /// <summary>The kernel features this ring uses (probed, less those switched off by options).</summary>
    public RingFeatures Features { get; private set; }

    /// <summary>The receive mode this ring's connections use (BufferRing falls back to PollAndReceive without a buffer ring).</summary>
    public IoUringReceiveMode ReceiveMode { get; private set; }

    public PinnedBlockMemoryPool MemoryPool { get; }

    /// <summary>Gather lists for multi-segment sends, rented for the length of one send (ring thread).</summary>
    public GatherList.Pool GatherLists { get; } = new();
    public PipeScheduler ApplicationScheduler { get; }

    /// <summary>The application side's queue (null with UnsafePreferInlineScheduling).</summary>
    public RingApplicationQueue? ApplicationQueue => _applicationQueue;
    public IoUringTransportOptions Options => _options;
    public ILogger ConnectionLogger => _connectionLogger;
    public ProvidedBufferRing? BufferRing => _bufferRing;

    /// <summary>The ring's fd, for diagnostics and tests (-1 before start).</summary>
    public int RingFd => _ring?.Fd ?? -1;

    public int ActiveConnections => Volatile.Read(ref _activeConnections);

    /// <summary>Reads that went into registered pipe memory (IORING_OP_READ_FIXED).</summary>
    public long FixedBufferReads => _registeredSlabs?.FixedBufferReads ?? 0;

    /// <summary>The pool slabs registered with this ring's kernel table (null unless PollAndReceive uses registered buffers).</summary>
    public RegisteredSlabs? RegisteredSlabs => _registeredSlabs;

    /// <summary>Connections this ring has accepted since it started.</summary>
    public long AcceptedConnections => Volatile.Read(ref _acceptedConnections);

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
            AcceptedConnections = AcceptedConnections,
            ActiveConnections = ActiveConnections,
            EnterCalls = ring?.EnterCalls ?? 0,
            SubmittedSqes = ring?.SubmittedSqes ?? 0,
            ReapedCqes = ring?.ReapedCqes ?? 0,
            CqOverflows = ring?.CqOverflowCount ?? 0,
            ApplicationStalls = _applicationQueue?.Stalls ?? 0,
            PoolPooledBytes = MemoryPool.PooledBytes,
            PoolAllocatedBytes = MemoryPool.AllocatedBytesTotal,
            PoolEvictedBytes = MemoryPool.EvictedBytesTotal,
            PoolRentedBytes = MemoryPool.RentedBytesTotal,
        };
    }

    /// <summary>Requests whose final CQE is not reaped yet (diagnostics; read from any thread).</summary>
    public long InFlight => _ring?.InFlight ?? 0;

    /// <summary>The ring itself: prepare submissions here, on the ring thread only.</summary>
    public Ring Ring => _ring!;
    public Task Stopped => _stopped.Task;

    /// <summary>Starts the thread and waits until its ring exists (or throws why it could not be created).</summary>
    public void Start()
    {
        _thread.Start();
        _started.Task.GetAwaiter().GetResult();
    }

    /// <summary>Posts work to run on the ring thread.</summary>
    public override void Schedule(Action<object?> action, object? state)
    {
        _work.Enqueue((action, state));
        if (Volatile.Read(ref _parked) == 1 && Interlocked.Exchange(ref _parked, 0) == 1)
        {
            Wake();
        }
    }

    /// <summary>Asks the ring to finish once its connections and acceptors are gone; aborts what is left after a timeout.</summary>
    public Task StopAsync()
    {
        Schedule(static s => ((RingThread)s!)._stopRequested = true, this);
        return _stopped.Task;
    }

    public bool IsOnRingThread => Thread.CurrentThread == _thread;

    // ---- submissions (ring thread only) -------------------------------------------------------

    /// <summary>
    /// The registered-buffer index of the pool slab <paramref name="memory"/> lies in, registering
    /// the slab on first use; -1 when it is not (or cannot be) registered.
    /// </summary>
    public int GetFixedBufferIndex(Memory<byte> memory) => _registeredSlabs?.GetFixedBufferIndex(memory) ?? -1;

    public void SubmitCancel(ulong targetUserData, int slot, uint generation)
    {
        Debug.Assert(IsOnRingThread);
        _ring!.PrepareCancel(targetUserData, UserData.Pack(OperationKind.Cancel, slot, generation));
    }

    // ---- connections ---------------------------------------------------------------------------

    public void AddConnection(int fd, IoUringConnectionListener listener)
    {
        Debug.Assert(IsOnRingThread);
        int slot;
        if (_freeConnectionSlots.Count > 0)
        {
            slot = _freeConnectionSlots.Pop();
        }
        else
        {
            slot = _connectionSlotsUsed++;
            if (slot == _connections.Length)
            {
                Array.Resize(ref _connections, slot * 2);
                Array.Resize(ref _connectionGenerations, slot * 2);
            }
        }

        uint generation = _connectionGenerations[slot];
        var (local, remote) = listener.GetEndPoints(fd);
        if (_options.NoDelay && listener.IsTcp && !listener.NoDelayFromListener)
        {
            LibC.SetNoDelay(fd);
        }

        var connection = new IoUringConnection(this, listener, fd, slot, generation, local, remote);
        _connections[slot] = connection;
        Interlocked.Increment(ref _activeConnections);
        Volatile.Write(ref _acceptedConnections, _acceptedConnections + 1);
        listener.OnConnectionAccepted(connection);
        connection.Start();
    }

    /// <summary>Called once the connection's fd is closed and no request of it is in flight.</summary>
    public void RemoveConnection(IoUringConnection connection)
    {
        Debug.Assert(IsOnRingThread);
        int slot = connection.Slot;
        Debug.Assert(_connections[slot] == connection);
        _connections[slot] = null;
        _connectionGenerations[slot] = (_connectionGenerations[slot] + 1) & UserData.GenerationMask;
        _freeConnectionSlots.Push(slot);
        Interlocked.Decrement(ref _activeConnections);
    }

    // ---- acceptors -----------------------------------------------------------------------------

    public void AddAcceptor(RingAcceptor acceptor)
    {
        Debug.Assert(IsOnRingThread);
        int slot = _acceptors.IndexOf(null);
        if (slot < 0)
        {
            slot = _acceptors.Count;
            _acceptors.Add(acceptor);
        }
        else
        {
            _acceptors[slot] = acceptor;
        }

        acceptor.Attach(slot);
    }

    public void RemoveAcceptor(RingAcceptor acceptor)
    {
        Debug.Assert(IsOnRingThread);
        _acceptors[acceptor.Slot] = null;
    }

    public ILogger Logger => _logger;

    // ---- the loop ------------------------------------------------------------------------------

    private void Run()
    {
        try
        {
            Initialize();
            _started.SetResult();
        }
        catch (Exception ex)
        {
            Teardown();
            _started.SetException(ex);
            _stopped.TrySetResult();
            return;
        }

        try
        {
            Loop();
        }
        catch (Exception ex)
        {
            IoUringLog.RingThreadError(_logger, Id, ex);
        }
        finally
        {
            Teardown();
            _stopped.TrySetResult();
        }
    }

    private void Initialize()
    {
        if (_options.PinRingThreads)
        {
            LibC.PinCurrentThreadToCpu(Id % Environment.ProcessorCount);
        }

        // With SINGLE_ISSUER the creating thread is the only one allowed to submit, so the ring is
        // created here, on its own thread.
        uint flags = 0;
        if ((Features & RingFeatures.SingleIssuer) != 0)
        {
            flags |= SetupFlags.SingleIssuer;
        }

        if ((Features & RingFeatures.DeferTaskrun) != 0 && (Features & RingFeatures.SingleIssuer) != 0)
        {
            flags |= SetupFlags.DeferTaskrun;
            Features &= ~RingFeatures.CoopTaskrun;
        }
        else if ((Features & RingFeatures.CoopTaskrun) != 0)
        {
            flags |= SetupFlags.CoopTaskrun;
            Features &= ~RingFeatures.DeferTaskrun;
        }
        else
        {
            Features &= ~RingFeatures.DeferTaskrun;
        }

        if ((Features & RingFeatures.SubmitAll) != 0)
        {
            flags |= SetupFlags.SubmitAll;
        }

        uint entries = (uint)_options.RingEntries;
        _ring = Ring.TryCreate(entries, entries * 4, flags, out int errno)
            ?? throw new RingException($"io_uring_setup({entries}) for ring {Id} failed", errno);

        if ((Features & RingFeatures.RegisteredRingFd) != 0 && !_ring.TryRegisterRingFd())
        {
            Features &= ~RingFeatures.RegisteredRingFd;
        }

        if (ReceiveMode == IoUringReceiveMode.BufferRing)
        {
            if ((Features & RingFeatures.ProvidedBufferRing) != 0)
            {
                _bufferRing = new ProvidedBufferRing(_ring, groupId: 1, _options.BufferRingEntries, _options.BufferRingBufferSize);
            }
            else
            {
                IoUringLog.BufferRingUnavailable(_logger, Id);
                ReceiveMode = IoUringReceiveMode.PollAndReceive;
            }
        }

        // Registered buffers serve reads straight into pipe memory, i.e. PollAndReceive; in
        // BufferRing mode the kernel writes only into the provided-buffer ring.
        if (ReceiveMode == IoUringReceiveMode.PollAndReceive && (Features & RingFeatures.RegisteredBuffers) != 0)
        {
            _registeredBuffers = RegisteredBufferTable.TryCreate(_ring, RegisteredSlabSlots, out _);
        }

        if (_registeredBuffers is null)
        {
            Features &= ~RingFeatures.RegisteredBuffers;
        }
        else
        {
            _registeredSlabs = new RegisteredSlabs(_registeredBuffers, MemoryPool, this, _logger);
        }

        _eventFd = new EventFd();
        ArmWake();
    }

    private void Loop()
    {
        Span<Cqe> batch = stackalloc Cqe[CompletionBatch];
        Ring ring = _ring!;
        long stopDeadline = 0;

        while (true)
        {
            RunWorkItems();

            // Hand the continuations this turn queued to the application's runner and let it write
            // its responses before submitting, so they go out in this turn's io_uring_enter. Its
            // flushes post output reads back here; the work they leave for the runner goes in the
            // next batch without waiting.
            if (_applicationQueue is not null && _applicationQueue.Release())
            {
                _applicationQueue.WaitIdle();
                RunWorkItems();
                _applicationQueue.Release();
            }

            if (_stopRequested)
            {
                if (stopDeadline == 0)
                {
                    stopDeadline = Environment.TickCount64 + StopTimeoutMs;
                    BeginStop();
                }

                // Only the eventfd read (and its cancellation) may remain.
                if (_activeConnections == 0 && _acceptors.TrueForAll(a => a is null) && ring.InFlight <= (_wakeArmed ? 1 : 0))
                {
                    break;
                }

                if (Environment.TickCount64 > stopDeadline)
                {
                    IoUringLog.RingStopTimedOut(_logger, Id, ring.InFlight, StopTimeoutMs);
                    break;
                }
            }

            uint minComplete = 0;
            if (_work.IsEmpty && !ring.HasCompletions)
            {
                Volatile.Write(ref _parked, 1);
                Interlocked.MemoryBarrier();
                if (_work.IsEmpty)
                {
                    minComplete = 1;
                }
                else
                {
                    Volatile.Write(ref _parked, 0);
                }
            }

            int ret = _options.SimulatedEnterErrno != 0 && (ring.EnterCalls + SimulatedEnterErrors + 1) % _options.SimulatedEnterErrorInterval == 0
                ? SimulateEnterError()
                : ring.SubmitAndWait(minComplete);
            if (minComplete != 0)
            {
                Volatile.Write(ref _parked, 0);
            }

            if (ret < 0 && ret != -Errno.EINTR && ret != -Errno.EAGAIN && ret != -Errno.EBUSY && ret != -Errno.ETIME)
            {
                if (_enterFailedLog.ShouldReport(out int suppressed))
                {
                    IoUringLog.EnterFailed(_logger, Id, LibC.Describe(-ret), suppressed);
                }

                Thread.Sleep(1); // never spin on a failing ring
            }

            int count;
            do
            {
                count = ring.ReapCompletions(batch);
                for (int i = 0; i < count; i++)
                {
                    Dispatch(in batch[i]);
                }
            }
            while (count == batch.Length);

            _bufferRing?.Publish();
        }
    }

    /// <summary>io_uring_enter calls replaced by a simulated error (tests).</summary>
    public long SimulatedEnterErrors { get; private set; }

    private int SimulateEnterError()
    {
        SimulatedEnterErrors++;
        return -_options.SimulatedEnterErrno;
    }

    private void RunWorkItems()
    {
        // Bounded: work posted faster than it runs waits for the next turn, so completions keep flowing.
        for (int i = 0; i < MaxWorkItemsPerTurn && _work.TryDequeue(out var item); i++)
        {
            try
            {
                item.Action(item.State);
            }
            catch (Exception ex)
            {
                IoUringLog.RingThreadError(_logger, Id, ex);
            }
        }
    }

    private void Dispatch(in Cqe cqe)
    {
        try
        {
            ulong userData = cqe.UserData;
            int slot = UserData.Slot(userData);
            uint generation = UserData.Generation(userData);
            switch (UserData.Kind(userData))
            {
                case OperationKind.Wake:
                    _wakeArmed = false;
                    if (!_stopRequested)
                    {
                        ArmWake();
                    }

                    break;

                case OperationKind.Accept:
                case OperationKind.AcceptRetry:
                    var acceptor = slot < _acceptors.Count ? _acceptors[slot] : null;
                    if (acceptor is not null && acceptor.Generation == generation)
                    {
                        if (UserData.Kind(userData) == OperationKind.Accept)
                        {
                            acceptor.OnAcceptCompleted(cqe.Res, cqe.Flags);
                        }
                        else
                        {
                            acceptor.OnRetryTimerCompleted();
                        }
                    }

                    break;

                case OperationKind.Poll:
                case OperationKind.Recv:
                case OperationKind.Send:
                    var connection = slot < _connections.Length ? _connections[slot] : null;
                    if (connection is null || _connectionGenerations[slot] != generation)
                    {
                        // A completion for a connection that is gone: its slot may already serve
                        // another connection, which must never see these bytes.
                        StaleCompletions++;
                        break;
                    }

                    switch (UserData.Kind(userData))
                    {
                        case OperationKind.Poll: connection.OnPollCompleted(cqe.Res, cqe.Flags); break;
                        case OperationKind.Recv: connection.OnRecvCompleted(cqe.Res, cqe.Flags); break;
                        default: connection.OnSendCompleted(cqe.Res, cqe.Flags); break;
                    }

                    break;

                case OperationKind.Cancel:
                    break;
            }
        }
        catch (Exception ex)
        {
            IoUringLog.RingThreadError(_logger, Id, ex);
        }
    }

    /// <summary>Completions that arrived for a recycled connection slot and were dropped.</summary>
    public long StaleCompletions { get; private set; }

    private void BeginStop()
    {
        foreach (var acceptor in _acceptors.ToArray())
        {
            acceptor?.Stop();
        }

        for (int i = 0; i < _connectionSlotsUsed; i++)
        {
            _connections[i]?.AbortFromRing(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("The io_uring transport is stopping."));
        }

        if (_wakeArmed)
        {
            SubmitCancel(UserData.Pack(OperationKind.Wake, 0, 0), 0, 0);
        }
    }

    private void ArmWake()
    {
        _ring!.PrepareRead(_eventFd!, UserData.Pack(OperationKind.Wake, 0, 0));
        _wakeArmed = true;
    }

    private void Wake()
    {
        _eventFd?.Signal();
    }

    private void Teardown()
    {
        _registeredBuffers?.Dispose();
        _registeredBuffers = null;
        _bufferRing?.Dispose();
        _bufferRing = null;

        // Closing the ring cancels whatever is still in flight; the eventfd buffer is freed after it.
        bool wakeReadInFlight = _wakeArmed && _ring is not null;
        _ring?.Dispose();

        // A read the ring never completed may still name the buffer: then it is left to the process.
        _eventFd?.Close(readInFlight: wakeReadInFlight);
        if (MemoryPool.RentedBlocks != 0)
        {
            IoUringLog.PoolBlocksRentedAtStop(_logger, Id, MemoryPool.RentedBlocks);
        }

        MemoryPool.Dispose();
        GatherLists.Dispose();
    }
}
