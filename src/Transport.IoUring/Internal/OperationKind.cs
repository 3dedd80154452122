using System.Runtime.CompilerServices;

namespace Transport.IoUring.Internal;

/// <summary>What a submission was for; the top byte of its user_data.</summary>
internal enum OperationKind : byte
{
    Wake = 1,           // read on the ring's eventfd (slot 0, generation 0)
    Accept = 2,         // slot = acceptor
    AcceptRetry = 3,    // timeout before re-arming an accept after EMFILE/ENFILE
    HangUpPoll = 4,     // slot = connection. BufferRing: POLLRDHUP only, reports FIN/RST
    Recv = 5,
    Send = 6,
    Cancel = 7,         // slot and generation of the request it cancels; its CQE is ignored
    ReadinessPoll = 8,  // PollAndReceive: POLLIN|POLLRDHUP, reports data (and FIN/RST)
}

/// <summary>
/// A connection or an acceptor: what owns a slot of a ring (<see cref="RingSlots"/>) and receives
/// the completions addressed to it. Ring thread only.
/// </summary>
internal interface IRingSlotOwner
{
    /// <summary>A completion of one of this owner's requests (its slot and generation matched).</summary>
    void OnCompletion(OperationKind kind, in Interop.Completion completion);

    /// <summary>The ring is stopping: end whatever is in flight; the ring waits for the slot to be freed.</summary>
    void OnRingStopping();
}

/// <summary>
/// user_data layout: kind (8 bits) | generation (24 bits) | slot (32 bits). A slot's generation
/// changes every time it is reused, so a completion that arrives for a connection that is gone is
/// recognised and dropped instead of reaching the connection that took its slot.
/// </summary>
internal static class UserData
{
    public const uint GenerationMask = 0xFFFFFF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Pack(OperationKind kind, int slot, uint generation)
        => ((ulong)kind << 56) | ((ulong)(generation & GenerationMask) << 32) | (uint)slot;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static OperationKind Kind(ulong userData) => (OperationKind)(userData >> 56);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Slot(ulong userData) => (int)(uint)userData;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Generation(ulong userData) => (uint)(userData >> 32) & GenerationMask;
}
