using System;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Transport.IoUring.MicroBenchmarks;

/// <summary>
/// Feature look-ups on a real accepted connection, io_uring against Kestrel's Sockets transport:
/// features the transport implements itself, one set later (as TLS or HTTP/2 would), and one
/// that is absent.
/// </summary>
public class FeatureCollectionBenchmarks
{
    private IConnectionListener _listener = null!;
    private Socket _client = null!;
    private ConnectionContext _connection = null!;
    private IFeatureCollection _features = null!;

    [Params("iouring", "sockets")]
    public string Transport { get; set; } = "iouring";

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        IConnectionListenerFactory factory = Transport == "iouring"
            ? new IoUringTransportFactory(Options.Create(new IoUringTransportOptions { RingCount = 1 }), NullLoggerFactory.Instance)
            : new SocketTransportFactory(Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance);
        _listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await _client.ConnectAsync(_listener.EndPoint);
        _connection = await _listener.AcceptAsync() ?? throw new InvalidOperationException("No connection accepted.");
        _features = _connection.Features;
        if (Transport == "iouring" && _features.Get<IIoUringConnectionFeature>() is null)
        {
            throw new InvalidOperationException("The connection is not on io_uring.");
        }

        _features.Set<ISetLaterFeature>(new SetLaterFeature());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "Kestrel's per-connection look-ups (5 own features)")]
    public int OwnFeatures()
    {
        int found = 0;
        found += _features.Get<IConnectionIdFeature>() is null ? 0 : 1;
        found += _features.Get<IConnectionTransportFeature>() is null ? 0 : 1;
        found += _features.Get<IMemoryPoolFeature>() is null ? 0 : 1;
        found += _features.Get<IConnectionLifetimeFeature>() is null ? 0 : 1;
        found += _features.Get<IConnectionEndPointFeature>() is null ? 0 : 1;
        return found;
    }

    [Benchmark(Description = "a feature set later")]
    public object? SetLater() => _features.Get<ISetLaterFeature>();

    [Benchmark(Description = "an absent feature")]
    public object? Absent() => _features.Get<ITlsConnectionFeature>();

    public interface ISetLaterFeature
    {
    }

    private sealed class SetLaterFeature : ISetLaterFeature
    {
    }
}
