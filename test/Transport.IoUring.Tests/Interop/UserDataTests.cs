using System;
using System.Collections.Generic;
using Transport.IoUring.Internal;
using Xunit;

namespace Transport.IoUring.Tests.Interop;

/// <summary>user_data = kind (8 bits) | generation (24 bits) | slot (32 bits).</summary>
public sealed class UserDataTests
{
    public static TheoryData<byte, int, uint> RoundTrips => new()
    {
        { (byte)OperationKind.Wake, 0, 0 },
        { (byte)OperationKind.Accept, 1, 1 },
        { (byte)OperationKind.AcceptRetry, 12345, 0x00ABCD },
        { (byte)OperationKind.HangUpPoll, int.MaxValue, UserData.GenerationMask },
        { (byte)OperationKind.Recv, 0x12345678, 0xABCDEF },
        { (byte)OperationKind.Send, -1, 0 },                      // all 32 slot bits set
        { (byte)OperationKind.Cancel, int.MinValue, UserData.GenerationMask },
        { byte.MaxValue, int.MaxValue, UserData.GenerationMask }, // every bit set
    };

    [Theory]
    [MemberData(nameof(RoundTrips))]
    public void PackedKindSlotAndGenerationComeBackUnchanged(byte kind, int slot, uint generation)
    {
        ulong packed = UserData.Pack((OperationKind)kind, slot, generation);

        Assert.Equal((OperationKind)kind, UserData.Kind(packed));
        Assert.Equal(slot, UserData.Slot(packed));
        Assert.Equal(generation, UserData.Generation(packed));
    }

    [Fact]
    public void PackUsesTheDocumentedBitLayout()
    {
        Assert.Equal(0x05AB_CDEF_1234_5678UL, UserData.Pack(OperationKind.Recv, 0x12345678, 0xABCDEF));
        Assert.Equal(0x0100_0000_0000_0000UL, UserData.Pack(OperationKind.Wake, 0, 0));
        Assert.Equal(0x0700_0000_FFFF_FFFFUL, UserData.Pack(OperationKind.Cancel, -1, 0));
    }

    [Theory]
    [InlineData(0x0100_0000u, 0u)]
    [InlineData(0x0100_0005u, 5u)]
    [InlineData(0xFFFF_FFFFu, 0xFF_FFFFu)]
    [InlineData(0x0FFF_FFFFu, 0xFF_FFFFu)]
    public void GenerationWrapsAt24BitsWithoutTouchingKindOrSlot(uint generation, uint expected)
    {
        ulong packed = UserData.Pack(OperationKind.Send, 77, generation);

        Assert.Equal(expected, UserData.Generation(packed));
        Assert.Equal(OperationKind.Send, UserData.Kind(packed));
        Assert.Equal(77, UserData.Slot(packed));
    }

    [Fact]
    public void ConsecutiveGenerationsOfASlotAreDistinctUntilTheWrap()
    {
        ulong first = UserData.Pack(OperationKind.Recv, 9, 0);
        Assert.NotEqual(first, UserData.Pack(OperationKind.Recv, 9, 1));
        Assert.NotEqual(first, UserData.Pack(OperationKind.Recv, 9, UserData.GenerationMask));
        Assert.Equal(first, UserData.Pack(OperationKind.Recv, 9, UserData.GenerationMask + 1)); // 2^24 reuses later
    }

    [Fact]
    public void OperationKindsAreDistinctAndNonZero()
    {
        var kinds = Enum.GetValues<OperationKind>();
        Assert.Equal(kinds.Length, new HashSet<OperationKind>(kinds).Count);
        Assert.DoesNotContain((OperationKind)0, kinds); // 0 would be indistinguishable from a zeroed user_data
    }
}
