using System;
using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

// Receive: network → input pipe, in one of two modes (IoUringReceiveMode).
//
// BufferRing: one multishot recv picks buffers from the ring's provided-buffer ring; each
// completion is copied into the pipe and its buffer handed back at once.
// PollAndReceive: a multishot poll reports readiness, then one recv writes into the pipe's own
// memory (MSG_DONTWAIT, so it never waits while holding that memory).
//
// Backpressure, both modes: when FlushAsync does not complete at once the application is behind
// (MaxReadBufferSize reached); receiving stops — in BufferRing mode the multishot recv is
// cancelled, and bytes of completions already on their way are appended unflushed — and resumes
// when the flush completes.
internal sealed partial class IoUringConnection
{
    private const int MinAllocBufferSize = PinnedBlockMemoryPool.BlockSize / 2;

    private readonly Action _onFlushCompleted;
    private ConfiguredValueTaskAwaitable<FlushResult>.ConfiguredValueTaskAwaiter _flushAwaiter;

    // Ring thread.
    private bool _receiveEnded;
    private bool _pollArmed;
    private bool _recvInFlight;
    private bool _recvCancelRequested;
    private bool _pollCancelRequested;
    private bool _readable;
    private bool _peerClosing;   // a poll reported POLLRDHUP/POLLHUP/POLLERR: read until recv says how it ended
    private bool _recvMultishot; // the recv in flight is a multishot recv (BufferRing)
    private bool _flushPending;
    private MemoryHandle _recvPin;
    private int _recvLength;

    private ulong PollUserData => UserData.Pack(OperationKind.Poll, Slot, Generation);
    private ulong RecvUserData => UserData.Pack(OperationKind.Recv, Slot, Generation);

    /// <summary>Arms whatever the receive mode needs next, unless receiving is paused or over.</summary>
    private void ContinueReceiving()
    {
        if (_receiveEnded || _flushPending || _recvInFlight)
        {
            return;
        }

        if (_shutdown)
        {
            // Shutdown cancelled the armed poll or recv. Once nothing of the receive side is in
            // flight it is over: no completion is coming that would end it (a cancelled poll, or a
            // final multishot recv completion that carried data, does not).
            if (!_pollArmed)
            {
                EndReceive(null);
            }

            return;
        }

        if (ReceiveMode == IoUringReceiveMode.BufferRing)
        {
            if (!_pollArmed && !_peerClosing)
            {
                ArmHangUpPoll();
            }

            ArmBufferRingRecv();
        }
        else if (_readable)
        {
            StartRecvIntoPipe();
        }
        else if (!_pollArmed)
        {
            ArmPoll();
        }
    }

    private void ArmBufferRingRecv()
    {
        // Once the peer has closed or reset, single-shot recvs: each one reports data or the end.
        _recvMultishot = (_ring.Features & RingFeatures.MultishotRecv) != 0 && !_peerClosing;
        if (_recvMultishot)
        {
            _ring.Ring.PrepareRecvMultishot(_fd, _ring.BufferRing!.GroupId, RecvUserData);
        }
        else
        {
            _ring.Ring.PrepareRecvSelect(_fd, _ring.BufferRing!.GroupId, RecvUserData);
        }

        _recvInFlight = true;
    }

    /// <summary>
    /// BufferRing: a poll for hang-up only (POLLRDHUP; POLLERR and POLLHUP are always reported).
    /// The kernel's multishot recv stops retrying when a recv leaves the queue empty and waits for
    /// the next wake-up; an RST that arrived while bytes were queued has already woken it, and its
    /// error is never reported. This poll reports it.
    /// </summary>
    private void ArmHangUpPoll()
    {
        bool multishot = (_ring.Features & RingFeatures.MultishotPoll) != 0;
        _ring.Ring.PreparePollAdd(_fd, PollFlags.PollRdHup, multishot, PollUserData);
        _pollArmed = true;
    }

    private void ArmPoll()
    {
        bool multishot = (_ring.Features & RingFeatures.MultishotPoll) != 0;
        _ring.Ring.PreparePollAdd(_fd, PollFlags.PollIn | PollFlags.PollRdHup, multishot, PollUserData);
        _pollArmed = true;
    }

    private void StartRecvIntoPipe()
    {
        _readable = false;
        Memory<byte> memory = _input.GetMemory(MinAllocBufferSize);
        _recvPin = memory.Pin();
        _recvLength = memory.Length;
        int bufferIndex = _ring.GetFixedBufferIndex(memory);
        if (bufferIndex >= 0)
        {
            // Pool memory the ring registered: the kernel skips mapping the pages on every read.
            _ring.Ring.PrepareReadFixed(_fd, LibC.AddressOf(_recvPin), memory.Length, bufferIndex, RwFlags.NoWait, RecvUserData);
        }
        else
        {
            _ring.Ring.PrepareRecv(_fd, LibC.AddressOf(_recvPin), memory.Length, SocketConstants.MSG_DONTWAIT, RecvUserData);
        }

        _recvInFlight = true;
    }

