using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Transport.IoUring.Tests.Http1;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>
/// Plays a <see cref="FuzzCase"/> against a server over a raw TCP connection: sends its chunks
/// after their delays while a second task receives everything the server sends, then half-closes,
/// resets or just waits as the case says, until the server ends the connection or the deadline passes.
/// </summary>
internal static class FuzzCasePlayer
{
    /// <summary>How long a case may take before its outcome is <see cref="FuzzEnd.Deadline"/>.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    public static async Task<FuzzOutcome> PlayAsync(IPEndPoint endPoint, FuzzCase fuzzCase)
    {
        using var connection = await RawHttpConnection.ConnectAsync(endPoint);
        Socket socket = connection.Socket;
        using var deadline = new CancellationTokenSource(Deadline);
        var received = new MemoryStream();

        // Receiving from the start: an /echo of a large body only goes on if its response is read.
        Task<FuzzEnd> receiving = ReceiveUntilEndAsync(socket, received, deadline.Token);

        bool sentAll = await SendAsync(socket, fuzzCase, deadline.Token);
        if (fuzzCase.Ending != FuzzEnding.ServerCloses && fuzzCase.EndingDelayMs > 0)
        {
            await Task.Delay(fuzzCase.EndingDelayMs);
        }

        switch (fuzzCase.Ending)
        {
            case FuzzEnding.HalfClose:
                try
                {
                    socket.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                    // The server reset the connection already; the receiver reports that.
                }

                break;

            case FuzzEnding.Reset:
                connection.Reset();
                await receiving;
                return new FuzzOutcome(received.ToArray(), FuzzEnd.ClientReset, sentAll, await ProbeAsync(endPoint));
        }

        FuzzEnd end = await receiving;
        return new FuzzOutcome(received.ToArray(), end, sentAll);
    }

    /// <summary>GET /plaintext with Connection: close on a new connection: every byte of the answer.</summary>
    public static async Task<byte[]> ProbeAsync(IPEndPoint endPoint)
    {
        using var connection = await RawHttpConnection.ConnectAsync(endPoint);
        await connection.SendAsync(RawHttpConnection.Get("/plaintext", close: true));
        var (data, close) = await connection.ReadUntilClosedAsync();
        return close == PeerClose.Fin ? data : throw new IOException($"The probe's connection ended with {close} after {data.Length} bytes.");
    }

    private static async Task<bool> SendAsync(Socket socket, FuzzCase fuzzCase, CancellationToken deadline)
    {
        try
        {
            foreach (var chunk in fuzzCase.Chunks)
            {
                if (chunk.DelayMs > 0)
                {
                    await Task.Delay(chunk.DelayMs, deadline);
                }

                for (var data = chunk.Bytes.AsMemory(); !data.IsEmpty;)
                {
                    data = data[await socket.SendAsync(data, SocketFlags.None, deadline)..];
                }
            }

            return true;
        }
        catch (SocketException)
        {
            // EPIPE or ECONNRESET: the server closed while the rest was on its way.
            return false;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // The server stopped reading (its socket buffer is full) and has not closed either.
            return false;
        }
    }

    private static async Task<FuzzEnd> ReceiveUntilEndAsync(Socket socket, MemoryStream received, CancellationToken deadline)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int count = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline);
                if (count == 0)
                {
                    return FuzzEnd.Fin;
                }

                received.Write(buffer, 0, count);
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return FuzzEnd.Reset;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return FuzzEnd.Deadline;
        }
        catch (Exception ex) when (ex is ObjectDisposedException || ex is SocketException { SocketErrorCode: SocketError.OperationAborted })
        {
            // The client's own reset closed the socket under the receive.
            return FuzzEnd.ClientReset;
        }
    }
}
