using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Xunit;

namespace Transport.IoUring.Tests.Http1;

/// <summary>Bounds for waits: long enough never to fail on a slow machine, short enough not to hang CI.</summary>
internal static class Bounded
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it holds or <see cref="Wait"/> passes; returns its last value.</summary>
    public static async Task<bool> PollAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Wait);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return condition();
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>True once <paramref name="token"/> is cancelled; false if it is not within the bound.</summary>
    public static async Task<bool> WhenCancelledAsync(CancellationToken token, TimeSpan? timeout = null)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = token.Register(() => cancelled.TrySetResult());
        try
        {
            await cancelled.Task.WaitAsync(timeout ?? Wait);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}

/// <summary>Deterministic test data.</summary>
internal static class TestData
{
    /// <summary>Byte i of the pattern is (byte)(i % 251).</summary>
    public static void FillPattern(Span<byte> span, long offset)
    {
        int value = (int)(offset % 251);
        for (int i = 0; i < span.Length; i++)
        {
            span[i] = (byte)value;
            if (++value == 251)
            {
                value = 0;
            }
        }
    }

    /// <summary>Index of the first byte of <paramref name="span"/> that breaks the pattern, or -1.</summary>
    public static int FindPatternMismatch(ReadOnlySpan<byte> span, long offset)
    {
        int value = (int)(offset % 251);
        for (int i = 0; i < span.Length; i++)
        {
            if (span[i] != value)
            {
                return i;
            }

            if (++value == 251)
            {
                value = 0;
            }
        }

        return -1;
    }

    public static byte[] Random(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Sizes from 1 to <paramref name="max"/>, a quarter of them small (at most 256 bytes).</summary>
    public static int NextChunkSize(Random random, int max)
        => random.Next(4) == 0 ? random.Next(1, Math.Min(256, max) + 1) : random.Next(1, max + 1);
}

/// <summary>Sums over the io_uring rings of a running test server.</summary>
internal static class Rings
{
    /// <summary>Connections the rings still hold (open fds), 0 once the rings have stopped.</summary>
    public static int ActiveConnections(TestServer server)
        => server.Factory!.RingGroup.Rings?.Sum(r => r.Connections.Active) ?? 0;

    /// <summary>
    /// Asserts the server answers a new request (over io_uring, in <paramref name="mode"/>) and that,
    /// once that client has gone too, the rings hold no connection (bounded wait).
    /// </summary>
    public static async Task AssertServesAndDrainsAsync(TestServer server, IoUringReceiveMode mode)
    {
        using (var connection = await RawHttpConnection.ConnectAsync(server.EndPoint))
        {
            await connection.SendAsync(RawHttpConnection.Get("/plaintext", close: true));
            var response = await connection.ReadResponseAsync();
            Assert.Equal(200, response.StatusCode);
            response.AssertServedOverIoUring(mode);
            Assert.Equal(Http1App.Plaintext, response.BodyText);
        }

        Assert.True(await Bounded.PollAsync(() => ActiveConnections(server) == 0),
            $"{ActiveConnections(server).ToString(CultureInfo.InvariantCulture)} connection(s) still open on the rings");
    }
}

/// <summary>What a connection middleware saw of one connection.</summary>
internal sealed class TrackedConnection(string id, bool isIoUring)
{
    public string Id { get; } = id;

    /// <summary>Whether the transport's ConnectionContext carried <see cref="IIoUringConnectionFeature"/>.</summary>
    public bool IsIoUring { get; } = isIoUring;

    /// <summary>Completes when the transport's <see cref="ConnectionContext.ConnectionClosed"/> fires.</summary>
    public TaskCompletionSource ConnectionClosedFired { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// Connection middleware that records every connection Kestrel takes from the transport and when
/// the transport's ConnectionClosed token fires. Pass <see cref="Listen"/> as configureKestrel.
/// </summary>
internal sealed class ConnectionTracker
{
    private readonly ConcurrentDictionary<string, TrackedConnection> _connections = new();

    public void Listen(KestrelServerOptions options)
    {
        options.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => async context =>
        {
            var tracked = new TrackedConnection(context.ConnectionId, context.Features.Get<IIoUringConnectionFeature>() is not null);
            _connections[context.ConnectionId] = tracked;
            // Not disposed with the middleware: the token may fire after Kestrel's HTTP layer returns.
            context.ConnectionClosed.Register(static state => ((TrackedConnection)state!).ConnectionClosedFired.TrySetResult(), tracked);
            await next(context);
        }));
    }

    public TrackedConnection this[string connectionId] => _connections[connectionId];
}