    public void OnPollCompleted(int result, uint flags)
    {
        if ((flags & CqeFlags.More) == 0)
        {
            _pollArmed = false;
            _pollCancelRequested = false;
        }

        // An error (or POLLERR/POLLHUP) also means "readable": the recv reports what happened.
        if (result != -Errno.ECANCELED)
        {
            _readable = true;
        }

        // The poll is edge-triggered: a FIN or RST reported while bytes are still queued gets no
        // second wake-up once those bytes are read, so remember it.
        if (result > 0 && (result & (PollFlags.PollRdHup | PollFlags.PollHup | PollFlags.PollErr)) != 0)
        {
            _peerClosing = true;

            // BufferRing: the multishot recv may be waiting for a wake-up that has come and gone.
            // Cancelled, it is re-armed as a single-shot recv, which reports the end.
            if (ReceiveMode == IoUringReceiveMode.BufferRing && _recvInFlight && _recvMultishot && !_recvCancelRequested)
            {
                _recvCancelRequested = true;
                _ring.SubmitCancel(RecvUserData, Slot, Generation);
            }
        }

        ContinueReceiving();
        TryClose();
    }

    public void OnRecvCompleted(int result, uint flags)
    {
        if (ReceiveMode == IoUringReceiveMode.BufferRing)
        {
            OnBufferRingRecvCompleted(result, flags);
        }
        else
        {
            OnPipeRecvCompleted(result);
        }

        TryClose();
    }

    private void OnPipeRecvCompleted(int result)
    {
        _recvInFlight = false;
        _recvPin.Dispose();
        _recvPin = default;

        if (result > 0 && _receiveEnded)
        {
            // Raced with the end of the receive side; the pipe is complete and takes no more bytes.
        }
        else if (result > 0)
        {
            _ring.Counters.BytesReceived += result;
            _input.Advance(result);
            // A full buffer means the socket may hold more: read again without waiting for poll.
            // After FIN/RST, a short read does not mean drained: the next recv returns 0 or the
            // error, and no poll will fire for it again.
            _readable |= result == _recvLength || _peerClosing;
            FlushInput();
        }
        else if (result == -Errno.EAGAIN)
        {
            ContinueReceiving();
        }
        else
        {
            OnReceiveEndedByKernel(result);
        }
    }

    private void OnBufferRingRecvCompleted(int result, uint flags)
    {
        bool more = (flags & CqeFlags.More) != 0;
        if (!more)
        {
            _recvInFlight = false;
            _recvCancelRequested = false;
        }

        if (result > 0)
        {
            var bufferRing = _ring.BufferRing!;
            ushort bufferId = (ushort)(flags >> CqeFlags.BufferShift);
            if (_receiveEnded)
            {
                bufferRing.Add(bufferId); // the input pipe is complete: the bytes have nowhere to go
                return;
            }

            _ring.Counters.BytesReceived += result;
            _input.Write(bufferRing.GetBuffer(bufferId, result));
            bufferRing.Add(bufferId);

            if (_flushPending)
            {
                return; // appended unflushed; flushed when the pending flush completes
            }

            FlushInput();
            if (!more)
            {
                ContinueReceiving();
            }
        }
        else if (result == -Errno.ENOBUFS)
        {
            _ring.Counters.BufferRingExhaustions++;
            // Every provided buffer is lent out this instant; they come back as this batch is
            // dispatched, so re-arming loses nothing.
            if (!more)
            {
                ContinueReceiving();
            }
        }
        else if (result == -Errno.ECANCELED && !_shutdown && !_receiveEnded)
        {
            ContinueReceiving(); // cancelled to pause; re-armed when the flush completes
        }
        else
        {
            OnReceiveEndedByKernel(result);
        }
    }

    private void OnReceiveEndedByKernel(int result)
    {
        if (result == 0)
        {
            IoUringLog.ConnectionReadFin(_ring.ConnectionLogger, ConnectionId);
            EndReceive(null);
        }
        else if (result == -Errno.ECONNRESET)
        {
            if (!_shutdown)
            {
                IoUringLog.ConnectionReset(_ring.ConnectionLogger, ConnectionId);
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
            IoUringLog.ConnectionError(_ring.ConnectionLogger, ConnectionId, error);
            EndReceive(error);
        }
    }

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
            OnFlushResult(flush.Result);
            return;
        }

        _flushPending = true;
        IoUringLog.ConnectionPause(_ring.ConnectionLogger, ConnectionId);
        if (ReceiveMode == IoUringReceiveMode.BufferRing && _recvInFlight && !_recvCancelRequested)
        {
            _recvCancelRequested = true;
            _ring.SubmitCancel(RecvUserData, Slot, Generation);
        }

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
        IoUringLog.ConnectionResume(_ring.ConnectionLogger, ConnectionId);
        OnFlushResult(result);
        TryClose();
    }

    private void OnFlushResult(FlushResult result)
    {
        if (result.IsCompleted || result.IsCanceled)
        {
            // The application completed its input or the send side ended: stop receiving.
            EndReceive(null);
            return;
        }

        if (_input.UnflushedBytes > 0)
        {
            FlushInput(); // bytes that arrived while paused
            return;
        }

        ContinueReceiving();
    }

    /// <summary>Ends the receive side: completes the input pipe and fires ConnectionClosed.</summary>
    private void EndReceive(Exception? error)
    {
        if (_receiveEnded)
        {
            return;
        }

        _receiveEnded = true;
        CancelReceive();

        // After Shutdown (abort, send side ended) that is the reason the receive side stopped.
        _input.Complete(_shutdownReason ?? error);
        FireConnectionClosed();
    }

    private void CancelReceive()
    {
        if (_recvInFlight && !_recvCancelRequested)
        {
            _recvCancelRequested = true;
            _ring.SubmitCancel(RecvUserData, Slot, Generation);
        }

        if (_pollArmed && !_pollCancelRequested)
        {
            _pollCancelRequested = true;
            _ring.SubmitCancel(PollUserData, Slot, Generation);
        }
    }
}
