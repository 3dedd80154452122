using System;
using System.Buffers;
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
    private bool _sendEnded;
    private bool _sendInFlight;
    private ReadOnlySequence<byte> _sendBuffer;
    private MemoryHandle _sendPin;          // a single-segment send's buffer
    private GatherList? _sendGather;        // a multi-segment send's buffers, rented from the ring

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
            _ring.Ring.PrepareSend(_fd, LibC.AddressOf(_sendPin), memory.Length, SocketConstants.MSG_NOSIGNAL, SendUserData);
        }
        else
        {
            _sendGather = _ring.GatherLists.Rent();
            _sendGather.Fill(buffer);
            _ring.Ring.PrepareSendMsg(_fd, _sendGather.IoVecs, SocketConstants.MSG_NOSIGNAL, SendUserData);
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

        TryClose();
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
        _sendPin.Dispose();
        _sendPin = default;
        if (_sendGather is not null)
        {
            _ring.GatherLists.Return(_sendGather);
            _sendGather = null;
        }
    }
}
