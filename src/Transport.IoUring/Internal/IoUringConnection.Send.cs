using System;
using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

// Send: output pipe → network. Each read on the ring thread gathers the buffered segments into one
// SEND (one segment) or SENDMSG (up to MaxIovecs segments); one send is in flight per connection,
// which keeps bytes in order, and the pipe is advanced only by what the kernel reports sent, so a
// short send simply leaves the rest for the next read.
//
// A flush on any other thread (the application's) runs the read on that thread
// (RingOutputScheduler). Whoever holds the read result owns the send side, so there is still one
// writer per socket. A flush of at least DirectSendThreshold bytes is sent right there with a
// non-blocking send(2), as Kestrel's Sockets transport would, saving the hop to the ring and back
// that otherwise costs every 64 KiB window of a large response two context switches; whatever the
// socket does not take at once, and every small flush, goes to the ring, which batches the small
// ones of a whole turn into one io_uring_enter (docs/performance.md has the figures).
internal sealed partial class IoUringConnection
{
    private const int MaxIovecs = 64;
    private const int DirectSendThreshold = 16 * 1024;

    private static readonly Action<object?> s_readOutputOnRing = static state => ((IoUringConnection)state!).ReadOutput();

    private readonly Action _onOutputReadCompleted;
    private ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _outputAwaiter;

    // Ring thread.
    private bool _sendEnded;
    private bool _sendInFlight;
    private ReadOnlySequence<byte> _sendBuffer;
    private MemoryHandle[]? _sendPins;
    private int _sendPinCount;
    private IoVecBuffer? _iovecs;

    private ulong SendUserData => UserData.Pack(OperationKind.Send, Slot, Generation);

    private void ReadOutput()
    {
        while (true)
        {
            ValueTask<ReadResult> read;
            try
            {
                read = _output.ReadAsync();
            }
            catch (Exception ex)
            {
                EndSend(ex, ex);
                return;
            }

            if (!read.IsCompleted)
            {
                // The output pipe's reader scheduler is the ring: the continuation runs here.
                _outputAwaiter = read.ConfigureAwait(false).GetAwaiter();
                _outputAwaiter.UnsafeOnCompleted(_onOutputReadCompleted);
                return;
            }

            if (!OnOutputRead(read.Result))
            {
                return;
            }
        }
    }

    private void OnOutputReadCompleted()
    {
        ReadResult result;
        try
        {
            result = _outputAwaiter.GetResult();
        }
        catch (Exception ex)
        {
            _outputAwaiter = default;
            if (_ring.IsOnRingThread)
            {
                EndSend(ex, ex);
            }
            else
            {
                _ring.Schedule(static state =>
                {
                    var (connection, error) = ((IoUringConnection, Exception))state!;
                    connection.EndSend(error, error);
                }, (this, ex));
            }

            return;
        }

        _outputAwaiter = default;
        if (!_ring.IsOnRingThread)
        {
            OnOutputReadOffRing(result);
        }
        else if (OnOutputRead(result))
        {
            ReadOutput();
        }
    }

    /// <summary>
    /// A read completed by a flush on another thread: send a large buffer from here, leave the rest
    /// to the ring. Touches no ring-thread state: the ring learns of results through its work queue.
    /// </summary>
    private void OnOutputReadOffRing(ReadResult result)
    {
        while (true)
        {
            var buffer = result.Buffer;
            if (result.IsCanceled || result.IsCompleted || Volatile.Read(ref _shutdown))
            {
                // Ending the send side is the ring's business; it gets this very result, so a
                // cancellation is not lost.
                _ring.Schedule(static state =>
                {
                    var (connection, result) = ((IoUringConnection, ReadResult))state!;
                    if (connection.OnOutputRead(result))
                    {
                        connection.ReadOutput();
                    }
                }, (this, result));
                return;
            }

            if (buffer.Length < DirectSendThreshold)
            {
                // Nothing consumed, nothing examined: the ring's next read returns this and every
                // flush that follows before it runs, sent as one.
                _output.AdvanceTo(buffer.Start, buffer.Start);
                _ring.Schedule(s_readOutputOnRing, this);
                return;
            }

            _sendPins ??= new MemoryHandle[MaxIovecs];
            _iovecs ??= new IoVecBuffer(MaxIovecs);
            long sent = NonBlockingSend.Send(_fd, buffer, _iovecs, _sendPins, out int errno);
            if (sent > 0)
            {
                _ring.CountDirectSend(sent);
            }

            if (errno != 0 && errno != Errno.EAGAIN)
            {
                _output.AdvanceTo(buffer.End);
                _ring.Schedule(static state =>
                {
                    var (connection, errno) = ((IoUringConnection, int))state!;
                    connection.OnSendFailed(-errno);
                    connection.TryClose();
                }, (this, errno));
                return;
            }

            if (sent < buffer.Length)
            {
                // The socket buffer is full: the ring sends the rest when the socket takes it.
                _output.AdvanceTo(buffer.GetPosition(sent));
                _ring.Schedule(s_readOutputOnRing, this);
                return;
            }

            _output.AdvanceTo(buffer.End);

            ValueTask<ReadResult> read;
            try
            {
                read = _output.ReadAsync();
            }
            catch (Exception ex)
            {
                _ring.Schedule(static state =>
                {
                    var (connection, error) = ((IoUringConnection, Exception))state!;
                    connection.EndSend(error, error);
                }, (this, ex));
                return;
            }

            if (!read.IsCompleted)
            {
                _outputAwaiter = read.ConfigureAwait(false).GetAwaiter();
                _outputAwaiter.UnsafeOnCompleted(_onOutputReadCompleted);
                return;
            }

            result = read.Result;
        }
    }

