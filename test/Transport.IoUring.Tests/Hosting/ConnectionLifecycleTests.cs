using System;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Transport.IoUring.Tests.Protocols;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Hosting;

/// <summary>
/// The transport's ConnectionContext as a Kestrel connection middleware sees it, driven by a raw
/// TCP client: features, endpoints, FIN, abort (RST), graceful close and byte order.
/// </summary>
public class ConnectionLifecycleTests(ITestOutputHelper output)
{
    public static TheoryData<IoUringReceiveMode> ReceiveModes => new() { IoUringReceiveMode.BufferRing, IoUringReceiveMode.PollAndReceive };

    [Theory]
    [MemberData(nameof(ReceiveModes))]
    public async Task TheConnectionContextCarriesTheTransportFeaturesAndTheSocketsEndPoints(IoUringReceiveMode mode)
    {
        var seen = new TaskCompletionSource<Observed>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(mode, async connection =>
        {
            try
            {
                var features = connection.Features;
                var custom = new CustomFeature();
                features.Set(custom);
                bool customReadBack = ReferenceEquals(custom, features.Get<CustomFeature>());
                features.Set<CustomFeature>(null);
                bool customRemoved = features.Get<CustomFeature>() is null;
                connection.Items["key"] = "value";

                seen.TrySetResult(new Observed(
                    IoUring: features.Get<IIoUringConnectionFeature>(),
                    ConnectionIdMatches: features.Get<IConnectionIdFeature>()?.ConnectionId == connection.ConnectionId && !string.IsNullOrEmpty(connection.ConnectionId),
                    TransportMatches: features.Get<IConnectionTransportFeature>()?.Transport == connection.Transport && connection.Transport is not null,
                    ItemsMatch: features.Get<IConnectionItemsFeature>()?.Items["key"] as string == "value",
                    HasMemoryPool: features.Get<IMemoryPoolFeature>()?.MemoryPool is not null,
                    HasLifetime: features.Get<IConnectionLifetimeFeature>() is not null,
                    EndPoints: features.Get<IConnectionEndPointFeature>(),
                    Local: connection.LocalEndPoint,
                    Remote: connection.RemoteEndPoint,
                    CustomReadBack: customReadBack,
                    CustomRemoved: customRemoved));
            }
            catch (Exception ex)
            {
                seen.TrySetException(ex);
            }

            await DrainUntilClosedAsync(connection);
        });

        using var client = await ConnectAsync(server);
        var observed = await seen.Task.WaitAsync(Bounds.Wait);

        Assert.NotNull(observed.IoUring);
        Assert.Equal(mode, observed.IoUring!.ReceiveMode);
        Assert.True(observed.ConnectionIdMatches, "IConnectionIdFeature.ConnectionId should be the connection's id");
        Assert.True(observed.TransportMatches, "IConnectionTransportFeature.Transport should be the connection's transport");
        Assert.True(observed.ItemsMatch, "IConnectionItemsFeature.Items should be the connection's items");
        Assert.True(observed.HasMemoryPool, "IMemoryPoolFeature should offer a memory pool");
        Assert.True(observed.HasLifetime, "IConnectionLifetimeFeature should be present");
        Assert.NotNull(observed.EndPoints);
        Assert.Equal(client.RemoteEndPoint, observed.Local);
        Assert.Equal(client.LocalEndPoint, observed.Remote);
        Assert.Equal(client.RemoteEndPoint, observed.EndPoints!.LocalEndPoint);
        Assert.Equal(client.LocalEndPoint, observed.EndPoints.RemoteEndPoint);
        Assert.True(observed.CustomReadBack, "a feature set on the connection should be read back");
        Assert.True(observed.CustomRemoved, "a feature set to null should be gone");
    }

