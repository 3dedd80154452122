using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading;
using System.Threading.Tasks;

namespace Transport.IoUring.Benchmarks.LoadGenerators;

/// <summary>
/// The load generator of the websocket-echo scenario: <see cref="Connections"/> WebSockets to the
/// sample's /ws, each sending one binary message of <see cref="MessageBytes"/> and waiting for its
/// echo before the next, until the duration is over. Every echo is compared with what was sent (the
/// message carries its connection and sequence number), so a lost, reordered or corrupted message
/// counts as an error, not as a response. Runs as its own process (<c>websocket-client</c>) so that
/// it is pinned to the client cores and its CPU time is measured like any other tool's.
/// </summary>
/// <remarks>
/// No WebSocket load generator ships with Debian; this one uses .NET's ClientWebSocket, whose
/// per-message cost is close to the server's (see docs/benchmarks.md for the client's CPU share).
/// It arms no timer per message: the ValueTask overloads of SendAsync and ReceiveAsync, and one
/// watchdog for the run that cancels an echo still missing <see cref="EchoTimeout"/> after its end.
/// (2026-12-07, by hand against one io_uring server, four interleaved pairs: 31–51 client CPU-µs
/// per message against 38–59 with a linked CancellationTokenSource and CancelAfter per message,
/// 0.84× in the geometric mean, scattered 0.65–1.05×.)
/// </remarks>
internal sealed class WebSocketEchoClient
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan EchoTimeout = TimeSpan.FromSeconds(5);

    public required Uri Url { get; init; }
    public required int Connections { get; init; }
    public required int MessageBytes { get; init; }
    public required TimeSpan Duration { get; init; }

    public async Task<ClientReport> RunAsync(CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MessageBytes, 16);
        var workers = new Worker[Connections];
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);

        // Connections are opened first and not timed: the scenario measures messages, not handshakes.
        var connects = new Task<ClientWebSocket?>[Connections];
        for (int i = 0; i < Connections; i++)
        {
            workers[i] = new Worker(i, MessageBytes);
            connects[i] = ConnectAsync(workers[i], cancellationToken);
        }

        await Task.WhenAll(connects).ConfigureAwait(false);
        var stopwatch = Stopwatch.StartNew();
        long deadline = Stopwatch.GetTimestamp() + (long)(Duration.TotalSeconds * Stopwatch.Frequency);

        // One timer for the whole run instead of one per message: an echo still missing
        // EchoTimeout after the end is cancelled and counted as a timeout (a stalled connection
        // stops sending at its first missing echo either way).
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        watchdog.CancelAfter(Duration + EchoTimeout);
        var runs = new List<Task>();
        for (int i = 0; i < Connections; i++)
        {
            if (connects[i].Result is { } socket)
            {
                var worker = workers[i];
                runs.Add(Task.Run(() => worker.RunAsync(socket, deadline, watchdog.Token, cancellationToken), cancellationToken));
            }
        }

        await Task.WhenAll(runs).ConfigureAwait(false);
        double seconds = stopwatch.Elapsed.TotalSeconds;

        var latencies = new List<double>();
        long responses = 0;
        foreach (var worker in workers)
        {
            responses += worker.Echoes;
            latencies.AddRange(worker.Latencies);
            foreach (var (kind, count) in worker.Errors)
            {
                errors[kind] = errors.GetValueOrDefault(kind) + count;
            }
        }

        return new ClientReport
        {
            Responses = responses,
            Seconds = seconds,
            ErrorDetails = errors,
            P50Microseconds = latencies.Count > 0 ? Percentiles.Of(latencies, 50) : null,
            P99Microseconds = latencies.Count > 0 ? Percentiles.Of(latencies, 99) : null,
        };
    }

    private async Task<ClientWebSocket?> ConnectAsync(Worker worker, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(Url, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            worker.Count("connect: " + (ex is OperationCanceledException ? "timeout" : ex.Message));
            socket.Dispose();
            return null;
        }
    }

    private sealed class Worker(int id, int messageBytes)
    {
        private readonly byte[] _message = new byte[messageBytes];
        private readonly byte[] _echo = new byte[messageBytes];

        public long Echoes { get; private set; }
        public List<double> Latencies { get; } = new();
        public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

        public void Count(string kind) => Errors[kind] = Errors.GetValueOrDefault(kind) + 1;

        public async Task RunAsync(ClientWebSocket socket, long deadline, CancellationToken watchdog, CancellationToken cancellationToken)
        {
            using (socket)
            {
                BinaryPrimitives.WriteInt32LittleEndian(_message, id);
                _message.AsSpan(12).Fill((byte)'x');
                try
                {
                    for (long sequence = 0; Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested; sequence++)
                    {
                        BinaryPrimitives.WriteInt64LittleEndian(_message.AsSpan(4), sequence);
                        long start = Stopwatch.GetTimestamp();
                        await socket.SendAsync(_message.AsMemory(), WebSocketMessageType.Binary, endOfMessage: true, watchdog).ConfigureAwait(false);
                        int received = 0;
                        while (true)
                        {
                            var result = await socket.ReceiveAsync(_echo.AsMemory(received), watchdog).ConfigureAwait(false);
                            if (result.MessageType == WebSocketMessageType.Close)
                            {
                                Count("closed by the server");
                                return;
                            }

                            received += result.Count;
                            if (result.EndOfMessage)
                            {
                                break;
                            }

                            if (received == _echo.Length)
                            {
                                Count("echo longer than the message");
                                return;
                            }
                        }

                        if (received != _message.Length || !_echo.AsSpan().SequenceEqual(_message))
                        {
                            Count("echo differs from the message");
                            return;
                        }

                        Latencies.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                        Echoes++;
                    }

                    using var closeTimeout = new CancellationTokenSource(EchoTimeout);
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, closeTimeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Count("timeout");
                }
                catch (OperationCanceledException)
                {
                }
                catch (WebSocketException ex)
                {
                    Count(ex.WebSocketErrorCode.ToString());
                }
            }
        }
    }
}
