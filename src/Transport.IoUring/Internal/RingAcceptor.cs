using System.Diagnostics;
using System.Threading.Tasks;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// Accepts on one listen socket for one ring: a multishot accept (5.19; single-shot re-armed on
/// older kernels) whose every completion becomes a connection on this ring. EMFILE/ENFILE back
/// off with a ring timeout and retry; the acceptor never spins and never gives up on them.
/// </summary>
internal sealed class RingAcceptor : IRingSlotOwner
{
    private const int MaxBackoffMs = 1000;

    /// <summary>Fds kept free for the rest of the process: an accepted fd numbered this close to RLIMIT_NOFILE is closed again.</summary>
    public const int ReservedFds = 128;

    // Re-read now and then: the limit can be raised at run time (prlimit).
    private long _fdCeiling;
    private long _fdCeilingReadAt;

    // While fds stay exhausted the backoff retries every second per ring: one warning per 10 s.
    private LogRateLimit _backoffLog = new(10_000);

    private readonly RingThread _ringThread;
    private readonly IoUringConnectionListener _listener;
    private readonly int _listenFd;
    private readonly bool _multishot;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TimeoutSpec? _backoff;
    private int _backoffMs;
    private bool _armed;
    private bool _timerArmed;
    private bool _stopping;
    private bool _failed;
    private bool _finished;

    public RingAcceptor(RingThread ringThread, IoUringConnectionListener listener, int listenFd)
    {
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
            int errno = -result;
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
                    if (_backoffLog.ShouldReport(out int suppressed))
                    {
                        IoUringLog.AcceptBackoff(_ringThread.Logger, _listener.EndPoint.ToString() ?? "", LibC.Describe(errno), _backoffMs, suppressed);
                    }

                    if (_armed)
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

        if (!_armed && !_timerArmed && !_stopping && !_failed)
        {
            Arm();
        }

        TryFinishStop();
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
        _ringThread.Accept(_listenFd, _multishot, AcceptUserData);
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

        _stopped.TrySetResult();
    }
}
