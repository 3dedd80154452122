using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// Accepts on one listen socket for one ring: a multishot accept (5.19; single-shot re-armed on
/// older kernels) whose every completion becomes a connection on this ring. EMFILE/ENFILE back
/// off with a ring timeout and retry; the acceptor never spins and never gives up on them.
/// </summary>
/// <remarks>
/// With direct descriptors the accept puts the socket into the ring's fixed-file table and writes
/// the peer's address into this acceptor's buffer. That accept is single-shot (a multishot one
/// would write every connection's address into the one buffer before the CQEs are read), so a
/// ring runs <see cref="DirectLanes"/> acceptors per listen socket, each with its own buffer, to
/// take several connections per turn as a multishot accept does. A full table completes the
/// accept with ENFILE, which backs off like fd exhaustion.
/// </remarks>
internal sealed class RingAcceptor : IRingSlotOwner
{
    /// <summary>Single-shot direct accepts armed per ring and listen socket.</summary>
    public const int DirectLanes = 8;

    private const int MaxBackoffMs = 1000;

    /// <summary>Fds kept free for the rest of the process: an accepted fd numbered this close to RLIMIT_NOFILE is closed again.</summary>
    public const int ReservedFds = 128;

    // Re-read now and then: the limit can be raised at run time (prlimit).
    private long _fdCeiling;
    private long _fdCeilingReadAt;

    // While fds stay exhausted the backoff retries every second per ring: one warning per 10 s,
    // shared by the direct lanes of one ring and listen socket.
    private readonly StrongBox<LogRateLimit> _backoffLog;

    private readonly RingThread _ringThread;
    private readonly IoUringConnectionListener _listener;
    private readonly int _listenFd;
    private readonly bool _multishot;
    private readonly int _lane;
    private bool _direct;
    private AcceptAddress? _address; // direct: where the accept writes the peer's address
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TimeoutSpec? _backoff;
    private int _backoffMs;
    private bool _armed;
    private bool _timerArmed;
    private bool _stopping;
    private bool _failed;
    private bool _finished;

    public RingAcceptor(RingThread ringThread, IoUringConnectionListener listener, int listenFd, int lane = 0, StrongBox<LogRateLimit>? backoffLog = null)
    {
        _backoffLog = backoffLog ?? new StrongBox<LogRateLimit>(new LogRateLimit(10_000));
        _lane = lane;
        _ringThread = ringThread;
        _listener = listener;
        _listenFd = listenFd;
        _multishot = (ringThread.Features & RingFeatures.MultishotAccept) != 0;
    }

    public RingThread RingThread => _ringThread;
    public int ListenFd => _listenFd;

    // The slot in the ring's slot table, shared with connections: one generation scheme for both.
    public int Slot { get; private set; }
    public uint Generation { get; private set; }

    /// <summary>Completes when no accept of this acceptor is in flight any more.</summary>
    public Task Stopped => _stopped.Task;

    private ulong AcceptUserData => UserData.Pack(OperationKind.Accept, Slot, Generation);
    private ulong RetryUserData => UserData.Pack(OperationKind.AcceptRetry, Slot, Generation);

    /// <summary>Ring thread: takes a slot and arms the first accept.</summary>
    public void Attach()
    {
        Debug.Assert(_ringThread.IsOnRingThread);
        _direct = _ringThread.FixedFiles is not null && _listener.AllowsDirectDescriptors;
        if (_lane > 0 && !_direct)
        {
            // The ring has no fixed-file table after all: lane 0's multishot accept serves alone.
            _finished = true;
            _stopped.TrySetResult();
            return;
        }

        if (_direct)
        {
            _address = new AcceptAddress();
        }

        Slot = _ringThread.Slots.Reserve(out uint generation);
        Generation = generation;
        _ringThread.Slots.Occupy(Slot, this);
        Arm();
    }

    public void OnCompletion(OperationKind kind, in Completion completion)
    {
        Debug.Assert(_ringThread.IsOnRingThread);
        if (kind == OperationKind.Accept)
        {
            OnAcceptCompleted(completion);
        }
        else
        {
            Debug.Assert(kind == OperationKind.AcceptRetry);
            OnRetryTimerCompleted();
        }
    }

    public void OnRingStopping() => Stop();

    private void OnAcceptCompleted(in Completion completion)
    {
        if (!completion.HasMore)
        {
            _armed = false;
        }

        int result = completion.Result;
        if (_direct)
        {
            OnDirectAcceptCompleted(result);
            return;
        }

        if (result >= 0 && result >= FdCeiling())
        {
            // The process is about to run out of fds. Connections must not take the last ones:
            // the runtime needs some for itself (creating a thread, loading an assembly), and
            // without them it dies ("Out of memory"). Refuse this one and back off as on EMFILE.
            LibC.Close(result);
            result = -Errno.EMFILE;
        }

        if (result >= 0)
        {
            _backoffMs = 0;
            if (_stopping)
            {
                LibC.Close(result);
            }
            else
            {
                _ringThread.Connections.Accept(result, _listener);
            }
        }
        else
        {
            OnAcceptFailed(-result);
        }

        if (!_armed && !_timerArmed && !_stopping && !_failed)
        {
            Arm();
        }

        TryFinishStop();
    }

