using System;
using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// One accepted socket, bridged to Kestrel through a pair of pipes. All socket I/O and all state
/// below marked "ring thread" happen on the one <see cref="RingThread"/> that accepted it; other
/// threads reach it only by posting work there (<see cref="Abort(ConnectionAbortedException)"/>)
/// or through the pipes, whose transport-side continuations are scheduled on that ring.
/// </summary>
/// <remarks>
/// Lifecycle, as Kestrel's Sockets transport: the receive side ends on FIN, error, or shutdown and
/// then completes the input pipe and fires <see cref="ConnectionClosed"/>; the send side ends when
/// the application completes output (remaining bytes are sent first), on error, or on abort, and
/// then shuts the socket down. The fd is closed only when both sides have ended and no request on
/// it is in flight, so the kernel never writes into a recycled fd or slot.
/// </remarks>
internal sealed partial class IoUringConnection : ConnectionContext
{
    private readonly RingThread _ring;
    private readonly IoUringConnectionListener _listener;
    private readonly int _fd;
    private readonly PipeWriter _input;       // transport side of the input pipe (ring writes)
    private readonly PipeReader _output;      // transport side of the output pipe (ring reads)
    private readonly IDuplexPipe _application;// application side, completed by DisposeAsync
    private readonly CancellationTokenSource _connectionClosedTokenSource = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _connectionClosedFired = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Ring thread.
    private bool _shutdown;
    private bool _abortRequested;
    private bool _fdClosed;
    private bool _connectionClosedQueued;
    private Exception? _shutdownReason;

    public IoUringConnection(RingThread ring, IoUringConnectionListener listener, int fd, int slot, uint generation, EndPoint? localEndPoint, EndPoint? remoteEndPoint)
    {
        _ring = ring;
        _listener = listener;
        _fd = fd;
        Slot = slot;
        Generation = generation;
        ReceiveMode = ring.ReceiveMode;
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
        ConnectionId = ConnectionIds.Next();
        MemoryPool = ring.MemoryPool;
        ConnectionClosed = _connectionClosedTokenSource.Token;

        var options = ring.Options;
        long maxRead = options.MaxReadBufferSize ?? 0;
        long maxWrite = options.MaxWriteBufferSize ?? 0;
        var input = new Pipe(new PipeOptions(ring.MemoryPool, readerScheduler: ring.ApplicationScheduler, writerScheduler: ring,
            pauseWriterThreshold: maxRead, resumeWriterThreshold: maxRead / 2, useSynchronizationContext: false));
        var output = new Pipe(new PipeOptions(ring.MemoryPool, readerScheduler: ring, writerScheduler: ring.ApplicationScheduler,
            pauseWriterThreshold: maxWrite, resumeWriterThreshold: maxWrite / 2, useSynchronizationContext: false));

        _input = input.Writer;
        _output = output.Reader;
        _application = new DuplexPipe(input.Reader, output.Writer);
        Transport = _application;

        _onFlushCompleted = OnFlushCompleted;
        _onOutputReadCompleted = OnOutputReadCompleted;
    }

    public int Slot { get; }
    public uint Generation { get; }
    public int Fd => _fd;
    public RingThread Ring => _ring;

    /// <summary>Completes when the socket is closed and the connection has left its ring.</summary>
    public Task Closed => _closed.Task;

    public override string ConnectionId { get; set; }
    public override IDuplexPipe Transport { get; set; }
    public override CancellationToken ConnectionClosed { get; set; }

    /// <summary>Starts receiving and sending; called on the ring thread right after accept.</summary>
    public void Start()
    {
        Debug.Assert(_ring.IsOnRingThread);
        ContinueReceiving();
        ReadOutput();
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _ring.Schedule(static state =>
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
        Debug.Assert(_ring.IsOnRingThread);
        if (_fdClosed)
        {
            return;
        }

        // Kestrel passes null when it has no particular reason (e.g. the client closed first). The
        // Sockets transport then shuts the socket down gracefully (FIN) and resets it (RST) only
        // for a real reason; so does this one.
        IoUringLog.ConnectionAbort(_ring.ConnectionLogger, ConnectionId, abortReason?.Message ?? "The connection was closed without a reason.");
        _abortRequested = abortReason is not null;
        Shutdown(abortReason);

        // Ends the send loop after Shutdown so the abort reason is the one recorded.
        _output.CancelPendingRead();
    }

    // Called by Kestrel once the connection middleware has finished (ConnectionClosed has fired
    // or the application is done with the connection).
    public override async ValueTask DisposeAsync()
    {
        _application.Input.Complete();
        _application.Output.Complete();

        // A ring that gave up on its connections (its stop timed out) closes nothing any more:
        // Kestrel's shutdown must not wait for it forever.
        await Task.WhenAny(_closed.Task, _ring.Stopped).ConfigureAwait(false);
        await Task.WhenAny(_connectionClosedFired.Task, _ring.Stopped).ConfigureAwait(false);
        if (_connectionClosedFired.Task.IsCompleted)
        {
            _connectionClosedTokenSource.Dispose();
        }
    }

    private void Shutdown(Exception? reason)
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
        IoUringLog.ConnectionWriteFin(_ring.ConnectionLogger, ConnectionId, _shutdownReason.Message);

        if (_abortRequested)
        {
            // SO_LINGER {on, 0}: close() then sends RST and drops unsent data.
            LibC.SetLingerZero(_fd);
        }
        else
        {
            // FIN both ways; a recv in flight completes with 0 and ends the receive side.
            LibC.Shutdown(_fd, SocketConstants.SHUT_RDWR);
        }

        CancelReceive();
        if (_sendInFlight)
        {
            _ring.SubmitCancel(UserData.Pack(OperationKind.Send, Slot, Generation), Slot, Generation);
        }
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
                IoUringLog.ConnectionError(connection._ring.ConnectionLogger, connection.ConnectionId, ex);
            }

            connection._connectionClosedFired.TrySetResult();
        }, this, preferLocal: false);
    }

    /// <summary>Closes the fd once both directions have ended and nothing of it is in flight.</summary>
    private void TryClose()
    {
        if (_fdClosed || !_receiveEnded || !_sendEnded || _pollArmed || _recvInFlight || _sendInFlight)
        {
            return;
        }

        _fdClosed = true;
        LibC.Close(_fd);
        _ring.RemoveConnection(this);
        _listener.OnConnectionClosed(this);
        _closed.TrySetResult();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
