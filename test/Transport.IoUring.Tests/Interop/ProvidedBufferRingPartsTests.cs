using System.Collections.Generic;
using System.Linq;
using Transport.IoUring.Interop;
using Xunit;
using static Transport.IoUring.Tests.Interop.RingTestHelpers;

namespace Transport.IoUring.Tests.Interop;

/// <summary>
/// Receive bundles (6.10) and incremental buffer consumption (6.12) on a real provided-buffer ring
/// and loopback TCP connection: what the kernel reports, and how <see cref="ProvidedBufferRing.Take"/>
/// and <see cref="ProvidedBufferRing.Release"/> turn it into the bytes in order and the buffers back.
/// </summary>
public sealed unsafe class ProvidedBufferRingPartsTests
{
    private const ushort GroupId = 5;
    private const ulong RecvUserData = 7;

    [Fact]
    public void ABundleSpansConsecutiveBuffersOfTheRingAndTakeReadsThemInOrder()
    {
        Assert.True((RingCapabilities.Current.Available & RingFeatures.ReceiveBundle) != 0, "receive bundles need Linux 6.10");
        using var pair = TcpPair.Create();
        using var ring = CreateRing(8, 64, SingleIssuerDeferTaskrun);
        using var buffers = new ProvidedBufferRing(ring, GroupId, entries: 8, bufferSize: 256);

        // Queued before the recv is armed: a recv finds them all and takes several buffers.
        byte[] sent = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        pair.Send(sent);
        var received = new List<byte>();
        int mostBuffers = 0;
        while (received.Count < sent.Length)
        {
            ring.PrepareRecvSelect(pair.ServerFd, GroupId, bundle: true, RecvUserData);
            var cqe = Assert.Single(ReapCount(ring, 1, "a bundle's completion"));
            Assert.True(cqe.Result > 0 && cqe.HasBuffer, $"recv failed: {cqe}");
            int count = buffers.Take(cqe.BufferId, cqe.Result, cqe.HasBufferMore, bundle: true);
            Assert.Equal((cqe.Result + 255) / 256, count);
            mostBuffers = System.Math.Max(mostBuffers, count);
            for (int i = 0; i < count; i++)
            {
                received.AddRange(buffers.Segment(i).ToArray());
            }

            buffers.Release();
            buffers.Publish();
        }

        Assert.Equal(sent, received);
        Assert.True(mostBuffers > 1, "no completion spanned more than one buffer");
        Assert.True(buffers.MultiBufferCompletions >= 1);
    }

    [Fact]
    public void AnIncrementalBufferServesSeveralReadsAndGoesBackOnlyWhenUsedUp()
    {
        Assert.True((RingCapabilities.Current.Available & RingFeatures.IncrementalBuffers) != 0, "incremental buffers need Linux 6.12");
        using var pair = TcpPair.Create();
        using var ring = CreateRing(8, 64, SingleIssuerDeferTaskrun);
        using var buffers = new ProvidedBufferRing(ring, GroupId, entries: 2, bufferSize: 256, incremental: true);
        Assert.True(buffers.Incremental);
        var received = new List<byte>();
        var sent = new List<byte>();
        var ids = new List<ushort>();
        var more = new List<bool>();

        // 100, 100, then 100 more of which only 56 fit the first buffer: the rest goes to the second.
        for (int round = 0; round < 3; round++)
        {
            byte[] chunk = Enumerable.Range(0, 100).Select(i => (byte)(round * 100 + i)).ToArray();
            sent.AddRange(chunk);
            pair.Send(chunk);
            int expected = sent.Count;
            while (received.Count < expected)
            {
                ring.PrepareRecvSelect(pair.ServerFd, GroupId, bundle: false, RecvUserData);
                var cqe = Assert.Single(ReapCount(ring, 1, $"a read of round {round}"));
                Assert.True(cqe.Result > 0, $"recv failed: {cqe}");
                ids.Add(cqe.BufferId);
                more.Add(cqe.HasBufferMore);
                int count = buffers.Take(cqe.BufferId, cqe.Result, cqe.HasBufferMore, bundle: false);
                Assert.Equal(1, count);
                received.AddRange(buffers.Segment(0).ToArray());
                buffers.Release();
                buffers.Publish();
            }
        }

        Assert.Equal(sent, received);

        // Reads 1–3 used the same buffer (the third took its last 56 bytes and ended it), the
        // fourth began the other one.
        Assert.Equal(4, ids.Count);
        Assert.Equal([ids[0], ids[0], ids[0]], ids.Take(3));
        Assert.NotEqual(ids[0], ids[3]);
        Assert.Equal([true, true, false, true], more);
        Assert.Equal(2, buffers.PartialBufferReuses);

        // The used-up buffer went back: 256 more bytes fit (44 in the second buffer's rest … then the first again).
        byte[] last = Enumerable.Range(0, 256).Select(i => (byte)(255 - i)).ToArray();
        sent.AddRange(last);
        pair.Send(last);
        while (received.Count < sent.Count)
        {
            ring.PrepareRecvSelect(pair.ServerFd, GroupId, bundle: false, RecvUserData);
            var cqe = Assert.Single(ReapCount(ring, 1, "a read after the buffer came back"));
            Assert.True(cqe.Result > 0, $"recv failed (ENOBUFS would mean the used-up buffer never came back): {cqe}");
            buffers.Take(cqe.BufferId, cqe.Result, cqe.HasBufferMore, bundle: false);
            received.AddRange(buffers.Segment(0).ToArray());
            buffers.Release();
            buffers.Publish();
        }

        Assert.Equal(sent, received);
    }
}
