using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// The ring threads of one transport factory, shared by all its listeners: started by the first
/// bind, stopped (rings, eventfds, buffer rings and pools freed) when the last listener is disposed.
/// </summary>
internal sealed class RingGroup
{
    private readonly IoUringTransportOptions _options;
    private readonly RingCapabilities _capabilities;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private RingThread[]? _ringThreads;
    private PoolEviction? _eviction;
    private RingMemoryPlan? _plan;
    private bool _reductionLogged;
    private int _listeners;

    // Pools of stopped rings that still had blocks rented when their ring stopped (Kestrel may still
    // hold pipes then); dropped once everything is back. For the test suite's leak check.
    private readonly List<PinnedBlockMemoryPool> _stoppedPoolsWithRentedBlocks = new();
    private long _doubleReturns;

    // For metrics, whose counters must not go back when the rings stop and start again: rings
    // still stopping, and the totals of rings that have stopped, by ring id.
    private readonly List<RingThread> _stopping = new();
    private RingCounters[]? _stoppedTotals;

    public RingGroup(IoUringTransportOptions options, RingCapabilities capabilities, ILoggerFactory loggerFactory)
    {
        _options = options;
        _capabilities = capabilities;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Transport.IoUring");
    }

    /// <summary>The rings' locked-memory plan of the last start, or null before the first.</summary>
    public RingMemoryPlan? Plan
    {
        get
        {
            lock (_lock)
            {
                return _plan;
            }
        }
    }

    /// <summary>Plans the rings the options ask for against this process's RLIMIT_MEMLOCK (docs/configuration.md).</summary>
    public RingMemoryPlan CreatePlan() => RingMemoryPlan.ForProcess(_options, _capabilities);

    /// <summary>The running rings, or null when none run.</summary>
    public RingThread[]? Rings
    {
        get
        {
            lock (_lock)
            {
                return _ringThreads;
            }
        }
    }

    /// <summary>The timer releasing the running rings' idle pool memory (null when none run).</summary>
    public PoolEviction? Eviction
    {
        get
        {
            lock (_lock)
            {
                return _eviction;
            }
        }
    }

    /// <summary>
    /// Blocks rented from the pools of the running rings and of rings that stopped; any thread.
    /// After the server stopped, anything above zero is a block no pipe gave back.
    /// </summary>
    public long RentedBlocks
    {
        get
        {
            lock (_lock)
            {
                long rented = 0;
                foreach (var ring in (IEnumerable<RingThread>?)_ringThreads ?? [])
                {
                    rented += ring.MemoryPool.RentedBlocks;
                }

                foreach (var ring in _stopping)
                {
                    rented += ring.MemoryPool.RentedBlocks;
                }

                _stoppedPoolsWithRentedBlocks.RemoveAll(static pool => pool.RentedBlocks == 0);
                foreach (var pool in _stoppedPoolsWithRentedBlocks)
                {
                    rented += pool.RentedBlocks;
                }

                return rented;
            }
        }
    }

    /// <summary>Blocks returned twice to the pools of this group's rings, since the first start; any thread.</summary>
    public long DoubleReturns
    {
        get
        {
            lock (_lock)
            {
                return _doubleReturns + ((IEnumerable<RingThread>?)_ringThreads ?? []).Concat(_stopping).Sum(r => r.MemoryPool.DoubleReturns);
            }
        }
    }

