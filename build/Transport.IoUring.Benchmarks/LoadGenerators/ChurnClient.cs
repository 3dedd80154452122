using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace Transport.IoUring.Benchmarks.LoadGenerators;

/// <summary>
/// The load generator of the churn scenario: <see cref="Concurrency"/> tasks each loop over
/// connect, one <c>GET</c> with <c>Connection: close</c>, read the response to the end (the server
/// closes), close, until the duration is over. Every request therefore runs through the server's
/// accept path and its close path. Runs as its own process (<c>churn-client</c> command) so that it
/// can be pinned to the client cores and its CPU time measured like any other tool's.
/// </summary>
/// <remarks>
/// bombardier with <c>-H 'Connection: close'</c> would also reconnect, but its latency then hides
/// the connect, and its reconnect behaviour is fasthttp's to decide; this loop is explicit.
/// </remarks>
internal sealed class ChurnClient
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    public required IPEndPoint EndPoint { get; init; }
    public required string Path { get; init; }
    public required int Concurrency { get; init; }
    public required TimeSpan Duration { get; init; }

    /// <summary>
    /// When set, every connection is TLS 1.3 (a full handshake each) and the server must present the
    /// certificate with this SHA-256.
    /// </summary>
    public string? TlsCertificateSha256 { get; init; }

    public async Task<ClientReport> RunAsync(CancellationToken cancellationToken)
    {
        byte[] request = Encoding.ASCII.GetBytes($"GET {Path} HTTP/1.1\r\nHost: {EndPoint}\r\nConnection: close\r\n\r\n");
        var workers = new Worker[Concurrency];
        var stopwatch = Stopwatch.StartNew();
        long deadline = Stopwatch.GetTimestamp() + (long)(Duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = new Task[Concurrency];
        for (int i = 0; i < Concurrency; i++)
        {
            var worker = workers[i] = new Worker();
            tasks[i] = Task.Run(() => worker.RunAsync(EndPoint, request, TlsOptions(), deadline, cancellationToken), cancellationToken);
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        double seconds = stopwatch.Elapsed.TotalSeconds;

        var latencies = new List<double>();
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);
        long responses = 0, non2xx = 0;
        foreach (var worker in workers)
        {
            responses += worker.Responses;
            non2xx += worker.Non2xx;
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
            Non2xx = non2xx,
            ErrorDetails = errors,
            P50Microseconds = latencies.Count > 0 ? Percentiles.Of(latencies, 50) : null,
            P99Microseconds = latencies.Count > 0 ? Percentiles.Of(latencies, 99) : null,
        };
    }

    private SslClientAuthenticationOptions? TlsOptions()
    {
        if (TlsCertificateSha256 is not { } expected)
        {
            return null;
        }

        return new SslClientAuthenticationOptions
        {
            TargetHost = EndPoint.Address.ToString(),
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, presented, _, _) => Running.ServerCertificate.Matches(presented, expected),
        };
    }

    private sealed class Worker
    {
        private readonly byte[] _buffer = new byte[16 * 1024];

        public long Responses { get; private set; }
        public long Non2xx { get; private set; }
        public List<double> Latencies { get; } = new();
        public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

        public async Task RunAsync(IPEndPoint endPoint, byte[] request, SslClientAuthenticationOptions? tls, long deadline, CancellationToken cancellationToken)
        {
            while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
            {
                long start = Stopwatch.GetTimestamp();
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(RequestTimeout);
                try
                {
                    int status = await OneRequestAsync(endPoint, request, tls, timeout.Token).ConfigureAwait(false);
                    Latencies.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                    Responses++;
                    if (status is < 200 or > 299)
                    {
                        Non2xx++;
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Count("timeout");
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (SocketException ex)
                {
                    Count(ex.SocketErrorCode.ToString());
                }
                catch (InvalidDataException ex)
                {
                    Count(ex.Message);
                }
                catch (AuthenticationException ex)
                {
                    Count("TLS: " + ex.Message);
                }
                catch (IOException ex)
                {
                    Count(ex.InnerException is SocketException socketError ? socketError.SocketErrorCode.ToString() : ex.Message);
                }
            }
        }

        private void Count(string kind) => Errors[kind] = Errors.GetValueOrDefault(kind) + 1;

        private async Task<int> OneRequestAsync(IPEndPoint endPoint, byte[] request, SslClientAuthenticationOptions? tls, CancellationToken cancellationToken)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            if (tls is null)
            {
                await socket.SendAsync(request, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                return await ReadStatusToEndAsync((buffer, token) => socket.ReceiveAsync(buffer, SocketFlags.None, token), cancellationToken).ConfigureAwait(false);
            }

            // A full handshake per connection: a new SslStream has no session to resume.
            await using var stream = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await stream.AuthenticateAsClientAsync(tls, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            return await ReadStatusToEndAsync(stream.ReadAsync, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>
        /// The server closes after the response (Connection: close): reads to the end. The head is
        /// kept until the status line is in; the rest only needs draining.
        /// </summary>
        private async Task<int> ReadStatusToEndAsync(Func<Memory<byte>, CancellationToken, ValueTask<int>> receive, CancellationToken cancellationToken)
        {
            int headLength = 0, status = -1;
            while (true)
            {
                var target = status < 0 ? _buffer.AsMemory(headLength) : _buffer.AsMemory();
                int n = await receive(target, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                if (status < 0)
                {
                    headLength += n;
                    if (headLength >= 12)
                    {
                        status = ParseStatus(_buffer.AsSpan(0, headLength));
                    }
                }
            }

            return status >= 0 ? status : throw new InvalidDataException("connection closed without a status line");
        }

        // "HTTP/1.1 200 OK": the three digits after the first space.
        private static int ParseStatus(ReadOnlySpan<byte> head)
        {
            int space = head.IndexOf((byte)' ');
            if (space < 0 || head.Length < space + 4 || !head.StartsWith("HTTP/"u8))
            {
                throw new InvalidDataException("response does not start with an HTTP status line");
            }

            var digits = head.Slice(space + 1, 3);
            return (digits[0] - '0') * 100 + (digits[1] - '0') * 10 + (digits[2] - '0');
        }
    }
}
