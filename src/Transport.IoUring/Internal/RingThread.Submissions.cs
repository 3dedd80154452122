using System;
using System.Diagnostics;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

// The requests a ring offers its connections and acceptors, in their terms. Each prepares one SQE
// for this turn's io_uring_enter. When the submission ring is full — more requests in one turn than
// RingEntries — the SQEs prepared so far are submitted first, here and nowhere else, and counted
// (SubmissionQueueFullSubmits): that is the one place a request enters the kernel before the turn ends.
internal sealed partial class RingThread
{
    private const int MaxFullRingRetries = 100;

    /// <summary>Times a full submission ring was submitted early to make room (ring thread).</summary>
    public long SubmissionQueueFullSubmits { get; private set; }

    public void Accept(int listenFd, bool multishot, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareAccept(listenFd, multishot, userData);
    }

    /// <summary>A timeout that completes after <paramref name="timeout"/> (the acceptor's back-off).</summary>
    public void Wait(TimeoutSpec timeout, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareTimeout(timeout, userData);
    }

    /// <summary>A multishot recv picking buffers from this ring's provided-buffer ring (bundles where the ring uses them).</summary>
    public void ReceiveMultishot(SocketTarget socket, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareRecvMultishot(socket, _bufferRing!.GroupId, ReceivesBundles, userData);
    }

    /// <summary>One recv picking buffers from this ring's provided-buffer ring (bundles where the ring uses them).</summary>
    public void ReceiveOnce(SocketTarget socket, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareRecvSelect(socket, _bufferRing!.GroupId, ReceivesBundles, userData);
    }

    /// <summary>
    /// One non-blocking recv into <paramref name="memory"/> (pinned at <paramref name="address"/>):
    /// a READ_FIXED where the ring has registered the memory's slab, else a plain recv.
    /// </summary>
    public void ReceiveInto(SocketTarget socket, Memory<byte> memory, nint address, ulong userData)
    {
        int bufferIndex = GetFixedBufferIndex(memory);
        MakeRoom();
        if (bufferIndex >= 0)
        {
            // Pool memory the ring registered: the kernel skips mapping the pages on every read.
            _ring!.PrepareReadFixed(socket, address, memory.Length, bufferIndex, RwFlags.NoWait, userData);
        }
        else
        {
            _ring!.PrepareRecv(socket, address, memory.Length, SocketConstants.MSG_DONTWAIT, userData);
        }
    }

    public void Poll(SocketTarget socket, uint events, bool multishot, ulong userData)
    {
        MakeRoom();
        _ring!.PreparePollAdd(socket, events, multishot, userData);
    }

    public void Send(SocketTarget socket, nint buffer, int length, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareSend(socket, buffer, length, SocketConstants.MSG_NOSIGNAL, userData);
    }

    public void Send(SocketTarget socket, IoVecBuffer message, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareSendMsg(socket, message, SocketConstants.MSG_NOSIGNAL, userData);
    }

    /// <summary>The ring's fixed-file table; null when the ring does not use direct descriptors.</summary>
    public FixedFileTable? FixedFiles => _fixedFiles;

    /// <summary>Accepts that put their socket into the fixed-file table (ring thread).</summary>
    public long DirectAccepts { get; internal set; }

    /// <summary>Closes of a fixed-file slot that failed (their CQE is the only one a close posts).</summary>
    public long DirectCloseFailures { get; private set; }

    /// <summary>
    /// Fixed-file slots spoken for: live direct connections plus direct accepts armed. An accept
    /// into a full table does not leave the connection queued as EMFILE does: the kernel has
    /// already taken it off the listen queue and closes it. So an accept is armed only with a
    /// slot reserved for it (<see cref="TryReserveFixedSlot"/>), and the table never fills.
    /// </summary>
    public int FixedSlotsReserved { get; private set; }

    /// <summary>Reserves a fixed-file slot for a direct accept; false when the table is spoken for.</summary>
    public bool TryReserveFixedSlot()
    {
        if (_fixedFiles is null || FixedSlotsReserved >= _fixedFiles.Slots)
        {
            return false;
        }

        FixedSlotsReserved++;
        return true;
    }

    /// <summary>A reserved slot was not used (the accept failed or was cancelled) or was closed.</summary>
    public void ReleaseFixedSlot() => FixedSlotsReserved--;

    /// <summary>One accept into the fixed-file table, the peer's address written to <paramref name="address"/>.</summary>
    public void AcceptDirect(int listenFd, nint address, nint addressLength, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareAcceptDirect(listenFd, address, addressLength, userData);
    }

    /// <summary>shutdown(2) of a connection's socket, as a request.</summary>
    public void Shutdown(SocketTarget socket, int how, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareShutdown(socket, how, userData);
    }

    /// <summary>SO_LINGER {on, 0} on a direct descriptor (socket command): its close then sends RST.</summary>
    public void SetLingerZero(SocketTarget socket, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareSetSocketOption(socket, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, _lingerZero, LibC.LingerSize, userData);
    }

    /// <summary>
    /// Closes fixed-file slot <paramref name="slot"/>. Nothing of the connection is in flight any more,
    /// so the slot goes back to the kernel at once; the close posts a CQE only when it fails
    /// (IOSQE_CQE_SKIP_SUCCESS), which is counted.
    /// </summary>
    public void CloseDirect(int slot)
    {
        MakeRoom();
        _ring!.PrepareCloseDirect(slot, UserData.Pack(OperationKind.CloseDirect, slot, 0), skipSuccess: true);
        ReleaseFixedSlot();
    }

    internal void OnDirectCloseFailed()
    {
        DirectCloseFailures++;
        _ring!.OnSkippedCompletionReaped();
    }

    /// <summary>Cancels the request with <paramref name="targetUserData"/>; the cancel's own completion is ignored.</summary>
    public void Cancel(ulong targetUserData)
    {
        MakeRoom();
        _ring!.PrepareCancel(targetUserData, UserData.Pack(OperationKind.Cancel, UserData.Slot(targetUserData), UserData.Generation(targetUserData)));
    }

    /// <summary>
    /// A NOP that completes with result 0 and <paramref name="userData"/>: the kernel delivers a
    /// completion nobody asked for, as a late completion of a recycled slot would arrive (tests).
    /// </summary>
    public void SubmitNop(ulong userData)
    {
        MakeRoom();
        _ring!.PrepareNop(userData);
    }

    private void ArmWake()
    {
        MakeRoom();
        _ring!.PrepareRead(_workQueue.EventFd, UserData.Pack(OperationKind.Wake, 0, 0));
        _wakeArmed = true;
    }

    private void MakeRoom()
    {
        Debug.Assert(IsOnRingThread);
        Ring ring = _ring!;
        for (int attempt = 0; ring.FreeSubmissionEntries == 0; attempt++)
        {
            SubmissionQueueFullSubmits++;
            int ret = ring.Submit();
            if (ret < 0 && ret != -Errno.EINTR && ret != -Errno.EAGAIN && ret != -Errno.EBUSY)
            {
                throw new RingException($"io_uring_enter on a full submission ring of ring {Id} failed", -ret);
            }

            if (attempt == MaxFullRingRetries)
            {
                throw new RingException($"the submission ring of ring {Id} stayed full", Errno.EBUSY);
            }
        }
    }
}
