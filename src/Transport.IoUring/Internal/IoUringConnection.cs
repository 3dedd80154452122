using System;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Transport.IoUring.Internal.Receive;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// One accepted socket, bridged to Kestrel through a pair of pipes. All socket I/O and all state
/// below marked "ring thread" happen on the one <see cref="Internal.RingThread"/> that accepted it;
/// other threads reach it only by posting work there (<see cref="Abort(ConnectionAbortedException)"/>)
/// or through the pipes, whose transport-side continuations are scheduled on that ring.
/// </summary>
/// <remarks>
/// Two directions, each ended once: the receive side (a <see cref="Receiver"/> per receive mode,
/// this class's Input partial for the pipe) ends on the peer's FIN, a reset, an error or shutdown;
/// the send side (the Output partial) ends when the application completes its output (the rest is
/// sent first), on an error, or on abort, and then shuts the socket down. The fd is closed only when
/// both have ended and none of the connection's requests can complete any more, so the kernel never
/// writes into a recycled fd or slot. docs/architecture.md draws the states and says when Kestrel
/// is told the connection closed.
/// </remarks>
internal sealed partial class IoUringConnection : ConnectionContext, IRingSlotOwner
{
    private readonly RingThread _ringThread;
    private readonly IoUringConnectionListener _listener;
    private readonly int _fd;
    private readonly Receiver _receiver;
    private readonly PipeWriter _input;       // transport side of the input pipe (ring writes)
    private readonly PipeReader _output;      // transport side of the output pipe (ring reads)
    private readonly IDuplexPipe _application;// application side, completed by DisposeAsync
    private readonly InlineConnectionScheduler? _inlineScheduler; // UnsafePreferInlineScheduling only
    private readonly CancellationTokenSource _connectionClosedTokenSource = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _connectionClosedFired = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Ring thread.
    private bool _shutdown;
    private bool _fdClosed;
    private bool _connectionClosedQueued;
    private Exception? _shutdownReason;

    public IoUringConnection(RingThread ringThread, IoUringConnectionListener listener, int fd, int slot, uint generation, EndPoint? localEndPoint, EndPoint? remoteEndPoint)
    {
        _ringThread = ringThread;
        _listener = listener;
        _fd = fd;
        Slot = slot;
        Generation = generation;
        ReceiveMode = ringThread.ReceiveMode;
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
        ConnectionId = ConnectionIds.Next();
        MemoryPool = ringThread.MemoryPool;
        ConnectionClosed = _connectionClosedTokenSource.Token;

        var (inputOptions, outputOptions, inlineScheduler) = ringThread.Connections.PipeOptionsForNewConnection();
        _inlineScheduler = inlineScheduler;
        var input = new Pipe(inputOptions);
        var output = new Pipe(outputOptions);
        _input = input.Writer;
        _output = output.Reader;
        _application = new DuplexPipe(input.Reader, output.Writer);
        _transport = _application;

        _receiver = ReceiveMode == IoUringReceiveMode.BufferRing ? new BufferRingReceiver(this) : new PollReceiver(this);
        _onFlushCompleted = OnFlushCompleted;
        _onOutputReadCompleted = OnOutputReadCompleted;
    }

    public int Slot { get; }
    public uint Generation { get; }
    public int Fd => _fd;
    public RingThread RingThread => _ringThread;

    /// <summary>With UnsafePreferInlineScheduling: where this connection's continuations run (tests).</summary>
    internal InlineConnectionScheduler? InlineScheduler => _inlineScheduler;

    /// <summary>Completes when the socket is closed and the connection has left its ring.</summary>
    public Task Closed => _closed.Task;

    public override string ConnectionId { get; set; }
    public override IDuplexPipe Transport
    {
        get => _transport;
        set
        {
            _transport = value;

            // Kestrel's TLS middleware puts its pipe in place once the handshake has succeeded:
            // ALPN has chosen by then.
            if (_inlineScheduler is not null && !ReferenceEquals(value, _application))
            {
                _inlineScheduler.OnTransportReplaced();
            }
        }
    }

    private IDuplexPipe _transport;
    public override CancellationToken ConnectionClosed { get; set; }

    /// <summary>The user_data of this connection's requests of <paramref name="kind"/>.</summary>
    public ulong UserDataFor(OperationKind kind) => UserData.Pack(kind, Slot, Generation);

    /// <summary>Starts receiving and sending; called on the ring thread right after accept.</summary>
    public void Start()
    {
        Debug.Assert(_ringThread.IsOnRingThread);
        _receiver.Start();
        ReadOutput();
    }

