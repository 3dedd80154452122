using System.Diagnostics;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal.Receive;

/// <summary>
/// <see cref="IoUringReceiveMode.BufferRing"/>: one multishot recv picks buffers from the ring's
/// provided-buffer ring; each completion is copied into the input pipe and its buffers handed back
/// at once (6.10: a completion may fill several, a bundle; 6.12: a buffer may be used in parts and
/// goes back when the kernel is done with it; see <see cref="ProvidedBufferRing"/>). Beside it, a hang-up poll (POLLRDHUP; POLLERR and POLLHUP are always reported) catches
/// what the multishot recv can miss: the kernel's multishot recv stops retrying when a recv leaves
/// the queue empty and waits for the next wake-up, so an RST that arrived while bytes were queued
/// has already spent its wake-up and its error is never reported. When the poll fires, the
/// multishot recv is cancelled and single-shot recvs read to the end.
/// </summary>
/// <remarks>
/// Pausing cancels the multishot recv; bytes of completions already on their way are still handed
/// to the connection, which appends them to the pipe unflushed. ENOBUFS (every provided buffer lent
/// out this instant) and a multishot recv ending without IORING_CQE_F_MORE are normal: the recv is
/// re-armed and nothing is lost.
/// </remarks>
internal sealed class BufferRingReceiver : Receiver
{
    private readonly ProvidedBufferRing _bufferRing;
    private readonly bool _multishotRecv;
    private readonly bool _multishotPoll;
    private readonly bool _bundles;
    private OperationState _recv;
    private OperationState _hangUpPoll;
    private bool _recvIsMultishot;

    public BufferRingReceiver(IoUringConnection connection)
        : base(connection)
    {
        _bufferRing = RingThread.BufferRing!;
        _multishotRecv = (RingThread.Features & RingFeatures.MultishotRecv) != 0;
        _multishotPoll = (RingThread.Features & RingFeatures.MultishotPoll) != 0;
        _bundles = RingThread.ReceivesBundles;
    }

    public override bool IsFinished => Phase == ReceivePhase.Ended && _recv == OperationState.Idle && _hangUpPoll == OperationState.Idle;

    public override void OnCompletion(OperationKind kind, in Completion completion)
    {
        Debug.Assert(RingThread.IsOnRingThread);
        switch (kind)
        {
            case OperationKind.Recv:
                OnCompleted(ref _recv, completion);
                OnRecvCompleted(completion);
                break;

            case OperationKind.HangUpPoll:
                OnCompleted(ref _hangUpPoll, completion);
                if (ReportsHangUp(completion.Result) && Phase == ReceivePhase.Open)
                {
                    Phase = ReceivePhase.PeerClosed;
                }

                break;

            default:
                Debug.Fail($"{kind} is not an operation of a BufferRing receiver");
                break;
        }

        Reconcile();
    }

    private void OnRecvCompleted(in Completion completion)
    {
        int result = completion.Result;
        if (result > 0)
        {
            // One buffer, or with a bundle several in ring order; with incremental consumption the
            // first may continue a buffer earlier reads (of any connection) began.
            int buffers = _bufferRing.Take(completion.BufferId, result, completion.HasBufferMore, _bundles);
            for (int i = 0; i < buffers && Phase != ReceivePhase.Ended; i++)
            {
                Connection.OnReceived(_bufferRing.Segment(i));
            }

            // Copied (or, once the input pipe is complete, with nowhere to go): the buffers go back,
            // except one the kernel is still filling.
            _bufferRing.Release();
        }
        else if (result == -Errno.ENOBUFS)
        {
            // Every provided buffer is lent out this instant; they come back as this batch is
            // dispatched, so re-arming (Reconcile) loses nothing.
            RingThread.Counters.BufferRingExhaustions++;
        }
        else if (result == -Errno.ECANCELED && Phase != ReceivePhase.Ended)
        {
            // Cancelled to pause, or to switch to single-shot recvs after a hang-up: Reconcile re-arms.
        }
        else if (Phase != ReceivePhase.Ended)
        {
            Connection.OnReceiveEnded(result);  // 0 (FIN) or an error; this stops the receiver
        }
    }

    protected override void Reconcile()
    {
        switch (Phase)
        {
            case ReceivePhase.Open:
                ArmHangUpPollIfIdle();
                if (Paused)
                {
                    Cancel(ref _recv, OperationKind.Recv);
                }
                else if (_recv == OperationState.Idle)
                {
                    ArmRecv(multishot: _multishotRecv);
                }

                break;

            case ReceivePhase.PeerClosed:
                // The hang-up has been seen: the single-shot recvs report the end from here.
                Cancel(ref _hangUpPoll, OperationKind.HangUpPoll);
                if (Paused || (_recv == OperationState.Armed && _recvIsMultishot))
                {
                    // A multishot recv may be waiting for a wake-up that has come and gone.
                    Cancel(ref _recv, OperationKind.Recv);
                }
                else if (_recv == OperationState.Idle)
                {
                    ArmRecv(multishot: false);
                }

                break;

            case ReceivePhase.Ended:
                Cancel(ref _recv, OperationKind.Recv);
                Cancel(ref _hangUpPoll, OperationKind.HangUpPoll);
                break;
        }
    }

    private void ArmRecv(bool multishot)
    {
        _recvIsMultishot = multishot;
        ulong userData = Connection.UserDataFor(OperationKind.Recv);
        if (multishot)
        {
            RingThread.ReceiveMultishot(Fd, userData);
        }
        else
        {
            RingThread.ReceiveOnce(Fd, userData);
        }

        _recv = OperationState.Armed;
    }

    private void ArmHangUpPollIfIdle()
    {
        if (_hangUpPoll == OperationState.Idle)
        {
            RingThread.Poll(Fd, PollFlags.PollRdHup, _multishotPoll, Connection.UserDataFor(OperationKind.HangUpPoll));
            _hangUpPoll = OperationState.Armed;
        }
    }
}
