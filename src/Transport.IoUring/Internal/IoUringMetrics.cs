using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace Transport.IoUring.Internal;

/// <summary>
/// The transport's instruments on the meter "Transport.IoUring" (docs/metrics.md lists them).
/// All are observable: a collection reads the counters each ring keeps anyway, so the I/O path pays
/// nothing for metrics, and nothing at all while no listener (dotnet-counters, OpenTelemetry) is
/// attached. The meter comes from the host's <see cref="IMeterFactory"/>, which disposes it with the
/// service provider, and lets tests see only their own host's measurements.
/// </summary>
internal sealed class IoUringMetrics
{
    /// <summary>The meter's name: the contract with dotnet-counters and OpenTelemetry configurations.</summary>
    public const string MeterName = "Transport.IoUring";

    public const string RingIdTag = "io_uring.ring.id";
    public const string DirectionTag = "network.io.direction";
    public const string ErrorTypeTag = "error.type";

    private readonly RingGroup _rings;
    private readonly object _fallbackLock = new();
    private readonly Dictionary<string, long> _fallbacks = new();
    private KeyValuePair<string, object?>[] _ringIdTags = [];

    public IoUringMetrics(IMeterFactory meterFactory, RingGroup rings)
    {
        _rings = rings;
        Meter = meterFactory.Create(MeterName);

        Meter.CreateObservableUpDownCounter("io_uring.active_connections", () => Observe(static (in RingCounters c) => c.ActiveConnections),
            unit: "{connection}", description: "Connections open on the ring: accepted and not yet closed.");
        Meter.CreateObservableCounter("io_uring.accepted_connections", () => Observe(static (in RingCounters c) => c.AcceptedConnections),
            unit: "{connection}", description: "Connections accepted by the ring.");
        Meter.CreateObservableCounter("io_uring.network.io", ObserveNetworkIo,
            unit: "By", description: "Bytes received from and sent to connections' sockets.");
        Meter.CreateObservableCounter("io_uring.enter_calls", () => Observe(static (in RingCounters c) => c.EnterCalls),
            unit: "{call}", description: "io_uring_enter system calls: each submits the SQEs prepared since the last one and, when idle, waits.");
        Meter.CreateObservableCounter("io_uring.submitted_sqes", () => Observe(static (in RingCounters c) => c.SubmittedSqes),
            unit: "{sqe}", description: "Submission queue entries consumed by the kernel. Divided by io_uring.enter_calls: SQEs per enter.");
        Meter.CreateObservableCounter("io_uring.reaped_cqes", () => Observe(static (in RingCounters c) => c.ReapedCqes),
            unit: "{cqe}", description: "Completion queue entries reaped. Divided by io_uring.enter_calls: CQEs per enter.");
        Meter.CreateObservableCounter("io_uring.buffer_ring.exhaustions", () => Observe(static (in RingCounters c) => c.BufferRingExhaustions),
            unit: "{completion}", description: "Receives that found the ring's provided-buffer ring empty (ENOBUFS) and were re-armed.");
        Meter.CreateObservableCounter("io_uring.cq.overflows", () => Observe(static (in RingCounters c) => c.CqOverflows),
            unit: "{cqe}", description: "Completions the kernel dropped because the completion queue was full (its cq_overflow counter).");
        Meter.CreateObservableCounter("io_uring.application.stalls", () => Observe(static (in RingCounters c) => c.ApplicationStalls),
            unit: "{batch}", description: "Batches of application continuations the ring stopped waiting for after 1 ms, because one of them blocked or ran long; the batch goes on on its own thread and the ring serves its other connections.");
        // The pipes' memory pools, one per ring, under the names of Kestrel's own pool
        // (meter Microsoft.AspNetCore.MemoryPool, aspnetcore.memory_pool.*) with this meter's prefix.
        Meter.CreateObservableUpDownCounter("io_uring.memory_pool.pooled", () => Observe(static (in RingCounters c) => c.PoolPooledBytes),
            unit: "By", description: "Bytes held by the ring's memory pool and available for reuse.");
        Meter.CreateObservableCounter("io_uring.memory_pool.allocated", () => Observe(static (in RingCounters c) => c.PoolAllocatedBytes),
            unit: "By", description: "Bytes the ring's memory pool allocated (128 KiB slabs).");
        Meter.CreateObservableCounter("io_uring.memory_pool.evicted", () => Observe(static (in RingCounters c) => c.PoolEvictedBytes),
            unit: "By", description: "Bytes the ring's memory pool released because they stayed idle through an eviction period.");
        Meter.CreateObservableCounter("io_uring.memory_pool.rented", () => Observe(static (in RingCounters c) => c.PoolRentedBytes),
            unit: "By", description: "Bytes rented from the ring's memory pool (4 KiB blocks, each rent counted).");
        Meter.CreateObservableCounter("io_uring.sockets_fallbacks", ObserveFallbacks,
            unit: "{endpoint}", description: "Endpoints bound with Kestrel's Sockets transport because io_uring is unavailable here.");
    }

    public Meter Meter { get; }

    /// <summary>Counts an endpoint handed to the Sockets transport; <paramref name="errorType"/> says why (an errno name).</summary>
    public void OnSocketsFallback(string errorType)
    {
        lock (_fallbackLock)
        {
            _fallbacks[errorType] = _fallbacks.GetValueOrDefault(errorType) + 1;
        }
    }

    private delegate long CounterSelector(in RingCounters counters);

    private List<Measurement<long>> Observe(CounterSelector select)
    {
        var counters = _rings.ReadCounters();
        var measurements = new List<Measurement<long>>(counters?.Length ?? 0);
        if (counters is not null)
        {
            var tags = RingIdTags(counters.Length);
            for (int i = 0; i < counters.Length; i++)
            {
                measurements.Add(new Measurement<long>(select(in counters[i]), tags[i]));
            }
        }

        return measurements;
    }

    private List<Measurement<long>> ObserveNetworkIo()
    {
        var counters = _rings.ReadCounters();
        var measurements = new List<Measurement<long>>(2 * (counters?.Length ?? 0));
        if (counters is not null)
        {
            var tags = RingIdTags(counters.Length);
            for (int i = 0; i < counters.Length; i++)
            {
                measurements.Add(new Measurement<long>(counters[i].BytesReceived, tags[i], new(DirectionTag, "receive")));
                measurements.Add(new Measurement<long>(counters[i].BytesSent, tags[i], new(DirectionTag, "transmit")));
            }
        }

        return measurements;
    }

    private List<Measurement<long>> ObserveFallbacks()
    {
        lock (_fallbackLock)
        {
            var measurements = new List<Measurement<long>>(_fallbacks.Count);
            foreach (var (errorType, count) in _fallbacks)
            {
                measurements.Add(new Measurement<long>(count, new KeyValuePair<string, object?>(ErrorTypeTag, errorType)));
            }

            return measurements;
        }
    }

    private KeyValuePair<string, object?>[] RingIdTags(int ringCount)
    {
        var tags = _ringIdTags;
        if (tags.Length != ringCount)
        {
            tags = new KeyValuePair<string, object?>[ringCount];
            for (int i = 0; i < tags.Length; i++)
            {
                tags[i] = new(RingIdTag, i);
            }

            _ringIdTags = tags;
        }

        return tags;
    }
}
