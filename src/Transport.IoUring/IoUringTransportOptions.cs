using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using Transport.IoUring.Interop;

namespace Transport.IoUring;

/// <summary>Options for the io_uring transport. Every property states its default.</summary>
public sealed class IoUringTransportOptions
{
    /// <summary>
    /// Whether Kestrel serves on io_uring. False makes every endpoint bind with Kestrel's Sockets
    /// transport (one Information line says so) without touching io_uring, so a deployment can
    /// switch it off from configuration (<c>Kestrel:Transport:IoUring:Enabled=false</c>, or the
    /// environment variable <c>Kestrel__Transport__IoUring__Enabled=false</c>). Defaults to true.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The number of ring threads, each a dedicated thread with its own io_uring that accepts and
    /// serves a share of the connections. Defaults to <see cref="Environment.ProcessorCount"/>, at
    /// most 16 (the cap of the Sockets transport's <c>IOQueueCount</c>). When RLIMIT_MEMLOCK cannot
    /// hold this many rings, fewer or smaller rings run and one warning says so.
    /// </summary>
    public int RingCount { get; set; } = Math.Min(Environment.ProcessorCount, 16);

    /// <summary>
    /// Submission queue entries per ring (a power of two, 16–32768); the completion queue gets four
    /// times as many so bursts of multishot completions do not overflow it. Defaults to 1024.
    /// </summary>
    public int RingEntries { get; set; } = 1024;

    /// <summary>How connections receive data. Defaults to <see cref="IoUringReceiveMode.BufferRing"/>.</summary>
    public IoUringReceiveMode ReceiveMode { get; set; } = IoUringReceiveMode.BufferRing;

    /// <summary>
    /// Buffers in each ring's provided-buffer ring (a power of two, 1–32768), used by
    /// <see cref="IoUringReceiveMode.BufferRing"/>. Each buffer is lent to the kernel for one receive
    /// and returned as soon as its bytes are copied into the connection's pipe. Defaults to 512.
    /// </summary>
    public int BufferRingEntries { get; set; } = 512;

    /// <summary>Size in bytes of each provided buffer (1 KiB–1 MiB). Defaults to 16384.</summary>
    public int BufferRingBufferSize { get; set; } = 16 * 1024;

    /// <summary>
    /// Bind one SO_REUSEPORT listen socket per ring, each accepted on its own ring, so the kernel
    /// spreads connections over the rings. When false, or for Unix domain sockets and inherited
    /// handles, one listen socket is accepted on by every ring. Defaults to true.
    /// </summary>
    public bool ReusePort { get; set; } = true;

    /// <summary>Set TCP_NODELAY on accepted TCP connections. Defaults to true.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>The listen backlog. Defaults to 512.</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>
    /// Bytes the transport buffers from the network before it stops receiving until the application
    /// reads (input backpressure); null or 0 means unlimited. Defaults to 1 MiB.
    /// </summary>
    public long? MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Bytes the application may write ahead of the network before its flushes wait (output
    /// backpressure); null or 0 means unlimited. Defaults to 64 KiB.
    /// </summary>
    public long? MaxWriteBufferSize { get; set; } = 64 * 1024;

    /// <summary>
    /// Run application continuations (Kestrel's parser, your middleware) inline on the ring thread
    /// instead of the thread pool. Faster when the application never blocks; a blocking call then
    /// stalls every connection of that ring. HTTP/2 connections (h2c, or ALPN h2 over TLS) keep
    /// the thread-pool runner, where their frame processing costs less. Defaults to false.
    /// </summary>
    public bool UnsafePreferInlineScheduling { get; set; }

    /// <summary>
    /// Pin ring thread i to the i-th CPU the process may run on (modulo their count), as its affinity
    /// mask says (<c>taskset</c>, a container's cpuset): under <c>taskset -c 2,3</c> ring 0 runs on CPU 2.
    /// Defaults to false.
    /// </summary>
    public bool PinRingThreads { get; set; }

    /// <summary>When set, the rings are planned against this RLIMIT_MEMLOCK instead of the process's (tests).</summary>
    internal long? SimulatedLockedMemoryLimit { get; set; }

    /// <summary>
    /// io_uring kernel features the transport must not use even where the kernel offers them,
    /// comma-separated, by the names the start-up log line lists (e.g.
    /// <c>"ReceiveBundle,IncrementalBuffers"</c>): a way around a kernel that misbehaves with one of
    /// them, and a way to compare paths side by side. The transport then runs the code path it runs
    /// on a kernel without them. Unknown names fail validation. Defaults to null: everything the
    /// kernel offers.
    /// </summary>
    public string? DisabledKernelFeatures { get; set; }

    /// <summary>
    /// Kernel features switched off: those set here (tests run an older kernel's code path this way)
    /// and those named by <see cref="DisabledKernelFeatures"/>.
    /// </summary>
    internal RingFeatures DisabledFeatures
    {
        get => _disabledFeatures | ParseKernelFeatures(DisabledKernelFeatures, out _);
        set => _disabledFeatures = value;
    }

    private RingFeatures _disabledFeatures;

    /// <summary>The features <paramref name="names"/> lists; <paramref name="unknown"/> gets the names that are none.</summary>
    internal static RingFeatures ParseKernelFeatures(string? names, out List<string> unknown)
    {
        unknown = [];
        var features = RingFeatures.None;
        if (string.IsNullOrWhiteSpace(names))
        {
            return features;
        }

        foreach (string name in names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Enum.TryParse<RingFeatures>(name, ignoreCase: true, out var feature) && !int.TryParse(name, out _) && feature != RingFeatures.None)
            {
                features |= feature;
            }
            else
            {
                unknown.Add(name);
            }
        }

        return features;
    }

