using System;
using System.Buffers;
using System.Diagnostics;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal.Receive;

/// <summary>
/// <see cref="IoUringReceiveMode.PollAndReceive"/>: a multishot readiness poll (POLLIN|POLLRDHUP)
/// says when data is there, then one recv writes straight into the input pipe's memory, with
/// MSG_DONTWAIT so it never waits while holding that memory. Idle connections hold no buffer.
/// Where the ring registered the pipe memory's slab, the recv is a READ_FIXED.
/// </summary>
/// <remarks>
/// The poll is edge-triggered: a FIN or RST reported while bytes are still queued gets no second
/// event once those bytes are read, so a hang-up result moves the receiver to
/// <see cref="ReceivePhase.PeerClosed"/>, where recvs go on without waiting for readiness until one
/// reports the end. A full buffer also means "maybe more": the next recv follows at once.
/// </remarks>
internal sealed class PollReceiver : Receiver
{
    private const int MinAllocBufferSize = PinnedBlockMemoryPool.BlockSize / 2;

    private readonly bool _multishotPoll;
    private OperationState _readinessPoll;
    private OperationState _recv;
    private bool _readable;          // readiness reported and not yet consumed by a recv
    private MemoryHandle _recvPin;
    private int _recvLength;

    public PollReceiver(IoUringConnection connection)
        : base(connection)
    {
        _multishotPoll = (RingThread.Features & RingFeatures.MultishotPoll) != 0;
    }

    public override bool IsFinished => Phase == ReceivePhase.Ended && _readinessPoll == OperationState.Idle && _recv == OperationState.Idle;

    public override bool IsWritingIntoPipe => _recv != OperationState.Idle;

    public override void OnCompletion(OperationKind kind, in Completion completion)
    {
        Debug.Assert(RingThread.IsOnRingThread);
        switch (kind)
        {
            case OperationKind.ReadinessPoll:
                OnCompleted(ref _readinessPoll, completion);

                // An error, POLLERR or POLLHUP also means "readable": the recv reports what happened.
                _readable |= completion.Result != -Errno.ECANCELED;
                if (ReportsHangUp(completion.Result) && Phase == ReceivePhase.Open)
                {
                    Phase = ReceivePhase.PeerClosed;
                }

                break;

            case OperationKind.Recv:
                OnCompleted(ref _recv, completion);
                OnRecvCompleted(completion.Result);
                break;

            default:
                Debug.Fail($"{kind} is not an operation of a PollAndReceive receiver");
                break;
        }

        Reconcile();
    }

    private void OnRecvCompleted(int result)
    {
        _recvPin.Dispose();
        _recvPin = default;

        if (Phase == ReceivePhase.Ended)
        {
            // The input pipe waited for this recv to leave its memory before completing.
            Connection.OnPipeMemoryReleased();
        }
        else if (result > 0)
        {
            // After FIN/RST a short read does not mean drained: the next recv returns 0 or the
            // error, and no poll will report it again.
            _readable |= result == _recvLength || Phase == ReceivePhase.PeerClosed;
            Connection.OnReceivedIntoPipe(result);
        }
        else if (result != -Errno.EAGAIN)
        {
            Connection.OnReceiveEnded(result);  // 0 (FIN) or an error; this stops the receiver
        }
    }

    protected override void Reconcile()
    {
        switch (Phase)
        {
            case ReceivePhase.Open:
            case ReceivePhase.PeerClosed:
                if (Paused || _recv != OperationState.Idle)
                {
                    // Readiness keeps accumulating in _readable; the poll stays armed.
                }
                else if (_readable)
                {
                    StartRecv();
                }
                else if (_readinessPoll == OperationState.Idle)
                {
                    // (After a hang-up _readable stays set; should a recv still find nothing, a
                    // poll on a hung-up socket reports at once.)
                    RingThread.Poll(Fd, PollFlags.PollIn | PollFlags.PollRdHup, _multishotPoll, Connection.UserDataFor(OperationKind.ReadinessPoll));
                    _readinessPoll = OperationState.Armed;
                }

                break;

            case ReceivePhase.Ended:
                // A recv in flight is not cancelled: with MSG_DONTWAIT it completes at once.
                Cancel(ref _readinessPoll, OperationKind.ReadinessPoll);
                break;
        }
    }

    private void StartRecv()
    {
        _readable = false;
        Memory<byte> memory = Connection.GetReceiveMemory(MinAllocBufferSize);
        _recvPin = memory.Pin();
        _recvLength = memory.Length;
        RingThread.ReceiveInto(Fd, memory, LibC.AddressOf(_recvPin), Connection.UserDataFor(OperationKind.Recv));
        _recv = OperationState.Armed;
    }
}
