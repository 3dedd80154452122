using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Transport.IoUring.Internal;
using Transport.IoUring.Interop;
using Xunit;
using static Transport.IoUring.Tests.Interop.RingTestHelpers;

namespace Transport.IoUring.Tests.Interop;

/// <summary>The other SqePrep helpers the transport uses, each against real file descriptors.</summary>
public sealed unsafe class SqePrepTests
{
    [Fact]
    public void SendAndRecvMoveBytesOverARealConnection()
    {
        using var pair = TcpPair.Create();
        using var ring = CreateRing(8, 0, SingleIssuerDeferTaskrun);

        byte[] outgoing = Encoding.ASCII.GetBytes("sent by io_uring");
        fixed (byte* p = outgoing)
        {
            SqePrep.Send(GetSqe(ring), pair.ServerFd, p, (uint)outgoing.Length, SocketConstants.MSG_NOSIGNAL, 1);
            var sent = Assert.Single(ReapCount(ring, 1, "the send"));
            Assert.Equal(outgoing.Length, sent.Result);
        }

        Assert.Equal(outgoing, ReceiveExactly(pair.Client, outgoing.Length));

        byte[] incoming = Encoding.ASCII.GetBytes("received by io_uring");
        byte[] buffer = new byte[64];
        fixed (byte* p = buffer)
        {
            SqePrep.Recv(GetSqe(ring), pair.ServerFd, p, (uint)buffer.Length, 0, 2);
            Submit(ring);
            pair.Send(incoming);
            var received = Assert.Single(ReapCount(ring, 1, "the recv"));
            Assert.Equal(2UL, received.UserData);
            Assert.Equal(incoming.Length, received.Result);
        }

        Assert.Equal(incoming, buffer.AsSpan(0, incoming.Length).ToArray());
    }

    [Fact]
    public void SendMsgGathersItsIoVecsInOrder()
    {
        using var pair = TcpPair.Create();
        using var ring = CreateRing(8);

        byte[] first = Encoding.ASCII.GetBytes("gathered ");
        byte[] second = Encoding.ASCII.GetBytes("from two ");
        byte[] third = Encoding.ASCII.GetBytes("iovecs");
        fixed (byte* p1 = first, p2 = second, p3 = third)
        {
            IoVec* iov = stackalloc IoVec[3];
            iov[0] = new IoVec { Base = p1, Length = (nuint)first.Length };
            iov[1] = new IoVec { Base = p2, Length = (nuint)second.Length };
            iov[2] = new IoVec { Base = p3, Length = (nuint)third.Length };
            MsgHdr msg = default;
            msg.Iov = iov;
            msg.IovLen = 3;

            SqePrep.SendMsg(GetSqe(ring), pair.ServerFd, &msg, SocketConstants.MSG_NOSIGNAL, 5);
            var cqe = Assert.Single(ReapCount(ring, 1, "the sendmsg"));
            Assert.Equal(first.Length + second.Length + third.Length, cqe.Result);
        }

        Assert.Equal("gathered from two iovecs", Encoding.ASCII.GetString(ReceiveExactly(pair.Client, 24)));
    }

    [Fact]
    public void TimeoutCompletesWithEtimeAfterItsDuration()
    {
        using var ring = CreateRing(8, 0, SingleIssuerDeferTaskrun);
        var timespec = new KernelTimespec { Sec = 0, Nsec = 50_000_000 };
        var clock = Stopwatch.StartNew();

        SqePrep.Timeout(GetSqe(ring), &timespec, 9);
        var cqe = Assert.Single(ReapCount(ring, 1, "the timeout"));

        Assert.Equal(9UL, cqe.UserData);
        Assert.Equal(-Errno.ETIME, cqe.Result);
        Assert.True(clock.ElapsedMilliseconds >= 45, $"completed after {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void ReadOfAnEventfdCompletesOnceItIsWritten()
    {
        int efd = LibC.EventFd(0, SocketConstants.EFD_CLOEXEC | SocketConstants.EFD_NONBLOCK);
        Assert.True(efd >= 0, LibC.Describe(LibC.LastErrno));
        try
        {
            using var ring = CreateRing(8, 0, SingleIssuerDeferTaskrun);
            ulong value = 0;
            SqePrep.Read(GetSqe(ring), efd, (byte*)&value, sizeof(ulong), 11);
            Submit(ring);
            Thread.Sleep(20);
            Submit(ring);
            Assert.Empty(Reap(ring)); // nothing written yet

            ulong three = 3;
            Assert.Equal(sizeof(ulong), (int)LibC.Write(efd, &three, sizeof(ulong)));
            var cqe = Assert.Single(ReapCount(ring, 1, "the eventfd read"));
            Assert.Equal(sizeof(ulong), cqe.Result);
            Assert.Equal(3UL, value);
        }
        finally
        {
            LibC.Close(efd);
        }
    }

    [Fact]
    public void MultishotAcceptPostsOneCompletionPerConnection()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        int listenFd = (int)listener.SafeHandle.DangerousGetHandle();
        using var ring = CreateRing(8, 0, SingleIssuerDeferTaskrun);

        SqePrep.Accept(GetSqe(ring), listenFd, multishot: true, 21);
        Submit(ring);

        var clients = Enumerable.Range(0, 3).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToArray();
        try
        {
            foreach (var c in clients)
            {
                c.Connect(listener.LocalEndPoint!);
            }

            var cqes = ReapCount(ring, 3, "three accepts");
            Assert.All(cqes, c =>
            {
                Assert.Equal(21UL, c.UserData);
                Assert.True(c.Result >= 0, $"accept failed: {LibC.Describe(-c.Result)}");
                Assert.NotEqual(0u, c.Flags & CqeFlags.More);
            });
            Assert.Equal(3, cqes.Select(c => c.Result).Distinct().Count());

            // The accepted fds are real connections: each one's peer is one of the clients.
            var clientPorts = clients.Select(c => ((IPEndPoint)c.LocalEndPoint!).Port).Order();
            var peerPorts = cqes.Select(c => PeerPort(c.Result)).Order();
            Assert.Equal(clientPorts, peerPorts);
            foreach (var c in cqes)
            {
                LibC.Close(c.Result);
            }

            SqePrep.Cancel(GetSqe(ring), 21, 22);
            var final = ReapUntil(ring, all => all.Any(c => c.UserData == 21), "the cancelled accept").Single(c => c.UserData == 21);
            Assert.Equal(-Errno.ECANCELED, final.Result);
            Assert.Equal(0u, final.Flags & CqeFlags.More);
        }
        finally
        {
            foreach (var c in clients)
            {
                c.Dispose();
            }
        }
    }

    private static int PeerPort(int fd)
    {
        byte* address = stackalloc byte[128];
        uint length = 128;
        Assert.Equal(0, LibC.GetPeerName(fd, address, &length));
        return SocketAddressParser.ToIPEndPoint(address, length)!.Port;
    }

    private static byte[] ReceiveExactly(Socket socket, int count)
    {
        socket.ReceiveTimeout = (int)WaitLimit.TotalMilliseconds;
        byte[] data = new byte[count];
        int got = 0;
        while (got < count)
        {
            int n = socket.Receive(data, got, count - got, SocketFlags.None);
            Assert.True(n > 0, "the connection closed early");
            got += n;
        }

        return data;
    }
}