    /// <summary>When not 0, io_uring_setup is treated as failing with this errno (tests of the Sockets fallback).</summary>
    internal int SimulatedSetupErrno { get; set; }

    /// <summary>When set, the probe treats the kernel as lacking this io_uring opcode (tests of the Sockets fallback).</summary>
    internal byte? SimulatedMissingOpcode { get; set; }

    /// <summary>
    /// When not 0, every <see cref="SimulatedEnterErrorInterval"/>-th io_uring_enter of a ring
    /// returns -errno without entering the kernel (tests of EINTR/EAGAIN/EBUSY handling).
    /// </summary>
    internal int SimulatedEnterErrno { get; set; }

    internal int SimulatedEnterErrorInterval { get; set; }

    /// <summary>
    /// How often each ring's memory pool releases idle slabs (<see cref="Internal.PoolEviction"/>);
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>: never by itself (tests evict by hand).
    /// Defaults to 10 s, Kestrel's eviction period.
    /// </summary>
    internal TimeSpan MemoryPoolEvictionPeriod { get; set; } = Internal.PoolEviction.DefaultPeriod;

    /// <summary>
    /// The host's meter factory, which the transport's metrics are created with; set from the service
    /// provider by <c>UseIoUring</c> (<see cref="Internal.MeterFactoryOptionsSetup"/>). Null: no metrics.
    /// A field, not a property: the configuration binder (reflection or source-generated) binds
    /// properties only, and a service has no place among bindable settings.
    /// </summary>
    internal IMeterFactory? MeterFactory;

    /// <summary>
    /// Keys under the configuration section that no option binds (set by
    /// <see cref="Internal.UnknownConfigurationKeys"/>; the factory warns once). A field, like <see cref="MeterFactory"/>.
    /// </summary>
    internal string[]? UnknownConfigurationKeys;

    /// <summary>A copy for one ring, with the ring and buffer-ring sizes its memory plan gives it.</summary>
    internal IoUringTransportOptions CopyForRing(int ringEntries, int bufferRingEntries)
    {
        var copy = (IoUringTransportOptions)MemberwiseClone();
        copy.RingEntries = ringEntries;
        if (bufferRingEntries > 0)
        {
            copy.BufferRingEntries = bufferRingEntries;
        }

        return copy;
    }
}

/// <summary>How an io_uring connection receives data.</summary>
public enum IoUringReceiveMode
{
    /// <summary>
    /// One multishot recv per connection picks buffers from a provided-buffer ring shared by the
    /// ring's connections; each completion is copied into the input pipe and its buffer returned at
    /// once. No SQE per read. Needs Linux 6.0 (5.19 with single-shot recv); falls back to
    /// <see cref="PollAndReceive"/> on older kernels.
    /// </summary>
    BufferRing,

    /// <summary>
    /// A multishot poll per connection says when data is ready, then a recv writes straight into the
    /// input pipe's memory: no copy, and no memory held by idle connections. Needs Linux 5.13
    /// (single-shot poll before that).
    /// </summary>
    PollAndReceive,
}
