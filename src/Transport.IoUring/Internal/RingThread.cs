using System;
using System.Diagnostics;
using System.IO.Pipelines;
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
/// <remarks>
/// This file holds the loop, dispatch and stop. The requests the ring offers in domain terms are in
/// RingThread.Submissions.cs; the work queue, the slot table, the connection factory and the test
/// seams are types of their own beside it.
/// </remarks>
internal sealed partial class RingThread : PipeScheduler
{
    /// <summary>How long stopping may take, from the listener's dispose to the ring giving up on what is in flight.</summary>
    public const int StopTimeoutMs = 5000;

    private const int CompletionBatch = 256;
    private const int RegisteredSlabSlots = 1024;   // 1024 × 128 KiB slabs = 128 MiB of pipe memory per ring

    private readonly IoUringTransportOptions _options;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly RingWorkQueue _workQueue = new();
    private readonly RingSlots _slots = new();
    private readonly RingApplicationQueue _applicationQueue;
    private readonly SimulatedEnterFaults? _enterFaults;
    private readonly Action<Exception> _onWorkItemError;

    private Ring? _ring;
    private ProvidedBufferRing? _bufferRing;
    private RegisteredBufferTable? _registeredBuffers;
    private RegisteredSlabs? _registeredSlabs;
    private bool _wakeArmed;
    private long _stopDeadline;       // 0 until a stop is requested, then Environment.TickCount64 to give up at

    // A failing io_uring_enter is retried every millisecond; it is reported once per 10 s.
    private LogRateLimit _enterFailedLog = new(10_000);

    public RingThread(int id, IoUringTransportOptions options, RingCapabilities capabilities, ILoggerFactory loggerFactory)
    {
        Id = id;
        _options = options;
        _logger = loggerFactory.CreateLogger("Transport.IoUring");
        Features = capabilities.Available & ~options.DisabledFeatures;
        ReceiveMode = options.ReceiveMode;
        MemoryPool = new PinnedBlockMemoryPool();
        _enterFaults = SimulatedEnterFaults.From(options);
        _onWorkItemError = ex => IoUringLog.RingThreadError(_logger, Id, ex);
        // With UnsafePreferInlineScheduling only HTTP/2 connections use the queue (InlineConnectionScheduler).
        _applicationQueue = new RingApplicationQueue(this, _logger);
        Connections = new RingConnectionFactory(this, _slots, options, _applicationQueue, loggerFactory);
        _thread = new Thread(Run)
        {
            Name = $"io_uring ring {id}",
            IsBackground = true,
        };
    }

    public int Id { get; }

    public IoUringTransportOptions Options => _options;

    public ILogger Logger => _logger;

    /// <summary>The kernel features this ring uses (probed, less those switched off by options).</summary>
    public RingFeatures Features { get; private set; }

    /// <summary>The receive mode this ring's connections use (BufferRing falls back to PollAndReceive without a buffer ring).</summary>
    public IoUringReceiveMode ReceiveMode { get; private set; }

    public PinnedBlockMemoryPool MemoryPool { get; }

    /// <summary>The queue other threads post work to, with the eventfd that wakes the ring (tests reach its eventfd).</summary>
    public RingWorkQueue WorkQueue => _workQueue;

    /// <summary>The slots of this ring's connections and acceptors (ring thread only).</summary>
    public RingSlots Slots => _slots;

    /// <summary>Builds this ring's connections (pipe options, endpoints, NODELAY) and counts them.</summary>
    public RingConnectionFactory Connections { get; }

    /// <summary>Gather lists for multi-segment sends, rented for the length of one send (ring thread).</summary>
    public GatherList.Pool GatherLists { get; } = new();

    /// <summary>The application side's queue (with UnsafePreferInlineScheduling, of HTTP/2 connections only).</summary>
    public RingApplicationQueue ApplicationQueue => _applicationQueue;

    public ProvidedBufferRing? BufferRing => _bufferRing;

    /// <summary>Receives from the buffer ring are bundles (IORING_RECVSEND_BUNDLE): one completion may fill several buffers.</summary>
    public bool ReceivesBundles => (Features & RingFeatures.ReceiveBundle) != 0;

