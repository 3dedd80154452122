using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Transport.IoUring.Internal;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests;

/// <summary>
/// A real Kestrel server on loopback for one test. Every response carries an X-Transport header
/// ("io_uring" or "sockets") saying which transport accepted the connection, so a test of an
/// io_uring path fails if the server silently fell back to Sockets.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string TransportHeader = "X-Transport";

    private TestServer(WebApplication app, TestLoggerProvider logs)
    {
        App = app;
        Logs = logs;
    }

    public WebApplication App { get; }

    public TestLoggerProvider Logs { get; }

    /// <summary>The first bound address, e.g. http://127.0.0.1:41234.</summary>
    public Uri Address => new(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public int Port => Address.Port;

    public IPEndPoint EndPoint => new(IPAddress.Parse(Address.Host.Trim('[', ']')), Address.Port);

    /// <summary>The io_uring factory Kestrel uses (null when the server was started on Sockets only).</summary>
    public IoUringTransportFactory? Factory => App.Services.GetServices<IConnectionListenerFactory>().OfType<IoUringTransportFactory>().SingleOrDefault();

    /// <summary>Connections accepted by all io_uring rings so far.</summary>
    public long IoUringAcceptedConnections => Factory?.RingGroup.Rings?.Sum(r => r.Connections.Accepted) ?? 0;

    /// <summary>
    /// Starts Kestrel. <paramref name="configureApp"/> maps the endpoints; by default Kestrel listens
    /// on http://127.0.0.1:0 and io_uring is used.
    /// </summary>
    public static async Task<TestServer> StartAsync(
        Action<WebApplication> configureApp,
        Action<IoUringTransportOptions>? configureTransport = null,
        Action<KestrelServerOptions>? configureKestrel = null,
        bool useIoUring = true,
        ITestOutputHelper? output = null)
    {
        var logs = new TestLoggerProvider(output);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.WebHost.ConfigureKestrel(options =>
        {
            if (configureKestrel is null)
            {
                options.Listen(IPAddress.Loopback, 0);
            }
            else
            {
                configureKestrel(options);
            }
        });

        if (useIoUring)
        {
            builder.WebHost.UseIoUring(options => configureTransport?.Invoke(options));
        }

        var app = builder.Build();
        app.Use((context, next) =>
        {
            context.Response.Headers[TransportHeader] = context.Features.Get<IIoUringConnectionFeature>() is null ? "sockets" : "io_uring";
            return next(context);
        });
        configureApp(app);
        await app.StartAsync();
        return new TestServer(app, logs);
    }

    /// <summary>An HttpClient for this server that asserts every response came over io_uring (or Sockets).</summary>
    public HttpClient CreateClient(string expectedTransport = "io_uring", Version? version = null)
    {
        var handler = new TransportCheckingHandler(expectedTransport) { InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) } };
        return new HttpClient(handler)
        {
            BaseAddress = Address,
            Timeout = TimeSpan.FromSeconds(60),
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>How long <see cref="DisposeAsync"/> waits for the pools' blocks to come back before it fails the test.</summary>
    public TimeSpan LeakCheckPatience { get; set; } = TimeSpan.FromSeconds(10);

    public async ValueTask DisposeAsync()
    {
        // Bounded: a connection the transport never closes keeps Kestrel's shutdown waiting; that
        // must fail the test, not hang the whole run.
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(120));
        var rings = Factory?.RingGroup;
        await App.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        if (rings is not null)
        {
            await AssertNoPoolBlockLeftRentedAsync(rings, LeakCheckPatience);
        }
    }

    /// <summary>
    /// The leak check of the transport's memory pools, like System.IO.Pipelines' test pool: once the
    /// server has stopped, every block its pipes rented must be back, none returned twice.
    /// </summary>
    internal static async Task AssertNoPoolBlockLeftRentedAsync(RingGroup rings, TimeSpan patience)
    {
        // Kestrel completes the last pipes as its connections finish disposing, possibly on the
        // thread pool just after the host returned: give them a moment.
        var deadline = DateTime.UtcNow + patience;
        while (rings.RentedBlocks != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(rings.RentedBlocks == 0, $"{rings.RentedBlocks} block(s) of the transport's memory pool were still rented {patience.TotalSeconds} s after the server stopped: a pipe (or whoever rented them) never gave them back.");
        Assert.True(rings.DoubleReturns == 0, $"{rings.DoubleReturns} block(s) of the transport's memory pool were returned twice.");
    }

    private sealed class TransportCheckingHandler(string expected) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, System.Threading.CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Assert.True(response.Headers.TryGetValues(TransportHeader, out var values), "response has no X-Transport header");
            Assert.Equal(expected, values!.Single());
            return response;
        }
    }
}

/// <summary>Collects log entries (and echoes them to the test output) so tests can assert on them.</summary>
public sealed class TestLoggerProvider(ITestOutputHelper? output) : ILoggerProvider
{
    private readonly ITestOutputHelper? _output = output;
    private readonly List<(string Category, LogLevel Level, EventId EventId, string Message)> _entries = new();

    public IReadOnlyList<(string Category, LogLevel Level, EventId EventId, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return _entries.ToArray();
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(TestLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string message = formatter(state, exception) + (exception is null ? "" : " " + exception);
            lock (provider._entries)
            {
                provider._entries.Add((category, logLevel, eventId, message));
            }

            if (logLevel >= LogLevel.Information)
            {
                try
                {
                    provider._output?.WriteLine($"{logLevel}: {category}[{eventId.Id}] {message}");
                }
                catch (InvalidOperationException)
                {
                    // The test already finished.
                }
            }
        }
    }

}
