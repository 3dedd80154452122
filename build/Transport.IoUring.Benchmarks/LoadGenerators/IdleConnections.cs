using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Transport.IoUring.Benchmarks.LoadGenerators;

/// <summary>
/// Opens keep-alive connections from the harness itself, each after one complete
/// <c>GET</c> (so the server has set up its per-connection state), and keeps them open and idle
/// until disposed.
/// </summary>
internal sealed class IdleConnections : IDisposable
{
    private readonly ConcurrentBag<Socket> _sockets = new();

    public int Open => _sockets.Count;
    public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);
    public int Failed { get; private set; }

    /// <summary>
    /// Opens up to <paramref name="count"/> connections, <paramref name="parallelism"/> at a time,
    /// giving up on the rest when <paramref name="timeLimit"/> is over.
    /// </summary>
    public async Task OpenAsync(IPEndPoint endPoint, string path, int count, int parallelism, TimeSpan timeLimit, CancellationToken cancellationToken)
    {
        byte[] request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {endPoint}\r\n\r\n");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeLimit);
        int next = -1;
        var errors = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var workers = new Task[parallelism];
        for (int w = 0; w < parallelism; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                while (Interlocked.Increment(ref next) < count && !limit.IsCancellationRequested)
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    try
                    {
                        await socket.ConnectAsync(endPoint, limit.Token).ConfigureAwait(false);
                        await socket.SendAsync(request, SocketFlags.None, limit.Token).ConfigureAwait(false);
                        await ReadOneResponseAsync(socket, buffer, limit.Token).ConfigureAwait(false);
                        _sockets.Add(socket);
                    }
                    catch (Exception ex) when (ex is SocketException or OperationCanceledException or InvalidOperationException)
                    {
                        socket.Dispose();
                        string kind = ex is SocketException se ? se.SocketErrorCode.ToString() : ex is OperationCanceledException ? "time limit" : ex.Message;
                        errors.AddOrUpdate(kind, 1, (_, c) => c + 1);
                        if (cancellationToken.IsCancellationRequested)
                        {
                            return;
                        }
                    }
                }
            }, CancellationToken.None);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var (kind, n) in errors)
        {
            Errors[kind] = n;
            Failed += (int)n;
        }
    }

    // Reads the head and a Content-Length body; the sample's /plaintext has no chunked responses.
    private static async Task ReadOneResponseAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        int length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                throw new InvalidOperationException("response head larger than 4 KiB");
            }

            int n = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new InvalidOperationException("server closed the connection");
            }

            length += n;
            if (ResponseLength(buffer.AsSpan(0, length)) is int total && length >= total)
            {
                return;
            }
        }
    }

    /// <summary>The full length of a response whose head is complete in <paramref name="data"/>, or null.</summary>
    internal static int? ResponseLength(ReadOnlySpan<byte> data)
    {
        int headEnd = data.IndexOf("\r\n\r\n"u8);
        if (headEnd < 0)
        {
            return null;
        }

        var head = Encoding.ASCII.GetString(data[..headEnd]);
        if (!head.StartsWith("HTTP/1.1 2", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("non-2xx response: " + head.Split('\r')[0]);
        }

        int contentLength = 0;
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                contentLength = int.Parse(line.AsSpan("Content-Length:".Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return headEnd + 4 + contentLength;
    }

    public void Dispose()
    {
        while (_sockets.TryTake(out var socket))
        {
            socket.Dispose();
        }
    }

    /// <summary>The soft limit on open files of this process (/proc/self/limits), or null if unreadable.</summary>
    public static long? OpenFilesLimit()
    {
        try
        {
            foreach (var line in System.IO.File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return parts[0] == "unlimited" ? long.MaxValue : long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }
        catch (System.IO.IOException)
        {
        }

        return null;
    }
}
