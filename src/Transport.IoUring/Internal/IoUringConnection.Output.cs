using System;
using System.Buffers;
using System.Diagnostics;
using System.IO;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

// Send: output pipe → network. The output pipe's reader runs on the ring thread. Each read gathers
// the buffered segments into one SEND (one segment) or SENDMSG (up to GatherList.Capacity
// segments); one send is in flight per connection, which keeps bytes in order, and the pipe is
// advanced only by what the kernel reports sent, so a short send simply leaves the rest for the
// next read. Application flushes only post the read to the ring, so the flushes of a whole ring
// turn go out as one send per connection in one io_uring_enter (docs/performance.md measures a
// flushing thread that sends large flushes itself: it cost more CPU per byte, and was removed).
internal sealed partial class IoUringConnection
{
    private readonly Action _onOutputReadCompleted;
    private ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _outputAwaiter;

    // Ring thread.
    private SendState _sendState;
    private ReadOnlySequence<byte> _sendBuffer;
    private MemoryHandle _sendPin;          // a single-segment send's buffer
    private GatherList? _sendGather;        // a multi-segment send's buffers, rented from the ring

    /// <summary>Where the send side stands. It only moves forward from Sending: Sending → Reading, or → Ended.</summary>
    private enum SendState : byte
    {
        /// <summary>Waiting for the application's output (a read of the output pipe is pending or about to be).</summary>
        Reading,

        /// <summary>One send is in flight; the output pipe is advanced by what the kernel reports sent.</summary>
        Sending,

        /// <summary>The output pipe is complete and the socket shut down; nothing of the send side is in flight.</summary>
        Ended,
    }

    private bool IsSendFinished => _sendState == SendState.Ended;

    private void CancelSend()
    {
        if (_sendState == SendState.Sending)
        {
            _ringThread.Cancel(UserDataFor(OperationKind.Send));
        }
    }

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
            EndSend(ex, ex);
            return;
        }

        _outputAwaiter = default;
        if (OnOutputRead(result))
        {
            ReadOutput();
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
        if (buffer.IsSingleSegment)
        {
            var memory = buffer.First;
            _sendPin = memory.Pin();
            _ringThread.Send(_fd, LibC.AddressOf(_sendPin), memory.Length, UserDataFor(OperationKind.Send));
        }
        else
        {
            _sendGather = _ringThread.GatherLists.Rent();
            _sendGather.Fill(buffer);
            _ringThread.Send(_fd, _sendGather.IoVecs, UserDataFor(OperationKind.Send));
        }

        _sendState = SendState.Sending;
    }

    private void OnSendCompleted(int result)
    {
        Debug.Assert(_sendState == SendState.Sending);
        _sendState = SendState.Reading;
        UnpinSendBuffers();

        var buffer = _sendBuffer;
        _sendBuffer = default;

        if (result > 0)
        {
            _ringThread.Counters.BytesSent += result;
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
            if (result == -Errno.ECANCELED || _shutdown)
            {
                EndSend(null, null); // aborted; _shutdownReason is already set
            }
            else if (result == -Errno.ECONNRESET || result == -Errno.EPIPE || result == 0)
            {
                IoUringLog.ConnectionReset(Log, ConnectionId);
                EndSend(new ConnectionResetException($"send failed: {LibC.Describe(result == 0 ? Errno.EPIPE : -result)}"), null);
            }
            else
            {
                var error = new IOException($"send failed: {LibC.Describe(-result)}");
                IoUringLog.ConnectionError(Log, ConnectionId, error);
                EndSend(error, error);
            }
        }

        TryClose();
    }

    /// <summary>Ends the send side: shuts the socket down, completes the output pipe, unpauses receive.</summary>
    private void EndSend(Exception? shutdownReason, Exception? unexpectedError)
    {
        if (_sendState == SendState.Ended)
        {
            return;
        }

        Debug.Assert(_sendState == SendState.Reading, "the send side ends only when no send is in flight");
        _sendState = SendState.Ended;
        Shutdown(shutdownReason, reset: false);
        _output.Complete(unexpectedError);

        // A receive paused on a full input pipe must not keep the connection alive.
        _input.CancelPendingFlush();
        TryClose();
    }

    private void UnpinSendBuffers()
    {
        _sendPin.Dispose();
        _sendPin = default;
        if (_sendGather is not null)
        {
            _ringThread.GatherLists.Return(_sendGather);
            _sendGather = null;
        }
    }
}
