using System;
using System.Globalization;
using System.IO;
using System.Runtime.CompilerServices;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// How many rings of which size to create so that their locked memory fits RLIMIT_MEMLOCK.
/// </summary>
/// <remarks>
/// On the kernels measured (6.18; docs/configuration.md, "Locked memory"), a ring created by a
/// process without CAP_IPC_LOCK charges RLIMIT_MEMLOCK, page by page, for: the SQ/CQ ring region
/// (the CQEs and the SQ index array), the SQE array, the provided-buffer ring's descriptors, and
/// every registered buffer. The charge is made to the user, summed over all of that user's
/// processes, against the limit of the process creating the ring. The provided buffers themselves
/// are ordinary memory and are not charged. Registered pipe-memory slabs (PollAndReceive) are not
/// planned: they take what the rings leave, and a slab that does not fit is read with plain recv.
/// </remarks>
internal sealed class RingMemoryPlan
{
    /// <summary>The smallest ring the plan will create (the options' minimum).</summary>
    public const int MinimumRingEntries = 16;

    // A budget that is short first costs ring size, down to this many SQ entries, before it costs
    // rings: four times as many CQEs still take a burst of multishot completions, and a full SQ
    // only means an extra io_uring_enter.
    private const int ReducedRingEntriesFloor = 256;

    // One page of buffer descriptors: the least a provided-buffer ring is charged.
    private const int MinimumBufferRingEntries = 256;

    // struct io_rings up to cqes[]: the SQ and CQ head/tail each on a cache line of their own, then
    // masks, counts and flags; the CQE array starts on the next cache line (cq_off.cqes = 192).
    private const int RingsHeaderBytes = 192;
    private const int CacheLine = 64;
    // The kernel structs' sizes, from their header-checked layouts in Interop/.
    private static readonly int CqeBytes = Unsafe.SizeOf<Cqe>();
    private static readonly int SqeBytes = Unsafe.SizeOf<Sqe>();
    private static readonly int BufferDescriptorBytes = Unsafe.SizeOf<BufRingEntry>();
    private const int SqIndexBytes = sizeof(uint);

    private RingMemoryPlan(long? limitBytes, int ringCount, int ringEntries, int bufferRingEntries, long bytesPerRing, int requestedRingCount, int requestedRingEntries, long requestedBytes, bool limitShared = false)
    {
        LimitShared = limitShared;
        LimitBytes = limitBytes;
        RingCount = ringCount;
        RingEntries = ringEntries;
        BufferRingEntries = bufferRingEntries;
        BytesPerRing = bytesPerRing;
        RequestedRingCount = requestedRingCount;
        RequestedRingEntries = requestedRingEntries;
        RequestedBytes = requestedBytes;
    }

    /// <summary>RLIMIT_MEMLOCK in bytes, or null when ring memory is not limited (CAP_IPC_LOCK or RLIM_INFINITY).</summary>
    public long? LimitBytes { get; }

    /// <summary>Rings to create; 0 when not even one minimal ring fits.</summary>
    public int RingCount { get; }

    /// <summary>SQ entries per ring (the CQ gets four times as many).</summary>
    public int RingEntries { get; }

    /// <summary>Provided-buffer ring entries per ring (0 when the rings use none).</summary>
    public int BufferRingEntries { get; }

    /// <summary>Locked memory each planned ring is charged.</summary>
    public long BytesPerRing { get; }

    /// <summary>Locked memory all planned rings are charged.</summary>
    public long PlannedBytes => RingCount * BytesPerRing;

    public int RequestedRingCount { get; }

    public int RequestedRingEntries { get; }

    /// <summary>Locked memory the rings the options ask for would be charged.</summary>
    public long RequestedBytes { get; }

    /// <summary>
    /// True when rings the plan fitted could not be created (ENOMEM): other processes of the same
    /// user, or rings still being freed, hold part of the limit.
    /// </summary>
    public bool LimitShared { get; }

    /// <summary>True when the plan creates fewer or smaller rings than the options ask for.</summary>
    public bool IsReduced => RingCount < RequestedRingCount || RingEntries < RequestedRingEntries;

    /// <summary>
    /// The locked memory one ring is charged: its ring region and SQE array, and its
    /// provided-buffer ring's descriptors (<paramref name="bufferRingEntries"/> 0: none), each
    /// rounded up to whole pages.
    /// </summary>
    public static long BytesForRing(int ringEntries, int bufferRingEntries, int pageSize)
    {
        long cqEntries = 4L * ringEntries;
        long rings = AlignUp(AlignUp(RingsHeaderBytes + cqEntries * CqeBytes, CacheLine) + (long)ringEntries * SqIndexBytes, pageSize);
        long sqes = AlignUp((long)ringEntries * SqeBytes, pageSize);
        long bufferRing = bufferRingEntries > 0 ? AlignUp((long)bufferRingEntries * BufferDescriptorBytes, pageSize) : 0;
        return rings + sqes + bufferRing;
    }