    // res is the fixed-file slot the kernel picked: fds are not involved, so no fd ceiling either.
    private void OnDirectAcceptCompleted(int result)
    {
        if (result >= 0)
        {
            _backoffMs = 0;
            if (_stopping)
            {
                _ringThread.CloseDirect(result);
            }
            else
            {
                _ringThread.Connections.AcceptDirect(result, _address!.ToEndPoint(), _listener);
            }
        }
        else
        {
            _ringThread.ReleaseFixedSlot();
            OnAcceptFailed(-result);
        }

        if (!_armed && !_timerArmed && !_stopping && !_failed)
        {
            Arm();
        }

        TryFinishStop();
    }

    private void OnAcceptFailed(int errno)
    {
        {
            switch (errno)
            {
                case Errno.ECANCELED:
                case Errno.EAGAIN:
                case Errno.EINTR:
                case Errno.ECONNABORTED:
                case Errno.EPROTO: // the peer went away during the handshake
                    break;
                case Errno.EMFILE:
                case Errno.ENFILE:
                case Errno.ENOBUFS:
                case Errno.ENOMEM:
                    _backoffMs = _backoffMs == 0 ? 10 : System.Math.Min(_backoffMs * 2, MaxBackoffMs);
                    if (_backoffLog.Value.ShouldReport(out int suppressed))
                    {
                        string error = _direct && errno == Errno.ENFILE
                            ? LibC.Describe(errno) + ": the ring's fixed-file table is full"
                            : LibC.Describe(errno);
                        IoUringLog.AcceptBackoff(_ringThread.Logger, _listener.EndPoint.ToString() ?? "", error, _backoffMs, suppressed);
                    }

                    if (_armed && !_direct)
                    {
                        // A multishot accept that reported an error but goes on: pause it.
                        _ringThread.Cancel(AcceptUserData);
                    }

                    StartBackoffTimer();
                    break;
                default:
                    IoUringLog.AcceptFailed(_ringThread.Logger, _listener.EndPoint.ToString() ?? "", LibC.Describe(errno));
                    _failed = true;
                    break;
            }
        }
    }

    private void OnRetryTimerCompleted()
    {
        _timerArmed = false;
        if (!_armed && !_stopping && !_failed)
        {
            Arm();
        }

        TryFinishStop();
    }

    /// <summary>Ring thread: cancels the accept; <see cref="Stopped"/> completes when it is reaped.</summary>
    public void Stop()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        if (_armed)
        {
            _ringThread.Cancel(AcceptUserData);
        }

        if (_timerArmed)
        {
            _ringThread.Cancel(RetryUserData);
        }

        TryFinishStop();
    }

    private void Arm()
    {
        if (_direct)
        {
            if (!_ringThread.TryReserveFixedSlot())
            {
                // Every slot of the table is taken: wait as on fd exhaustion, the connection stays queued.
                OnAcceptFailed(Errno.ENFILE);
                return;
            }

            _address!.Reset();
            _ringThread.AcceptDirect(_listenFd, _address.Address, _address.Length, AcceptUserData);
        }
        else
        {
            _ringThread.Accept(_listenFd, _multishot, AcceptUserData);
        }

        _armed = true;
    }

    private long FdCeiling()
    {
        long now = System.Environment.TickCount64;
        if (_fdCeiling == 0 || now - _fdCeilingReadAt > 1000)
        {
            _fdCeilingReadAt = now;
            long limit = LibC.OpenFileLimit();
            _fdCeiling = limit == long.MaxValue ? long.MaxValue : System.Math.Max(limit - ReservedFds, limit / 2);
        }

        return _fdCeiling;
    }

    private void StartBackoffTimer()
    {
        _backoff ??= new TimeoutSpec();
        _backoff.Set(_backoffMs);
        _ringThread.Wait(_backoff, RetryUserData);
        _timerArmed = true;
    }

    private void TryFinishStop()
    {
        if (_finished || (!_stopping && !_failed) || _armed || _timerArmed)
        {
            return;
        }

        _finished = true;
        _ringThread.Slots.Free(Slot);
        _backoff?.Dispose();
        _backoff = null;
        // No accept is in flight: nothing writes there any more.
        _address?.Dispose();
        _address = null;

        _stopped.TrySetResult();
    }
}