    [Theory]
    [MemberData(nameof(ReceiveModes))]
    public async Task AClientFinCompletesTheInputAndTheConnectionClosesOnceTheApplicationIsDone(IoUringReceiveMode mode)
    {
        // A FIN is a half-close: the input ends, but the client may still be reading, so the
        // connection is not reported closed until the application completes its side
        // (docs/architecture.md, "Lifecycle").
        var inputCompleted = new TaskCompletionSource<(long Received, bool ClosedAtEndOfInput)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(mode, async connection =>
        {
            AssertIoUring(connection);
            connection.ConnectionClosed.Register(() => closed.TrySetResult());
            long received = 0;
            while (true)
            {
                var result = await connection.Transport.Input.ReadAsync();
                received += result.Buffer.Length;
                connection.Transport.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            // Still writable after the client's FIN.
            await connection.Transport.Output.WriteAsync(new byte[] { 4, 5 });
            inputCompleted.TrySetResult((received, closed.Task.IsCompleted));
        });

        using var client = await ConnectAsync(server);
        await client.SendAsync(new byte[] { 1, 2, 3 });
        client.Shutdown(SocketShutdown.Send);

        var (received, closedAtEndOfInput) = await inputCompleted.Task.WaitAsync(Bounds.Wait);
        Assert.Equal(3, received);
        Assert.False(closedAtEndOfInput, "ConnectionClosed fired on the client's FIN, while the connection could still send");
        await closed.Task.WaitAsync(Bounds.Wait);

        // What the application wrote after the FIN arrived, then the server's FIN.
        var buffer = new byte[16];
        int total = 0, read;
        while ((read = await client.ReceiveAsync(buffer.AsMemory(total))) > 0)
        {
            total += read;
        }

        Assert.Equal(new byte[] { 4, 5 }, buffer[..total]);
    }

    [Theory]
    [MemberData(nameof(ReceiveModes))]
    public async Task AbortResetsTheClientAndFiresConnectionClosed(IoUringReceiveMode mode)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(mode, async connection =>
        {
            AssertIoUring(connection);
            using var registration = connection.ConnectionClosed.Register(() => closed.TrySetResult());
            var result = await connection.Transport.Input.ReadAsync(); // the client's byte: it is connected
            connection.Transport.Input.AdvanceTo(result.Buffer.End);
            connection.Abort();
            await closed.Task.WaitAsync(Bounds.Wait);
        });

        using var client = await ConnectAsync(server);
        await client.SendAsync(new byte[] { 42 });
        using var cts = Bounds.Token();

        var error = await Assert.ThrowsAsync<SocketException>(async () => await client.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token));

        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
        await closed.Task.WaitAsync(Bounds.Wait);
    }

    [Theory]
    [MemberData(nameof(ReceiveModes))]
    public async Task CompletingTheOutputSendsEveryByteThenFinAndEndsTheConnection(IoUringReceiveMode mode)
    {
        byte[] payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inputEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(mode, async connection =>
        {
            AssertIoUring(connection);
            using var registration = connection.ConnectionClosed.Register(() => closed.TrySetResult());
            for (int offset = 0; offset < payload.Length; offset += 100_000)
            {
                await connection.Transport.Output.WriteAsync(payload.AsMemory(offset, Math.Min(100_000, payload.Length - offset)));
            }

            // As on Sockets: once the send side is done the socket is shut down both ways, so the
            // input completes and ConnectionClosed fires although the client has not closed.
            await connection.Transport.Output.CompleteAsync();
            await DrainUntilClosedAsync(connection);
            inputEnded.TrySetResult();
            await closed.Task.WaitAsync(Bounds.Wait);
        });

        using var client = await ConnectAsync(server);
        await using var stream = new NetworkStream(client, ownsSocket: false);

        // ReadAsync returning 0 is the FIN; a reset would throw instead.
        var (length, hash) = await Payload.HashStreamAsync(stream).WaitAsync(Bounds.Wait);

        Assert.Equal(payload.Length, length);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), hash);
        await inputEnded.Task.WaitAsync(Bounds.Wait);
        await closed.Task.WaitAsync(Bounds.Wait);
    }

    [Theory]
    [MemberData(nameof(ReceiveModes))]
    public async Task BytesFromTheClientArriveInOrderThroughTheInput(IoUringReceiveMode mode)
    {
        byte[] payload = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        await using var server = await StartAsync(mode, async connection =>
        {
            AssertIoUring(connection);

            // Echo until the client's FIN, then complete the output: the client sees our FIN.
            var input = connection.Transport.Input;
            var outputPipe = connection.Transport.Output;
            while (true)
            {
                var result = await input.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    await outputPipe.WriteAsync(segment);
                }

                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            await outputPipe.CompleteAsync();
        });

        using var client = await ConnectAsync(server);
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var send = Task.Run(async () =>
        {
            var random = new Random(1);
            for (int offset = 0; offset < payload.Length;)
            {
                int length = Math.Min(random.Next(1, 200_000), payload.Length - offset);
                await stream.WriteAsync(payload.AsMemory(offset, length));
                offset += length;
            }

            client.Shutdown(SocketShutdown.Send);
        });

        var (length, hash) = await Payload.HashStreamAsync(stream).WaitAsync(Bounds.Wait);
        await send.WaitAsync(Bounds.Wait);

        Assert.Equal(payload.Length, length);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), hash);
    }

    private Task<TestServer> StartAsync(IoUringReceiveMode mode, ConnectionDelegate middleware) => TestServer.StartAsync(
        _ => { },
        configureTransport: options => options.ReceiveMode = mode,
        configureKestrel: options => options.Listen(IPAddress.Loopback, 0, listen => listen.Use(_ => middleware)),
        output: output);

    private static async Task<Socket> ConnectAsync(TestServer server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(server.EndPoint).WaitAsync(Bounds.Wait);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // The middleware's checks throw on the server; a test fails because the connection then closes
    // without doing what it should.
    private static void AssertIoUring(ConnectionContext connection)
    {
        if (connection.Features.Get<IIoUringConnectionFeature>() is null)
        {
            throw new InvalidOperationException("The connection did not come through io_uring.");
        }
    }

    // Reads the input until it ends: completed by a FIN, or (after the transport shut the socket
    // down itself) completed with the ConnectionAbortedException saying why, as on Sockets.
    private static async Task DrainUntilClosedAsync(ConnectionContext connection)
    {
        try
        {
            while (true)
            {
                var result = await connection.Transport.Input.ReadAsync().AsTask().WaitAsync(Bounds.Wait);
                connection.Transport.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (ConnectionAbortedException)
        {
        }
    }

    private sealed record Observed(
        IIoUringConnectionFeature? IoUring,
        bool ConnectionIdMatches,
        bool TransportMatches,
        bool ItemsMatch,
        bool HasMemoryPool,
        bool HasLifetime,
        IConnectionEndPointFeature? EndPoints,
        EndPoint? Local,
        EndPoint? Remote,
        bool CustomReadBack,
        bool CustomRemoved);

    private sealed class CustomFeature;
}