    /// <summary>Handles one read of the output pipe; true when the caller should read again at once.</summary>
    private bool OnOutputRead(ReadResult result)
    {
        var buffer = result.Buffer;
        if (result.IsCanceled || _shutdown)
        {
            // Aborted: whatever is still buffered is dropped, as on Sockets.
            _output.AdvanceTo(buffer.End);
            EndSend(null, null);
            return false;
        }

        if (!buffer.IsEmpty)
        {
            StartSend(buffer);
            return false;
        }

        _output.AdvanceTo(buffer.End);
        if (result.IsCompleted)
        {
            EndSend(null, null);
            return false;
        }

        return true;
    }

    private void StartSend(in ReadOnlySequence<byte> buffer)
    {
        _sendBuffer = buffer;
        _sendPins ??= new MemoryHandle[MaxIovecs];

        if (buffer.IsSingleSegment)
        {
            var memory = buffer.First;
            _sendPins[0] = memory.Pin();
            _sendPinCount = 1;
            _ring.Ring.PrepareSend(_fd, LibC.AddressOf(_sendPins[0]), memory.Length, SocketConstants.MSG_NOSIGNAL, SendUserData);
        }
        else
        {
            _iovecs ??= new IoVecBuffer(MaxIovecs);

            int count = 0;
            foreach (var segment in buffer)
            {
                if (segment.IsEmpty)
                {
                    continue;
                }

                if (count == MaxIovecs)
                {
                    break; // the rest goes in the next send
                }

                _sendPins[count] = segment.Pin();
                _iovecs.Set(count, LibC.AddressOf(_sendPins[count]), segment.Length);
                count++;
            }

            _sendPinCount = count;
            _iovecs.Seal(count);
            _ring.Ring.PrepareSendMsg(_fd, _iovecs, SocketConstants.MSG_NOSIGNAL, SendUserData);
        }

        _sendInFlight = true;
    }

    public void OnSendCompleted(int result, uint flags)
    {
        _sendInFlight = false;
        UnpinSendBuffers();

        var buffer = _sendBuffer;
        _sendBuffer = default;

        if (result > 0)
        {
            _ring.Counters.BytesSent += result;
            _output.AdvanceTo(buffer.GetPosition(result));
            if (_shutdown)
            {
                EndSend(null, null);
            }
            else
            {
                ReadOutput();
            }
        }
        else
        {
            _output.AdvanceTo(buffer.End);
            OnSendFailed(result);
        }

        TryClose();
    }

    /// <summary>Ring thread: a send (through the ring or direct) failed with -errno <paramref name="result"/>, or sent nothing (0); the pipe is already advanced past it.</summary>
    private void OnSendFailed(int result)
    {
        if (result == -Errno.ECANCELED || _shutdown)
        {
            EndSend(null, null); // aborted; _shutdownReason is already set
        }
        else if (result == -Errno.ECONNRESET || result == -Errno.EPIPE || result == 0)
        {
            IoUringLog.ConnectionReset(_ring.ConnectionLogger, ConnectionId);
            EndSend(new ConnectionResetException($"send failed: {LibC.Describe(result == 0 ? Errno.EPIPE : -result)}"), null);
        }
        else
        {
            var error = new IOException($"send failed: {LibC.Describe(-result)}");
            IoUringLog.ConnectionError(_ring.ConnectionLogger, ConnectionId, error);
            EndSend(error, error);
        }
    }

    /// <summary>Ends the send side: shuts the socket down, completes the output pipe, unpauses receive.</summary>
    private void EndSend(Exception? shutdownReason, Exception? unexpectedError)
    {
        if (_sendEnded)
        {
            return;
        }

        _sendEnded = true;
        Shutdown(shutdownReason);
        _output.Complete(unexpectedError);

        // A receive paused on a full input pipe must not keep the connection alive.
        _input.CancelPendingFlush();
        TryClose();
    }

    private void UnpinSendBuffers()
    {
        for (int i = 0; i < _sendPinCount; i++)
        {
            _sendPins![i].Dispose();
            _sendPins[i] = default;
        }

        _sendPinCount = 0;
    }

    private void FreeSendResources()
    {
        _iovecs?.Dispose();
        _iovecs = null;
    }
}
