using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using Transport.IoUring.Interop;
using Xunit;
using static Transport.IoUring.Tests.Interop.RingTestHelpers;

namespace Transport.IoUring.Tests.Interop;

/// <summary>Multishot recv into a provided-buffer ring, and multishot poll, on a real loopback TCP connection.</summary>
public sealed unsafe class ProvidedBufferRingTests
{
    private const ushort GroupId = 3;
    private const ulong RecvUserData = 42;
    private const ulong CancelUserData = 43;

    [Theory]
    [InlineData(0u)]
    [InlineData(SingleIssuerDeferTaskrun)]
    public void MultishotRecvDeliversEachMessageInAProvidedBufferAndStaysArmed(uint flags)
    {
        using var pair = TcpPair.Create();
        using var ring = CreateRing(8, 64, flags);
        using var buffers = new ProvidedBufferRing(ring, GroupId, entries: 4, bufferSize: 256);
        var receiver = new MultishotReceiver(ring, buffers, pair.ServerFd);
        receiver.Arm();
        Submit(ring);
        Assert.Empty(Reap(ring)); // nothing to read yet

        byte[] first = Encoding.ASCII.GetBytes("hello from the peer");
        pair.Send(first);
        var cqe = Assert.Single(receiver.PumpUntil(() => receiver.Received.Count >= first.Length, "the first message"));

        Assert.Equal(RecvUserData, cqe.UserData);
        Assert.Equal(first.Length, cqe.Result);
        Assert.NotEqual(0u, cqe.Flags & CqeFlags.Buffer);
        Assert.NotEqual(0u, cqe.Flags & CqeFlags.More);
        ushort firstBid = (ushort)(cqe.Flags >> CqeFlags.BufferShift);
        Assert.InRange(firstBid, 0, buffers.Entries - 1);
        Assert.Equal(first, buffers.GetBuffer(firstBid, cqe.Result).ToArray());
        Assert.Equal(first, receiver.Received);

        // Give the buffer back; the same recv, still armed, takes the next message.
        receiver.ReturnHeldBuffers();
        byte[] second = Encoding.ASCII.GetBytes("second message");
        pair.Send(second);
        cqe = Assert.Single(receiver.PumpUntil(() => receiver.Received.Count >= first.Length + second.Length, "the second message"));
        Assert.Equal(RecvUserData, cqe.UserData);
        Assert.Equal(second.Length, cqe.Result);
        Assert.NotEqual(0u, cqe.Flags & CqeFlags.More);
        Assert.Equal(first.Concat(second), receiver.Received);
        Assert.Null(receiver.FinalResult);

        receiver.CancelAndAwaitFinal();
        Assert.Equal(-Errno.ECANCELED, receiver.FinalResult);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(SingleIssuerDeferTaskrun)]
    public void ExhaustedBufferRingEndsMultishotRecvWithEnobufsAndRearmingLosesNothing(uint flags)
    {
        using var pair = TcpPair.Create();
        using var ring = CreateRing(8, 64, flags);
        using var buffers = new ProvidedBufferRing(ring, GroupId, entries: 2, bufferSize: 16);
        var receiver = new MultishotReceiver(ring, buffers, pair.ServerFd);
        receiver.Arm();
        Submit(ring);

        byte[] chunk1 = Encoding.ASCII.GetBytes("chunk-one...");                    // 12 bytes: one buffer
        byte[] chunk2 = Encoding.ASCII.GetBytes("chunk-two...");                    // 12 bytes: the other buffer
        byte[] chunk3 = Encoding.ASCII.GetBytes("chunk-three, which needs two!!"); // 30 bytes: both buffers again
        byte[] all = [.. chunk1, .. chunk2, .. chunk3];

        // Each chunk is sent only once the previous one has been received, so each takes a buffer
        // of its own, and no buffer is handed back.
        pair.Send(chunk1);
        receiver.PumpUntil(() => receiver.Received.Count >= chunk1.Length, "chunk 1");
        pair.Send(chunk2);
        receiver.PumpUntil(() => receiver.Received.Count >= chunk1.Length + chunk2.Length, "chunk 2");
        Assert.Equal(2, receiver.HeldBuffers.Count);
        Assert.Equal(2, receiver.HeldBuffers.Distinct().Count());

        // Depending on the kernel the recv ends as soon as the ring is empty or when chunk 3 arrives
        // and finds no buffer (6.18 here); either way chunk 3 must stay in the socket.
        pair.Send(chunk3);
        receiver.PumpUntil(() => receiver.FinalResult is not null, "the multishot recv to end for lack of buffers");
        Assert.Equal(-Errno.ENOBUFS, receiver.FinalResult);
        Assert.Equal(0u, receiver.FinalFlags & (CqeFlags.Buffer | CqeFlags.More));
        Assert.Equal(chunk1.Concat(chunk2), receiver.Received); // chunk 3 is still in the socket

        receiver.ReturnHeldBuffers();
        receiver.Arm();
        var afterRearm = receiver.PumpUntil(() => receiver.Received.Count >= all.Length, "chunk 3 after re-arming");
        Assert.True(afterRearm.Count(c => c.Result > 0) >= 2, $"30 bytes cannot fit one 16-byte buffer: {Describe(afterRearm)}");
        Assert.Equal(all, receiver.Received);

        if (receiver.FinalResult is null)
        {
            receiver.CancelAndAwaitFinal();
        }
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(SingleIssuerDeferTaskrun)]
    public void MultishotPollReportsPollInWithMoreUntilCancelled(uint flags)
    {
        const ulong PollUserData = 77;
        using var pair = TcpPair.Create();
        using var ring = CreateRing(8, 64, flags);

        SqePrep.PollAdd(GetSqe(ring), pair.ServerFd, PollFlags.PollIn, multishot: true, PollUserData);
        Submit(ring);
        Assert.Empty(Reap(ring)); // not readable yet

        for (int i = 1; i <= 2; i++)
        {
            pair.Send([(byte)i]); // nobody reads: each arrival wakes the poll again
            var cqe = Assert.Single(ReapCount(ring, 1, $"poll event {i}"));
            Assert.Equal(PollUserData, cqe.UserData);
            Assert.NotEqual(0, cqe.Result & (int)PollFlags.PollIn);
            Assert.NotEqual(0u, cqe.Flags & CqeFlags.More);
        }

        SqePrep.Cancel(GetSqe(ring), PollUserData, CancelUserData);
        var cqes = ReapUntil(ring, all => all.Any(c => c.UserData == PollUserData && (c.Flags & CqeFlags.More) == 0) && all.Any(c => c.UserData == CancelUserData), "the cancel and the poll's final completion");
        Assert.Equal(0, cqes.Single(c => c.UserData == CancelUserData).Result);
        var final = cqes.Single(c => c.UserData == PollUserData);
        Assert.Equal(-Errno.ECANCELED, final.Result);
        Assert.Equal(0u, final.Flags & CqeFlags.More);

        // Disarmed: more data wakes nothing.
        pair.Send([3]);
        Thread.Sleep(50);
        Submit(ring);
        Assert.Empty(Reap(ring));
    }

