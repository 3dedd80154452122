using System;
using System.Linq;
using Transport.IoUring.Interop;
using Xunit;

namespace Transport.IoUring.Tests.Interop;

public sealed class RegisteredBufferTableTests
{
    [Fact]
    public void ReadFixedIntoARegisteredSlabReceivesSocketBytesAndNoWaitReportsEagainWhenEmpty()
    {
        using var ring = RingTestHelpers.CreateRing(8, 16);
        using var table = RegisteredBufferTable.TryCreate(ring, slots: 4, out int errno);
        Assert.True(table is not null, $"IORING_REGISTER_BUFFERS2 (sparse) failed: {LibC.Describe(errno)}");

        byte[] slab = GC.AllocateUninitializedArray<byte>(64 * 1024, pinned: true);
        Assert.Equal(0, table!.TryRegister(2, LibC.AddressOfPinned(slab), slab.Length));
        using var pair = TcpPair.Create();
        nint address = LibC.AddressOfPinned(slab) + 4096;

        // Nothing queued: RWF_NOWAIT answers -EAGAIN at once instead of holding the buffer.
        ring.PrepareReadFixed(pair.ServerFd, address, 1000, bufferIndex: 2, RwFlags.NoWait, userData: 1);
        var empty = RingTestHelpers.ReapUntil(ring, c => c.Count == 1, "the empty READ_FIXED");
        Assert.Equal(-Errno.EAGAIN, empty[0].Result);

        byte[] sent = Enumerable.Range(0, 777).Select(i => (byte)(i * 7)).ToArray();
        pair.Send(sent);
        System.Threading.Thread.Sleep(50); // loopback delivery
        ring.PrepareReadFixed(pair.ServerFd, address, 1000, bufferIndex: 2, RwFlags.NoWait, userData: 2);
        var read = RingTestHelpers.ReapUntil(ring, c => c.Count == 1, "the READ_FIXED with data");
        Assert.Equal(2ul, read[0].UserData);
        Assert.Equal(sent.Length, read[0].Result);
        Assert.Equal(sent, slab.AsSpan(4096, sent.Length).ToArray());
    }

    [Fact]
    public void ReadFixedNamingAnEmptySlotFails()
    {
        using var ring = RingTestHelpers.CreateRing(8, 16);
        using var table = RegisteredBufferTable.TryCreate(ring, slots: 4, out _);
        Assert.NotNull(table);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(4096, pinned: true);
        using var pair = TcpPair.Create();
        pair.Send(new byte[] { 1, 2, 3 });
        System.Threading.Thread.Sleep(50);

        ring.PrepareReadFixed(pair.ServerFd, LibC.AddressOfPinned(buffer), buffer.Length, bufferIndex: 1, RwFlags.NoWait, userData: 3);
        var cqes = RingTestHelpers.ReapUntil(ring, c => c.Count == 1, "the READ_FIXED on an empty slot");

        Assert.True(cqes[0].Result < 0, $"expected an error, got {cqes[0].Result}");
    }

    [Fact]
    public void RegisteringOutsideTheTableIsRefused()
    {
        using var ring = RingTestHelpers.CreateRing(8, 16);
        using var table = RegisteredBufferTable.TryCreate(ring, slots: 2, out _);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(4096, pinned: true);

        Assert.Equal(Errno.EINVAL, table!.TryRegister(2, LibC.AddressOfPinned(buffer), buffer.Length));
    }

    [Fact]
    public void AnUnregisteredSlotRefusesReadFixedUntilAnotherBufferIsRegisteredInIt()
    {
        using var ring = RingTestHelpers.CreateRing(8, 16);
        using var table = RegisteredBufferTable.TryCreate(ring, slots: 4, out _);
        Assert.NotNull(table);
        byte[] first = GC.AllocateUninitializedArray<byte>(64 * 1024, pinned: true);
        byte[] second = GC.AllocateUninitializedArray<byte>(64 * 1024, pinned: true);
        using var pair = TcpPair.Create();
        Assert.Equal(0, table!.TryRegister(3, LibC.AddressOfPinned(first), first.Length));
        Assert.Equal(0, table.TryUnregister(3));

        pair.Send(new byte[] { 1, 2, 3 });
        System.Threading.Thread.Sleep(50);
        ring.PrepareReadFixed(pair.ServerFd, LibC.AddressOfPinned(first), 100, bufferIndex: 3, RwFlags.NoWait, userData: 1);
        var refused = RingTestHelpers.ReapUntil(ring, c => c.Count == 1, "the READ_FIXED on the emptied slot");
        Assert.True(refused[0].Result < 0, $"the emptied slot still served a read into the old buffer: {refused[0].Result}");

        // The slot takes a new buffer, and reads land in the new one only.
        Assert.Equal(0, table.TryRegister(3, LibC.AddressOfPinned(second), second.Length));
        ring.PrepareReadFixed(pair.ServerFd, LibC.AddressOfPinned(second) + 8, 100, bufferIndex: 3, RwFlags.NoWait, userData: 2);
        var read = RingTestHelpers.ReapUntil(ring, c => c.Count == 1, "the READ_FIXED into the new buffer");
        Assert.Equal(3, read[0].Result);
        Assert.Equal(new byte[] { 1, 2, 3 }, second.AsSpan(8, 3).ToArray());

        Assert.Equal(Errno.EINVAL, table.TryUnregister(4));
    }
}