    /// <summary>
    /// Plans the rings <paramref name="options"/> ask for against <paramref name="limitBytes"/>:
    /// as asked when they fit; otherwise smaller rings (down to 256 entries), then fewer rings,
    /// then one ring smaller still; no ring when not even the minimal one fits.
    /// </summary>
    public static RingMemoryPlan Create(IoUringTransportOptions options, bool usesBufferRing, long? limitBytes, int pageSize)
    {
        int count = options.RingCount;
        int entries = options.RingEntries;
        int bufferEntries = usesBufferRing ? options.BufferRingEntries : 0;
        long requested = count * BytesForRing(entries, bufferEntries, pageSize);

        RingMemoryPlan Plan(int n, int e, int b) => new(limitBytes, n, e, b, BytesForRing(e, b, pageSize), count, options.RingEntries, requested);

        if (limitBytes is not long limit || requested <= limit)
        {
            return Plan(count, entries, bufferEntries);
        }

        int floor = Math.Min(entries, ReducedRingEntriesFloor);
        while (entries > floor && count * BytesForRing(entries, bufferEntries, pageSize) > limit)
        {
            entries /= 2;
        }

        long perRing = BytesForRing(entries, bufferEntries, pageSize);
        if (perRing <= limit)
        {
            return Plan((int)Math.Min(count, limit / perRing), entries, bufferEntries);
        }

        bufferEntries = Math.Min(bufferEntries, MinimumBufferRingEntries);
        while (entries > MinimumRingEntries && BytesForRing(entries, bufferEntries, pageSize) > limit)
        {
            entries /= 2;
        }

        return Plan(BytesForRing(entries, bufferEntries, pageSize) <= limit ? 1 : 0, entries, bufferEntries);
    }

    /// <summary>
    /// Plans the rings of <paramref name="options"/> on a kernel with <paramref name="capabilities"/>
    /// against this process's RLIMIT_MEMLOCK (or the options' simulated one).
    /// </summary>
    public static RingMemoryPlan ForProcess(IoUringTransportOptions options, RingCapabilities capabilities)
    {
        // When the probe itself failed (memlock 0 fails it), plan what a working kernel would use.
        var available = capabilities.IsSupported ? capabilities.Available : RingFeatures.All;
        bool usesBufferRing = options.ReceiveMode == IoUringReceiveMode.BufferRing
            && (available & ~options.DisabledFeatures & RingFeatures.ProvidedBufferRing) != 0;
        long? limit = options.SimulatedLockedMemoryLimit is long simulated ? simulated : ReadLimit();
        return Create(options, usesBufferRing, limit, Environment.SystemPageSize);
    }

    /// <summary>
    /// <paramref name="failure"/> (an ENOMEM from io_uring) with what it means on the kernels
    /// measured: the limit, what the rings need and how to raise it.
    /// </summary>
    public string DescribeLockedMemoryFailure(string failure)
    {
        if (LimitBytes is null)
        {
            return $"{failure} (RLIMIT_MEMLOCK does not limit this process: the kernel is out of memory)";
        }

        return RingCount == 0
            ? $"{failure}. {DescribeShortfall()}"
            : $"{failure}. The rings fit RLIMIT_MEMLOCK ({LimitBytes} bytes) only without what the user's other processes have locked. Raise RLIMIT_MEMLOCK (systemd LimitMEMLOCK=, docker run --ulimit memlock=, ulimit -l) or grant CAP_IPC_LOCK.";
    }

    /// <summary>
    /// The locked memory this process may use for rings: RLIMIT_MEMLOCK, or null when it is
    /// unlimited or the process has CAP_IPC_LOCK (the kernel then charges nothing).
    /// </summary>
    public static long? ReadLimit()
    {
        long limit = LibC.LockedMemoryLimit();
        return limit == long.MaxValue || (HasCapability(LibC.CAP_IPC_LOCK) && InInitialUserNamespace()) ? null : limit;
    }

    /// <summary>
    /// The start of the warning or fallback reason: the limit, what the configured rings need,
    /// and how to lift the limit.
    /// </summary>
    public string DescribeShortfall()
    {
        string fix = $"Raise RLIMIT_MEMLOCK to at least {RequestedBytes} bytes (systemd LimitMEMLOCK=, docker run --ulimit memlock=, ulimit -l) or grant CAP_IPC_LOCK.";
        string need = $"RLIMIT_MEMLOCK is {LimitBytes} bytes and the process lacks CAP_IPC_LOCK, while {RequestedRingCount} ring(s) of {RequestedRingEntries} entries need {RequestedBytes} bytes of locked memory";
        if (LimitShared)
        {
            return $"{need}, and the user's other processes (the kernel charges the user, not the process) hold part of the limit; running {RingCount} ring(s) of {RingEntries} entries ({PlannedBytes} bytes) instead. "
                + $"Raise RLIMIT_MEMLOCK to at least {RequestedBytes} bytes plus what the user's other processes lock (systemd LimitMEMLOCK=, docker run --ulimit memlock=, ulimit -l), run them as different users, or grant CAP_IPC_LOCK.";
        }

        return RingCount == 0
            ? $"{need}, and not even one ring of {RingEntries} entries ({BytesPerRing} bytes) fits. {fix}"
            : $"{need}; running {RingCount} ring(s) of {RingEntries} entries ({PlannedBytes} bytes) instead. {fix}";
    }

    /// <summary>This plan with only the first <paramref name="ringCount"/> rings (the rest could not be created).</summary>
    public RingMemoryPlan WithRingCount(int ringCount) =>
        new(LimitBytes, ringCount, RingEntries, BufferRingEntries, BytesPerRing, RequestedRingCount, RequestedRingEntries, RequestedBytes, limitShared: true);

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    // The kernel asks whether the process has CAP_IPC_LOCK in the initial user namespace: root in a
    // rootless container has the bit in CapEff and is charged all the same.
    private static bool InInitialUserNamespace()
    {
        try
        {
            string[] map = File.ReadAllText("/proc/self/uid_map").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return map.Length == 3 && map[0] == "0" && map[1] == "0" && map[2] == "4294967295";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool HasCapability(int capability)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                {
                    ulong effective = ulong.Parse(line.AsSpan("CapEff:".Length).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    return (effective & (1UL << capability)) != 0;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
        }

        return false;
    }
}