    [Fact]
    public void DisposeUnregistersTheBufferGroup()
    {
        using var ring = CreateRing(8);
        var first = new ProvidedBufferRing(ring, GroupId, entries: 4, bufferSize: 64);

        // While registered, the group id is taken.
        var taken = Assert.Throws<RingException>(() => new ProvidedBufferRing(ring, GroupId, entries: 4, bufferSize: 64));
        Assert.Equal(Errno.EEXIST, taken.Errno);

        first.Dispose();
        using var second = new ProvidedBufferRing(ring, GroupId, entries: 4, bufferSize: 64);
        Assert.Equal(GroupId, second.GroupId);
    }

    [Fact]
    public void DisposingTwiceIsHarmless()
    {
        using var ring = CreateRing(8);
        var buffers = new ProvidedBufferRing(ring, GroupId, entries: 4, bufferSize: 64);
        buffers.Dispose();
        buffers.Dispose(); // must not unmap or free the memory a second time

        // Allocations after the second Dispose still work and the group can be registered again.
        using var again = new ProvidedBufferRing(ring, GroupId, entries: 4, bufferSize: 64);
        Assert.Equal(GroupId, again.GroupId);
    }

    [Fact]
    public void IsSupportedLeavesNoBufferGroupBehind()
    {
        using var ring = CreateRing(8);
        Assert.True(ProvidedBufferRing.IsSupported(ring));
        using var group0 = new ProvidedBufferRing(ring, groupId: 0, entries: 2, bufferSize: 64); // would be EEXIST otherwise
        Assert.Equal(0, group0.GroupId);
    }