    /// <summary>The kernel ring (ring thread only, for submissions; other threads read its counters).</summary>
    public Ring KernelRing => _ring!;

    public Task Stopped => _stopped.Task;

    public bool IsOnRingThread => Thread.CurrentThread == _thread;

    /// <summary>Starts the thread and waits until its ring exists (or throws why it could not be created).</summary>
    public void Start()
    {
        _thread.Start();
        _started.Task.GetAwaiter().GetResult();
    }

    /// <summary>Posts work to run on the ring thread. Any thread.</summary>
    public override void Schedule(Action<object?> action, object? state) => _workQueue.Post(action, state);

    /// <summary>
    /// Asks the ring to finish once its connections and acceptors are gone; at <paramref name="deadlineTicks"/>
    /// (<see cref="Environment.TickCount64"/>) it gives up on what is left.
    /// </summary>
    public Task StopAsync(long deadlineTicks)
    {
        Schedule(static s =>
        {
            var (ring, deadline) = ((RingThread, long))s!;
            if (ring._stopDeadline == 0)
            {
                ring._stopDeadline = Math.Max(deadline, 1);
                ring.BeginStop();
            }
        }, (this, deadlineTicks));
        return _stopped.Task;
    }

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

    private void Loop()
    {
        Span<Completion> batch = stackalloc Completion[CompletionBatch];
        Ring ring = _ring!;

        while (true)
        {
            _workQueue.RunPending(_onWorkItemError);

            // Hand the continuations this turn queued to the application's runner and let it write
            // its responses before submitting, so they go out in this turn's io_uring_enter. Its
            // flushes post output reads back here; the work they leave for the runner goes in the
            // next batch without waiting.
            if (_applicationQueue.Release())
            {
                _applicationQueue.WaitIdle();
                _workQueue.RunPending(_onWorkItemError);
                _applicationQueue.Release();
            }

            if (_stopDeadline != 0 && IsStopComplete(ring))
            {
                break;
            }

            bool wait = _workQueue.IsEmpty && !ring.HasCompletions && _workQueue.TryPark();
            int ret = _enterFaults is not null && _enterFaults.TryFail(ring.EnterCalls, out int simulated)
                ? simulated
                : ring.SubmitAndWait(wait ? 1u : 0u);
            if (wait)
            {
                _workQueue.Unpark();
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

    private void Dispatch(in Completion completion)
    {
        try
        {
            ulong userData = completion.UserData;
            var kind = UserData.Kind(userData);
            switch (kind)
            {
                case OperationKind.Wake:
                    _wakeArmed = false;
                    if (_stopDeadline == 0)
                    {
                        ArmWake();
                    }

                    break;

                case OperationKind.Cancel:
                    break;

                default:
                    var owner = _slots.Find(UserData.Slot(userData), UserData.Generation(userData));
                    if (owner is null)
                    {
                        // A completion for an owner that is gone: its slot may already serve
                        // another connection, which must never see these bytes.
                        StaleCompletions++;
                        break;
                    }

                    owner.OnCompletion(kind, in completion);
                    break;
            }
        }
        catch (Exception ex)
        {
            IoUringLog.RingThreadError(_logger, Id, ex);
        }
    }

    // ---- stop ------------------------------------------------------------------------------------

    private void BeginStop()
    {
        foreach (var owner in _slots.Snapshot())
        {
            owner.OnRingStopping();
        }

        if (_wakeArmed)
        {
            Cancel(UserData.Pack(OperationKind.Wake, 0, 0));
        }
    }

    /// <summary>True when every slot has been freed and only the eventfd read may remain, or the deadline passed.</summary>
    private bool IsStopComplete(Ring ring)
    {
        if (_slots.Count == 0 && ring.InFlight <= (_wakeArmed ? 1 : 0))
        {
            return true;
        }

        if (Environment.TickCount64 > _stopDeadline)
        {
            IoUringLog.RingStopTimedOut(_logger, Id, ring.InFlight, StopTimeoutMs);
            return true;
        }

        return false;
    }
}
