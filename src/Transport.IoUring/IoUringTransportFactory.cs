using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Transport.IoUring.Internal;
using Transport.IoUring.Interop;

namespace Transport.IoUring;

/// <summary>
/// Kestrel's entry point to the io_uring transport. As an <see cref="IConnectionListenerFactorySelector"/>
/// it claims only the endpoints it serves, and only when io_uring works on this machine; Kestrel
/// then binds everything else (or everything, after a fallback) with its Sockets transport.
/// </summary>
public sealed class IoUringTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly IoUringTransportOptions _options;
    private readonly ILogger _logger;
    private readonly RingCapabilities _capabilities;
    private readonly RingGroup _rings;
    private readonly IoUringMetrics? _metrics;
    private string? _unavailableReason;
    private int _unavailableErrno;
    private int _fallbackLogged;
    private int _disabledLogged;

    // Which transport each endpoint Kestrel asked about is served by, for the health check.
    private readonly ConcurrentDictionary<string, EndPointTransport> _endpoints = new();

    /// <summary>Creates the factory; <paramref name="options"/> are validated by the options system first.</summary>
    public IoUringTransportFactory(IOptions<IoUringTransportOptions> options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);

        _options = options.Value;
        IoUringTransportOptionsValidator.ThrowIfInvalid(_options);
        _logger = loggerFactory.CreateLogger("Transport.IoUring");
        if (_options.UnknownConfigurationKeys is { Length: > 0 } unknownKeys)
        {
            IoUringLog.UnknownConfigurationKeys(_logger, string.Join(", ", unknownKeys), string.Join(", ", UnknownConfigurationKeys.KnownKeys));
        }

        _capabilities = _options.SimulatedSetupErrno != 0 || _options.SimulatedMissingOpcode is not null
            ? RingCapabilities.Probe(_options.SimulatedSetupErrno, _options.SimulatedMissingOpcode)
            : RingCapabilities.Current;
        _rings = new RingGroup(_options, _capabilities, loggerFactory);
        _unavailableReason = _capabilities.IsSupported ? null
            : _capabilities.Errno == Errno.ENOMEM ? _rings.CreatePlan().DescribeLockedMemoryFailure(_capabilities.UnavailableReason!)
            : _capabilities.UnavailableReason;
        _unavailableErrno = _capabilities.Errno;
        _metrics = _options.MeterFactory is { } meterFactory ? new IoUringMetrics(meterFactory, _rings) : null;
    }

    /// <summary>
    /// True unless io_uring is known not to work here: the probe failed, or creating the rings
    /// failed at the first bind.
    /// </summary>
    public bool IsIoUringAvailable => _unavailableReason is null;

    /// <summary>Why io_uring cannot be used here, or null when it can.</summary>
    public string? UnavailableReason => _unavailableReason;

    internal RingGroup RingGroup => _rings;

    internal IoUringTransportOptions Options => _options;

    /// <summary>The endpoints Kestrel has asked this factory about, with the transport serving each.</summary>
    internal IReadOnlyCollection<EndPointTransport> EndPoints => (IReadOnlyCollection<EndPointTransport>)_endpoints.Values;

    internal RingCapabilities Capabilities => _capabilities;

    /// <summary>The transport's metrics, or null when the host has no <see cref="System.Diagnostics.Metrics.IMeterFactory"/>.</summary>
    internal IoUringMetrics? Metrics => _metrics;

    /// <inheritdoc />
    public bool CanBind(EndPoint endpoint)
    {
        bool supportedEndPoint = endpoint switch
        {
            IPEndPoint => true,
            UnixDomainSocketEndPoint => true,
            FileHandleEndPoint => true,
            _ => false,
        };

        if (!supportedEndPoint)
        {
            return false;
        }

        if (!_options.Enabled)
        {
            if (Interlocked.Exchange(ref _disabledLogged, 1) == 0)
            {
                IoUringLog.Disabled(_logger);
            }

            _endpoints[endpoint.ToString() ?? ""] = new EndPointTransport(endpoint.ToString() ?? "", OnIoUring: false, "switched off (Enabled = false)");
            return false;
        }

        if (!TryEnsureRings())
        {
            _metrics?.OnSocketsFallback(_unavailableErrno != 0 ? LibC.ErrnoName(_unavailableErrno) : "unsupported");
            _endpoints[endpoint.ToString() ?? ""] = new EndPointTransport(endpoint.ToString() ?? "", OnIoUring: false, _unavailableReason);
            return false;
        }

        return true;
    }

    /// <inheritdoc />
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!_options.Enabled)
        {
            throw new NotSupportedException("io_uring is switched off (IoUringTransportOptions.Enabled is false).");
        }

        if (!TryEnsureRings())
        {
            throw new NotSupportedException($"io_uring is unavailable: {_unavailableReason}");
        }

        var listener = new IoUringConnectionListener(endpoint, _rings, _options);
        listener.Bind();

        _endpoints[endpoint.ToString() ?? ""] = new EndPointTransport(listener.EndPoint.ToString() ?? "", OnIoUring: true, null);
        var rings = _rings.Rings!;
        var features = rings[0].Features;
        IoUringLog.Serving(_logger, listener.EndPoint.ToString() ?? "", rings.Length, rings[0].ReceiveMode, _capabilities.KernelVersion, RingCapabilities.Describe(features));
        return new ValueTask<IConnectionListener>(listener);
    }

    private bool TryEnsureRings()
    {
        if (_unavailableReason is null)
        {
            try
            {
                _rings.EnsureStarted();
                return true;
            }
            catch (RingException ex)
            {
                _unavailableReason = ex.Errno == Errno.ENOMEM ? _rings.CreatePlan().DescribeLockedMemoryFailure(ex.Message) : ex.Message;
                _unavailableErrno = ex.Errno;
            }
        }

        if (Interlocked.Exchange(ref _fallbackLogged, 1) == 0)
        {
            IoUringLog.FallingBackToSockets(_logger, _unavailableReason!);
        }

        return false;
    }
}