    /// <summary>
    /// Drives one multishot recv: keeps what each completion delivered, remembers which buffers it
    /// holds (they go back to the kernel only on <see cref="ReturnHeldBuffers"/>) and the final result.
    /// </summary>
    private sealed class MultishotReceiver(Ring ring, ProvidedBufferRing buffers, int fd)
    {
        public List<byte> Received { get; } = new();

        public List<ushort> HeldBuffers { get; } = new();

        /// <summary>res of the completion without IORING_CQE_F_MORE, once the recv has ended.</summary>
        public int? FinalResult { get; private set; }

        public uint FinalFlags { get; private set; }

        public void Arm()
        {
            SqePrep.RecvMultishot(GetSqe(ring), fd, buffers.GroupId, RecvUserData);
            FinalResult = null;
        }

        public void ReturnHeldBuffers()
        {
            foreach (ushort bid in HeldBuffers)
            {
                buffers.Add(bid);
            }

            buffers.Publish();
            HeldBuffers.Clear();
        }

        public void CancelAndAwaitFinal()
        {
            SqePrep.Cancel(GetSqe(ring), RecvUserData, CancelUserData);
            PumpUntil(() => FinalResult is not null, "the cancelled recv's final completion");
        }

        /// <summary>Submits and reaps until <paramref name="condition"/> holds; returns the recv's completions.</summary>
        public List<Completion> PumpUntil(Func<bool> condition, string waitingFor)
        {
            var cqes = new List<Completion>();
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                Assert.True(clock.Elapsed < WaitLimit, $"timed out waiting for {waitingFor}; received {Received.Count} bytes, completions {Describe(cqes)}");
                Submit(ring);
                var batch = Reap(ring);
                if (batch.Count == 0)
                {
                    Thread.Sleep(1);
                }

                foreach (var cqe in batch)
                {
                    if (cqe.UserData == CancelUserData)
                    {
                        continue;
                    }

                    Assert.Equal(RecvUserData, cqe.UserData);
                    Assert.True(FinalResult is null, $"completion after the final one: {Describe([cqe])}");
                    cqes.Add(cqe);
                    if (cqe.Result > 0)
                    {
                        Assert.True((cqe.Flags & CqeFlags.Buffer) != 0, $"data without a buffer: {Describe([cqe])}");
                        ushort bid = (ushort)(cqe.Flags >> CqeFlags.BufferShift);
                        Assert.InRange(bid, 0, buffers.Entries - 1);
                        Assert.DoesNotContain(bid, HeldBuffers); // the kernel never lends a buffer twice
                        Assert.InRange(cqe.Result, 1, buffers.BufferSize);
                        Received.AddRange(buffers.GetBuffer(bid, cqe.Result).ToArray());
                        HeldBuffers.Add(bid);
                    }

                    if ((cqe.Flags & CqeFlags.More) == 0)
                    {
                        FinalResult = cqe.Result;
                        FinalFlags = cqe.Flags;
                    }
                }

                Assert.False(FinalResult is not null && !condition(), $"the recv ended ({Describe(cqes.TakeLast(1))}) before {waitingFor}; received {Received.Count} bytes");
            }

            return cqes;
        }
    }
}
