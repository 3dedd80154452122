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
    public void ReceiveMultishot(int fd, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareRecvMultishot(fd, _bufferRing!.GroupId, ReceivesBundles, userData);
    }

    /// <summary>One recv picking buffers from this ring's provided-buffer ring (bundles where the ring uses them).</summary>
    public void ReceiveOnce(int fd, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareRecvSelect(fd, _bufferRing!.GroupId, ReceivesBundles, userData);
    }

    /// <summary>
    /// One non-blocking recv into <paramref name="memory"/> (pinned at <paramref name="address"/>):
    /// a READ_FIXED where the ring has registered the memory's slab, else a plain recv.
    /// </summary>
    public void ReceiveInto(int fd, Memory<byte> memory, nint address, ulong userData)
    {
        int bufferIndex = GetFixedBufferIndex(memory);
        MakeRoom();
        if (bufferIndex >= 0)
        {
            // Pool memory the ring registered: the kernel skips mapping the pages on every read.
            _ring!.PrepareReadFixed(fd, address, memory.Length, bufferIndex, RwFlags.NoWait, userData);
        }
        else
        {
            _ring!.PrepareRecv(fd, address, memory.Length, SocketConstants.MSG_DONTWAIT, userData);
        }
    }

    public void Poll(int fd, uint events, bool multishot, ulong userData)
    {
        MakeRoom();
        _ring!.PreparePollAdd(fd, events, multishot, userData);
    }

    public void Send(int fd, nint buffer, int length, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareSend(fd, buffer, length, SocketConstants.MSG_NOSIGNAL, userData);
    }

    public void Send(int fd, IoVecBuffer message, ulong userData)
    {
        MakeRoom();
        _ring!.PrepareSendMsg(fd, message, SocketConstants.MSG_NOSIGNAL, userData);
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
