using System;
using System.Collections.Generic;
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
    private RingThread[]? _rings;
    private RingMemoryPlan? _plan;
    private bool _reductionLogged;
    private int _listeners;

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
                return _rings;
            }
        }
    }

    /// <summary>Starts the rings if they are not running; throws <see cref="RingException"/> when one cannot be created.</summary>
    public RingThread[] EnsureStarted()
    {
        lock (_lock)
        {
            if (_rings is not null)
            {
                return _rings;
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
                foreach (var ring in rings)
                {
                    ring?.StopAsync();
                }

                throw;
            }

            if (plan.IsReduced && !_reductionLogged)
            {
                _reductionLogged = true;
                IoUringLog.RingsReducedToFitLockedMemory(_logger, plan.DescribeShortfall());
            }

            _plan = plan;
            _rings = rings;
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

    public async Task ReleaseAsync()
    {
        RingThread[]? toStop = null;
        lock (_lock)
        {
            if (--_listeners == 0)
            {
                toStop = _rings;
                _rings = null;
                if (toStop is not null)
                {
                    _stopping.AddRange(toStop);
                }
            }
        }

        if (toStop is not null)
        {
            foreach (var ring in toStop)
            {
                await ring.StopAsync().ConfigureAwait(false);
                lock (_lock)
                {
                    _stoppedTotals ??= new RingCounters[_options.RingCount];
                    _stoppedTotals[ring.Id].AddTotals(ring.ReadCounters());
                    _stopping.Remove(ring);
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
            if (_rings is null && _stopping.Count == 0 && _stoppedTotals is null)
            {
                return null;
            }

            var counters = new RingCounters[_options.RingCount];
            _stoppedTotals?.CopyTo(counters, 0);
            foreach (var ring in (IEnumerable<RingThread>?)_rings ?? [])
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
        }
    }
}
