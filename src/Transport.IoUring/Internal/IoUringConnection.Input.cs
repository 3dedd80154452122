using System;
using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

// The input pipe: what the receiver (Internal/Receive/) got from the network is written and flushed
// here; a flush that does not complete at once means the application is behind
// (MaxReadBufferSize reached), so the receiver is paused until it completes (backpressure). The end
// of the receive side is decided here too, and with it what Kestrel is told:
//
// - The peer's FIN completes the input pipe, but is not reported as the connection closing: Kestrel
//   then answers every request it has read complete, sees the end of input, and completes its
//   output, which ends the connection (Shutdown, below in IoUringConnection.cs, fires
//   ConnectionClosed). Reporting the FIN as "closed", as the Sockets transport does, makes Kestrel
//   abort the responses still being written, and a client that sends its requests and then
//   shutdown(SHUT_WR) (nc -N, some health checkers, HTTP/1.0 tools) loses answers.
// - A reset or a receive error is reported at once: nobody is there to answer.
internal sealed partial class IoUringConnection
{
    private readonly Action _onFlushCompleted;
    private ConfiguredValueTaskAwaitable<FlushResult>.ConfiguredValueTaskAwaiter _flushAwaiter;

    // Ring thread.
    private bool _receiveEnded;
    private bool _inputCompleted;
    private Exception? _receiveError;
    private bool _flushPending;

    /// <summary>Receiver (BufferRing): bytes copied out of a provided buffer.</summary>
    public void OnReceived(ReadOnlySpan<byte> bytes)
    {
        _ringThread.Counters.BytesReceived += bytes.Length;
        if (_inlineScheduler is { IsUndecided: true })
        {
            _inlineScheduler.OnFirstBytes(bytes);
        }

        _input.Write(bytes);
        if (!_flushPending)
        {
            FlushInput();
        }

        // else: bytes of completions that were on their way when receiving paused are appended
        // unflushed, and flushed when the pending flush completes.
    }

    /// <summary>Receiver (PollAndReceive): the input pipe's memory for the next recv.</summary>
    public Memory<byte> GetReceiveMemory(int sizeHint)
    {
        var memory = _input.GetMemory(sizeHint);
        if (_inlineScheduler is { IsUndecided: true })
        {
            _receiveMemory = memory;
        }

        return memory;
    }

    // PollAndReceive under UnsafePreferInlineScheduling: where the pending recv writes, until the
    // first bytes have told the inline scheduler the protocol.
    private Memory<byte> _receiveMemory;

    /// <summary>Receiver (PollAndReceive): the recv wrote <paramref name="count"/> bytes into that memory.</summary>
    public void OnReceivedIntoPipe(int count)
    {
        _ringThread.Counters.BytesReceived += count;
        if (_inlineScheduler is not null)
        {
            if (_inlineScheduler.IsUndecided && count > 0)
            {
                _inlineScheduler.OnFirstBytes(_receiveMemory.Span[..count]);
            }

            _receiveMemory = default;
        }

        _input.Advance(count);
        FlushInput();
    }

    /// <summary>Receiver: the kernel reported the end of the stream (0: FIN) or an error.</summary>
    public void OnReceiveEnded(int result)
    {
        if (result == 0)
        {
            IoUringLog.ConnectionReadFin(Log, ConnectionId);
            EndReceive(null, peerFin: true);
        }
        else if (result == -Errno.ECONNRESET)
        {
            if (!_shutdown)
            {
                IoUringLog.ConnectionReset(Log, ConnectionId);
            }

            EndReceive(new ConnectionResetException("Connection reset by peer (ECONNRESET)."));
        }
        else if (result == -Errno.ECANCELED || _shutdown)
        {
            EndReceive(null); // shutdown or abort; _shutdownReason says why
        }
        else
        {
            var error = new IOException($"recv failed: {LibC.Describe(-result)}");
            IoUringLog.ConnectionError(Log, ConnectionId, error);
            EndReceive(error);
        }
    }

    /// <summary>Receiver: a recv that wrote into pipe memory has completed after the receive side ended.</summary>
    public void OnPipeMemoryReleased() => CompleteInputWhenSafe();

    private void FlushInput()
    {
        ValueTask<FlushResult> flush;
        try
        {
            flush = _input.FlushAsync();
        }
        catch (Exception ex)
        {
            EndReceive(ex);
            return;
        }

        if (flush.IsCompleted)
        {
            if (IsEndOfInput(flush.Result))
            {
                EndReceive(null);
            }

            return;
        }

        _flushPending = true;
        IoUringLog.ConnectionPause(Log, ConnectionId);
        _receiver.Pause();

        // The input pipe's writer scheduler is the ring, so this continuation runs on the ring thread.
        _flushAwaiter = flush.ConfigureAwait(false).GetAwaiter();
        _flushAwaiter.UnsafeOnCompleted(_onFlushCompleted);
    }

    private void OnFlushCompleted()
    {
        _flushPending = false;
        FlushResult result;
        try
        {
            result = _flushAwaiter.GetResult();
        }
        catch (Exception ex)
        {
            _flushAwaiter = default;
            EndReceive(ex);
            TryClose();
            return;
        }

        _flushAwaiter = default;
        IoUringLog.ConnectionResume(Log, ConnectionId);
        if (IsEndOfInput(result))
        {
            EndReceive(null);
        }
        else if (_input.UnflushedBytes > 0)
        {
            FlushInput(); // bytes that arrived while paused
        }

        if (!_flushPending && !_receiveEnded)
        {
            _receiver.Resume();
        }

        TryClose();
    }

    // The application completed its input, or the send side ended (CancelPendingFlush).
    private static bool IsEndOfInput(FlushResult result) => result.IsCompleted || result.IsCanceled;

    /// <summary>
    /// Ends the receive side: stops the receiver and completes the input pipe. Kestrel is told the
    /// connection closed unless this is the peer's FIN (see the top of this file).
    /// </summary>
    private void EndReceive(Exception? error, bool peerFin = false)
    {
        if (_receiveEnded)
        {
            return;
        }

        _receiveEnded = true;
        _receiveError = error;
        _receiver.Stop();
        CompleteInputWhenSafe();
        if (!peerFin)
        {
            FireConnectionClosed();
        }
    }

    // Completing the pipe returns its memory to the pool: never while the kernel may still write
    // into it (a PollAndReceive recv submitted this turn).
    private void CompleteInputWhenSafe()
    {
        if (_inputCompleted || !_receiveEnded || _receiver.IsWritingIntoPipe)
        {
            return;
        }

        _inputCompleted = true;

        // After Shutdown (abort, send side ended) that is the reason the receive side stopped.
        _input.Complete(_shutdownReason ?? _receiveError);
    }
}