    /// <summary>Ring thread: a completion of one of this connection's requests.</summary>
    public void OnCompletion(OperationKind kind, in Completion completion)
    {
        Debug.Assert(_ringThread.IsOnRingThread);
        if (kind == OperationKind.Send)
        {
            OnSendCompleted(completion.Result);
        }
        else
        {
            _receiver.OnCompletion(kind, completion);
        }

        TryClose();
    }

    public void OnRingStopping() => AbortFromRing(new ConnectionAbortedException("The io_uring transport is stopping."));

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _ringThread.Schedule(static state =>
        {
            var (connection, reason) = ((IoUringConnection, ConnectionAbortedException?))state!;
            connection.AbortFromRing(reason);
        }, (this, abortReason));
    }

    /// <summary>
    /// Abort on the ring thread: drop pending output and reset the connection (RST), or, without a
    /// reason, close it with FIN.
    /// </summary>
    public void AbortFromRing(ConnectionAbortedException? abortReason)
    {
        Debug.Assert(_ringThread.IsOnRingThread);
        if (_fdClosed)
        {
            return;
        }

        // Kestrel passes null when it has no particular reason (e.g. the client closed first). The
        // Sockets transport then shuts the socket down gracefully (FIN) and resets it (RST) only
        // for a real reason; so does this one.
        IoUringLog.ConnectionAbort(Log, ConnectionId, abortReason?.Message ?? "The connection was closed without a reason.");
        Shutdown(abortReason, reset: abortReason is not null);

        // Ends the send loop after Shutdown so the abort reason is the one recorded.
        _output.CancelPendingRead();
        TryClose();
    }

    // Called by Kestrel once the connection middleware has finished (ConnectionClosed has fired
    // or the application is done with the connection).
    public override async ValueTask DisposeAsync()
    {
        _application.Input.Complete();
        _application.Output.Complete();

        // A ring that gave up on its connections (its stop timed out) closes nothing any more:
        // Kestrel's shutdown must not wait for it forever.
        await Task.WhenAny(_closed.Task, _ringThread.Stopped).ConfigureAwait(false);
        await Task.WhenAny(_connectionClosedFired.Task, _ringThread.Stopped).ConfigureAwait(false);
        if (_connectionClosedFired.Task.IsCompleted)
        {
            _connectionClosedTokenSource.Dispose();
        }
    }

    private Microsoft.Extensions.Logging.ILogger Log => _ringThread.Connections.Logger;

    /// <summary>
    /// Ends the connection from our side: FIN both ways (or, with <paramref name="reset"/>, RST at
    /// close), the receive side over, the send in flight cancelled, and Kestrel told it closed.
    /// </summary>
    private void Shutdown(Exception? reason, bool reset)
    {
        if (_shutdown)
        {
            return;
        }

        _shutdown = true;

        // Null only when the application completed its output or aborted without a reason: nobody
        // should observe this one except middleware trying to half-close, which Kestrel does not
        // support either.
        _shutdownReason = reason ?? new ConnectionAbortedException("The io_uring transport's send loop completed gracefully.");
        IoUringLog.ConnectionWriteFin(Log, ConnectionId, _shutdownReason.Message);

        if (reset)
        {
            // SO_LINGER {on, 0}: close() then sends RST and drops unsent data.
            LibC.SetLingerZero(_fd);
        }
        else
        {
            LibC.Shutdown(_fd, SocketConstants.SHUT_RDWR);
        }

        EndReceive(null);
        CancelSend();
        FireConnectionClosed();
    }

    private void FireConnectionClosed()
    {
        if (_connectionClosedQueued)
        {
            return;
        }

        _connectionClosedQueued = true;

        // Never on the ring thread: token callbacks are application code.
        ThreadPool.UnsafeQueueUserWorkItem(static connection =>
        {
            try
            {
                connection._connectionClosedTokenSource.Cancel();
            }
            catch (Exception ex)
            {
                IoUringLog.ConnectionError(connection.Log, connection.ConnectionId, ex);
            }

            connection._connectionClosedFired.TrySetResult();
        }, this, preferLocal: false);
    }

    /// <summary>Closes the fd once both directions have ended and nothing of it is in flight.</summary>
    private void TryClose()
    {
        if (_fdClosed || !_receiver.IsFinished || !IsSendFinished)
        {
            return;
        }

        _fdClosed = true;
        LibC.Close(_fd);
        _ringThread.Connections.OnClosed(this);
        _listener.OnConnectionClosed(this);
        _closed.TrySetResult();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
