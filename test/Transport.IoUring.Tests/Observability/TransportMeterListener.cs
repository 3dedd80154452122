using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using Transport.IoUring.Internal;

namespace Transport.IoUring.Tests.Observability;

/// <summary>One measurement of an instrument of the "Transport.IoUring" meter.</summary>
internal sealed record TransportMeasurement(string Instrument, long Value, IReadOnlyDictionary<string, object?> Tags)
{
    public int? RingId => Tags.TryGetValue(IoUringMetrics.RingIdTag, out var id) ? (int?)id : null;
}

/// <summary>
/// Listens to the "Transport.IoUring" meter of one host only: the meter that host's
/// <see cref="IMeterFactory"/> created, so servers of tests running in parallel do not mix in.
/// </summary>
internal sealed class TransportMeterListener : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<Instrument> _instruments = new();
    private readonly List<TransportMeasurement> _collected = new();
    private readonly object _lock = new();

    public TransportMeterListener(IMeterFactory meterFactory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == IoUringMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                lock (_lock)
                {
                    _instruments.Add(instrument);
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var tagMap = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                tagMap[tag.Key] = tag.Value;
            }

            _collected.Add(new TransportMeasurement(instrument.Name, value, tagMap));
        });
        _listener.Start();
    }

    /// <summary>The instruments of the host's transport meter.</summary>
    public IReadOnlyList<Instrument> Instruments
    {
        get
        {
            lock (_lock)
            {
                return _instruments.ToArray();
            }
        }
    }

    /// <summary>Reads every observable instrument once, as an exporter's collection would.</summary>
    public MetricsSnapshot Collect()
    {
        lock (_lock)
        {
            _collected.Clear();
            _listener.RecordObservableInstruments();
            return new MetricsSnapshot(_collected.ToArray());
        }
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>The measurements of one collection.</summary>
internal sealed class MetricsSnapshot(IReadOnlyList<TransportMeasurement> measurements)
{
    public IReadOnlyList<TransportMeasurement> Measurements { get; } = measurements;

    /// <summary>The sum over every measurement of <paramref name="instrument"/> whose tags include <paramref name="tag"/> (when given).</summary>
    public long Sum(string instrument, (string Key, object Value)? tag = null)
        => Of(instrument)
            .Where(m => tag is null || (m.Tags.TryGetValue(tag.Value.Key, out var v) && Equals(v, tag.Value.Value)))
            .Sum(m => m.Value);

    public IEnumerable<TransportMeasurement> Of(string instrument) => Measurements.Where(m => m.Instrument == instrument);

    public override string ToString()
        => string.Join("\n", Measurements.Select(m => $"{m.Instrument} {m.Value} {string.Join(",", m.Tags.Select(t => $"{t.Key}={t.Value}"))}"));
}
