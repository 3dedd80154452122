using System;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Threading;
using Microsoft.Extensions.Logging;

namespace Transport.IoUring.Internal;

/// <summary>
/// The application side's <see cref="PipeScheduler"/> of one ring (Kestrel's and the app's
/// continuations: input reads, output flushes that waited). Work the ring thread schedules while it
/// dispatches completions is only queued; at the end of the ring's turn <see cref="Release"/> hands
/// the whole batch to one thread-pool work item, which runs it in order, and the ring waits (briefly)
/// for that item to finish before it submits: the responses the batch wrote then go to the kernel in
/// the same io_uring_enter.
/// </summary>
/// <remarks>
/// Why not <see cref="PipeScheduler.ThreadPool"/>: one work item per continuation, and a ring thread
/// that keeps entering the kernel while the pool runs them, means that with the server on one core
/// the ring preempts the pool for every completion. Measured with the harness (plaintext, 64
/// connections, server on one core): 11.4–13 CPU-µs/request with the thread pool, 8.3–8.7 with this
/// queue; voluntary context switches per request fell from 0.3 to 0.01 (docs/performance.md).
/// <para>
/// A continuation that blocks (an app that waits synchronously) must not stall the ring: the ring
/// waits at most <see cref="StallTimeoutMs"/>. Then the runner is demoted (it finishes what it is
/// running and keeps helping to drain the queue), and the next batch gets a new runner, so other
/// connections keep being served, as on the thread pool.
/// </para>
/// </remarks>
internal sealed class RingApplicationQueue : PipeScheduler
{
    /// <summary>How long the ring waits for a batch before it moves on without it.</summary>
    public const int StallTimeoutMs = 1;

    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _queue = new();
    private readonly ManualResetEventSlim _idle = new(initialState: true);
    private readonly RingThread _ringThread;
    private readonly ILogger _logger;

    // 1 while a runner of the current epoch is posted or running; only it resets the flag.
    private int _posted;

    // Incremented when the ring gives up waiting for a runner: that runner is then no longer the one
    // the ring waits for.
    private int _epoch;
    private Runner _runner;

    // Demoted runners that have finished: demotions reuse them instead of allocating. Several,
    // because under a starved thread pool a few demoted runners can be waiting to run at once.
    private readonly Runner?[] _spareRunners = new Runner?[8];

    public RingApplicationQueue(RingThread ringThread, ILogger logger)
    {
        _ringThread = ringThread;
        _logger = logger;
        _runner = new Runner(this, 0);
    }

    private long _stalls;

    /// <summary>Runners the ring stopped waiting for because a continuation ran longer than <see cref="StallTimeoutMs"/> (any thread).</summary>
    public long Stalls => Volatile.Read(ref _stalls);

    public override void Schedule(Action<object?> action, object? state)
    {
        _queue.Enqueue((action, state));

        // The ring thread posts once per turn, in Release; any other thread makes sure a runner comes.
        if (!_ringThread.IsOnRingThread)
        {
            TryPostRunner();
        }
    }

    /// <summary>
    /// Ring thread, end of a turn: hands what the turn queued to a runner. True when there is work
    /// the ring may wait for with <see cref="WaitIdle"/>.
    /// </summary>
    public bool Release()
    {
        if (_queue.IsEmpty)
        {
            return false;
        }

        _idle.Reset();
        TryPostRunner();
        return true;
    }

    /// <summary>Ring thread: waits until the runner has drained the queue, at most <see cref="StallTimeoutMs"/>.</summary>
    public void WaitIdle()
    {
        if (_idle.Wait(StallTimeoutMs))
        {
            return;
        }

        // A continuation is blocking the runner. Leave it to finish on its own and let the next
        // batch have a runner of its own.
        Volatile.Write(ref _stalls, _stalls + 1);
        int epoch = Interlocked.Increment(ref _epoch);
        _runner = TakeSpareRunner()?.Renew(epoch) ?? new Runner(this, epoch);
        Volatile.Write(ref _posted, 0);
        _idle.Set();
        if (!_queue.IsEmpty)
        {
            TryPostRunner();
        }
    }

    private Runner? TakeSpareRunner()
    {
        for (int i = 0; i < _spareRunners.Length; i++)
        {
            if (Volatile.Read(ref _spareRunners[i]) is not null && Interlocked.Exchange(ref _spareRunners[i], null) is Runner spare)
            {
                return spare;
            }
        }

        return null;
    }

    private void KeepSpareRunner(Runner runner)
    {
        for (int i = 0; i < _spareRunners.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _spareRunners[i], runner, null) is null)
            {
                return;
            }
        }
    }

    private void TryPostRunner()
    {
        if (Volatile.Read(ref _posted) == 0 && Interlocked.CompareExchange(ref _posted, 1, 0) == 0)
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(Volatile.Read(ref _runner), preferLocal: false);
        }
    }

    /// <summary>Runs the queue until it is empty; false when this runner was demoted meanwhile.</summary>
    private bool Drain(int epoch)
    {
        while (true)
        {
            while (_queue.TryDequeue(out var item))
            {
                try
                {
                    item.Action(item.State);
                }
                catch (Exception ex)
                {
                    IoUringLog.RingThreadError(_logger, _ringThread.Id, ex);
                }
            }

            if (Volatile.Read(ref _epoch) != epoch)
            {
                // Demoted while a continuation blocked: the queue has another runner now.
                return false;
            }

            _idle.Set();
            Volatile.Write(ref _posted, 0);

            // Work queued between the last dequeue and the reset: take it, unless someone else did.
            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _posted, 1, 0) != 0)
            {
                return true;
            }
        }
    }

    private sealed class Runner(RingApplicationQueue queue, int epoch) : IThreadPoolWorkItem
    {
        private int _epoch = epoch;

        public Runner Renew(int epoch)
        {
            _epoch = epoch;
            return this;
        }

        public void Execute()
        {
            if (!queue.Drain(_epoch))
            {
                // Demoted: nothing refers to this runner any more; keep it for a later demotion.
                queue.KeepSpareRunner(this);
            }
        }
    }
}
