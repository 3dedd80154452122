using System.Diagnostics;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal.Receive;

/// <summary>Where one io_uring request of a receiver stands.</summary>
internal enum OperationState : byte
{
    /// <summary>Not in the kernel: nothing of it can complete.</summary>
    Idle,

    /// <summary>Submitted (or prepared for this turn's submit); its final completion has not been reaped.</summary>
    Armed,

    /// <summary>Armed, and a cancel for it is on its way; its final completion has not been reaped.</summary>
    Cancelling,
}

/// <summary>What a connection's receive side is doing, whichever the mode.</summary>
internal enum ReceivePhase : byte
{
    /// <summary>The peer may still send; receives run unless the input pipe is full.</summary>
    Open,

    /// <summary>
    /// A poll reported the peer's FIN or reset while bytes may still be queued: single-shot
    /// receives read until one reports the end (0 or an error), because an edge-triggered
    /// notification will not come again.
    /// </summary>
    PeerClosed,

    /// <summary>Receiving is over (end of stream, error, or the connection shut down); what is still armed is cancelled.</summary>
    Ended,
}

/// <summary>
/// The network → input pipe half of one connection, in one receive mode. It owns its io_uring
/// requests and their states; the connection owns the input pipe, its flushes (backpressure) and
/// the end of the receive side. Every member runs on the connection's ring thread.
/// </summary>
/// <remarks>
/// Each receiver keeps its state in a <see cref="ReceivePhase"/>, a pause flag and one
/// <see cref="OperationState"/> per request kind; every event (a completion, a pause, a resume, a
/// stop) changes those and then calls <c>Reconcile</c>, which arms or cancels requests until what
/// is in the kernel matches what the state wants. docs/architecture.md draws both machines.
/// </remarks>
internal abstract class Receiver
{
    protected Receiver(IoUringConnection connection)
    {
        Connection = connection;
        RingThread = connection.RingThread;
        Fd = connection.Fd;
    }

    protected IoUringConnection Connection { get; }
    protected RingThread RingThread { get; }
    protected int Fd { get; }

    public ReceivePhase Phase { get; protected set; }

    /// <summary>The input pipe is full (a flush is pending): no new receive is armed until <see cref="Resume"/>.</summary>
    protected bool Paused { get; private set; }

    /// <summary>True once receiving has ended and none of its requests can complete any more: the fd may be closed.</summary>
    public abstract bool IsFinished { get; }

    /// <summary>True while the kernel may write into memory of the input pipe (the pipe must not be completed yet).</summary>
    public virtual bool IsWritingIntoPipe => false;

    /// <summary>Arms the first receive; called once, right after accept.</summary>
    public void Start() => Reconcile();

    /// <summary>The input pipe is full: stop receiving until <see cref="Resume"/>.</summary>
    public void Pause()
    {
        Paused = true;
        Reconcile();
    }

    /// <summary>The application caught up: receive again.</summary>
    public void Resume()
    {
        Paused = false;
        Reconcile();
    }

    /// <summary>Ends receiving: whatever is armed is cancelled, and completions still to come are drained.</summary>
    public void Stop()
    {
        Phase = ReceivePhase.Ended;
        Reconcile();
    }

    /// <summary>Handles one completion of this receiver's requests.</summary>
    public abstract void OnCompletion(OperationKind kind, in Completion completion);

    /// <summary>Arms or cancels requests until what is in the kernel matches the state.</summary>
    protected abstract void Reconcile();

    /// <summary>Cancels <paramref name="operation"/> if it is armed and not already being cancelled.</summary>
    protected void Cancel(ref OperationState operation, OperationKind kind)
    {
        if (operation == OperationState.Armed)
        {
            operation = OperationState.Cancelling;
            RingThread.Cancel(Connection.UserDataFor(kind));
        }
    }

    /// <summary>A final completion (no IORING_CQE_F_MORE) means the request has left the kernel.</summary>
    protected static void OnCompleted(ref OperationState operation, in Completion completion)
    {
        Debug.Assert(operation != OperationState.Idle, "a completion for a request that was not armed");
        if (!completion.HasMore)
        {
            operation = OperationState.Idle;
        }
    }

    /// <summary>POLLRDHUP, POLLHUP or POLLERR in a poll result: the peer has sent FIN or reset.</summary>
    protected static bool ReportsHangUp(int pollResult) =>
        pollResult > 0 && (pollResult & (PollFlags.PollRdHup | PollFlags.PollHup | PollFlags.PollErr)) != 0;
}
