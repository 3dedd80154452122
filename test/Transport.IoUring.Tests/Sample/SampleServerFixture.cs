using System;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>One sample server process shared by the tests of a class; stopped (SIGTERM) when they are done.</summary>
public abstract class SampleServerFixture : IAsyncLifetime
{
    private SampleServerProcess? _server;

    public SampleServerProcess Server => _server ?? throw new InvalidOperationException("The sample server is not started.");

    public async Task InitializeAsync()
    {
        // A fixture that configures fixed ports picks them free but cannot reserve them; if one was taken
        // in the meantime, it tries again with new ones.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                _server = await SampleServerProcess.StartAsync(CreateOptions());
                return;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("already in use", StringComparison.OrdinalIgnoreCase))
            {
            }
        }
    }

    public virtual async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>An HTTP/1.1 client for <paramref name="baseAddress"/> (the server's first address by default).</summary>
    public HttpClient CreateClient(Uri? baseAddress = null) => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = baseAddress ?? Server.BaseAddress,
        Timeout = TimeSpan.FromSeconds(90),
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    protected abstract SampleServerOptions CreateOptions();
}

/// <summary>The sample on its default transport, io_uring.</summary>
public sealed class IoUringSampleFixture : SampleServerFixture
{
    protected override SampleServerOptions CreateOptions() => new();
}

/// <summary>The sample with --transport sockets.</summary>
public sealed class SocketsSampleFixture : SampleServerFixture
{
    protected override SampleServerOptions CreateOptions() => new() { Transport = "sockets" };
}