    /// <summary>Starts the rings if they are not running; throws <see cref="RingException"/> when one cannot be created.</summary>
    public RingThread[] EnsureStarted()
    {
        lock (_lock)
        {
            if (_ringThreads is not null)
            {
                return _ringThreads;
            }

            var plan = CreatePlan();
            if (plan.RingCount == 0)
            {
                throw new RingException("no io_uring ring fits RLIMIT_MEMLOCK", Errno.ENOMEM);
            }

            var ringOptions = plan.IsReduced ? _options.CopyForRing(plan.RingEntries, plan.BufferRingEntries) : _options;
            var rings = new RingThread[plan.RingCount];
            int started = 0;
            try
            {
                for (; started < rings.Length; started++)
                {
                    rings[started] = new RingThread(started, ringOptions, _capabilities, _loggerFactory);
                    rings[started].Start();
                }
            }
            catch (RingException ex) when (ex.Errno == Errno.ENOMEM && started > 0)
            {
                // The limit is shared with the user's other processes (and rings being freed), which
                // the plan cannot see: run the rings that fit.
                Array.Resize(ref rings, started);
                plan = plan.WithRingCount(started);
            }
            catch
            {
                long deadline = Environment.TickCount64 + RingThread.StopTimeoutMs;
                foreach (var ring in rings)
                {
                    ring?.StopAsync(deadline);
                }

                throw;
            }

            if (plan.IsReduced && !_reductionLogged)
            {
                _reductionLogged = true;
                IoUringLog.RingsReducedToFitLockedMemory(_logger, plan.DescribeShortfall());
            }

            _plan = plan;
            _ringThreads = rings;
            _eviction = new PoolEviction(rings, _options.MemoryPoolEvictionPeriod, _loggerFactory.CreateLogger("Transport.IoUring"));
            return rings;
        }
    }

    public RingThread[] Acquire()
    {
        lock (_lock)
        {
            var rings = EnsureStarted();
            _listeners++;
            return rings;
        }
    }

    /// <summary>
    /// A listener is done with the rings; the last one stops them, giving up on what is still in
    /// flight at <paramref name="deadlineTicks"/> (<see cref="Environment.TickCount64"/>; default:
    /// <see cref="RingThread.StopTimeoutMs"/> from now).
    /// </summary>
    public async Task ReleaseAsync(long deadlineTicks = 0)
    {
        if (deadlineTicks == 0)
        {
            deadlineTicks = Environment.TickCount64 + RingThread.StopTimeoutMs;
        }

        RingThread[]? toStop = null;
        PoolEviction? eviction = null;
        lock (_lock)
        {
            if (--_listeners == 0)
            {
                toStop = _ringThreads;
                _ringThreads = null;
                eviction = _eviction;
                _eviction = null;
                if (toStop is not null)
                {
                    _stopping.AddRange(toStop);
                }
            }
        }

        if (eviction is not null)
        {
            // Before the rings stop: an eviction pass may be waiting for a ring to empty a slot.
            await eviction.DisposeAsync().ConfigureAwait(false);
        }

        if (toStop is not null)
        {
            foreach (var ring in toStop)
            {
                await ring.StopAsync(deadlineTicks).ConfigureAwait(false);
                lock (_lock)
                {
                    _stoppedTotals ??= new RingCounters[_options.RingCount];
                    _stoppedTotals[ring.Id].AddTotals(ring.ReadCounters());
                    _stopping.Remove(ring);
                    _doubleReturns += ring.MemoryPool.DoubleReturns;
                    if (ring.MemoryPool.RentedBlocks != 0)
                    {
                        _stoppedPoolsWithRentedBlocks.Add(ring.MemoryPool);
                    }
                }
            }
        }
    }

    /// <summary>
    /// What each ring id has counted since the first start, over every start and stop of the rings
    /// (index = ring id); null when no ring has started yet. Any thread.
    /// </summary>
    public RingCounters[]? ReadCounters()
    {
        lock (_lock)
        {
            if (_ringThreads is null && _stopping.Count == 0 && _stoppedTotals is null)
            {
                return null;
            }

            var counters = new RingCounters[_options.RingCount];
            _stoppedTotals?.CopyTo(counters, 0);
            foreach (var ring in (IEnumerable<RingThread>?)_ringThreads ?? [])
            {
                Add(ref counters[ring.Id], ring.ReadCounters());
            }

            foreach (var ring in _stopping)
            {
                Add(ref counters[ring.Id], ring.ReadCounters());
            }

            return counters;
        }

        static void Add(ref RingCounters total, in RingCounters ring)
        {
            total.AddTotals(ring);
            total.ActiveConnections += ring.ActiveConnections;
            total.PoolPooledBytes += ring.PoolPooledBytes;
        }
    }
}
