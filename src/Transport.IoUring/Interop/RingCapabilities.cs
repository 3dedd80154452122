using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Transport.IoUring.Interop;

/// <summary>Kernel features a ring may use. Tests switch them off to run the older-kernel code paths here.</summary>
[Flags]
internal enum RingFeatures
{
    None = 0,
    SingleIssuer = 1 << 0,        // 6.0
    DeferTaskrun = 1 << 1,        // 6.1
    CoopTaskrun = 1 << 2,         // 5.19
    SubmitAll = 1 << 3,           // 5.18
    RegisteredRingFd = 1 << 4,    // 5.18
    MultishotAccept = 1 << 5,     // 5.19
    MultishotPoll = 1 << 6,       // 5.13
    MultishotRecv = 1 << 7,       // 6.0
    ProvidedBufferRing = 1 << 8,  // 5.19
    RegisteredBuffers = 1 << 9,   // 5.19: sparse table (IORING_RSRC_REGISTER_SPARSE) updated per slab
    ReceiveBundle = 1 << 10,      // 6.10: IORING_RECVSEND_BUNDLE on receives from the buffer ring
    IncrementalBuffers = 1 << 11, // 6.12: IOU_PBUF_RING_INC, a provided buffer consumed in parts
    All = (1 << 12) - 1,
}

/// <summary>
/// What io_uring can do on this machine, probed once per process: which setup flags a ring accepts
/// (tried newest first), the kernel's feature word, and which opcodes IORING_REGISTER_PROBE lists.
/// </summary>
internal sealed unsafe class RingCapabilities
{
    // Opcodes without which the transport cannot run at all.
    private static readonly byte[] s_requiredOpcodes =
    [
        Opcode.Nop, Opcode.PollAdd, Opcode.SendMsg, Opcode.Accept, Opcode.AsyncCancel,
        Opcode.Read, Opcode.Send, Opcode.Recv, Opcode.Timeout,
    ];

    private static readonly Lazy<RingCapabilities> s_probed = new(() => Probe(simulatedSetupErrno: 0));

    private RingCapabilities()
    {
    }

    /// <summary>True when io_uring can serve connections here.</summary>
    public bool IsSupported { get; private set; }

    /// <summary>Why io_uring cannot be used, when <see cref="IsSupported"/> is false.</summary>
    public string? UnavailableReason { get; private set; }

    /// <summary>The errno that made io_uring unusable (0 when the reason is not an errno).</summary>
    public int Errno { get; private set; }

    public Version KernelVersion { get; private set; } = new(0, 0);
    public RingFeatures Available { get; private set; }
    public uint KernelFeatureWord { get; private set; }
    public bool SendZc { get; private set; }

    public static RingCapabilities Current => s_probed.Value;

    /// <summary>
    /// Probes the kernel. <paramref name="simulatedSetupErrno"/> makes io_uring_setup fail as it
    /// would under seccomp (EPERM) or on an old kernel (ENOSYS); <paramref name="simulatedMissingOpcode"/>
    /// removes one opcode from what the kernel reports, as on a kernel that lacks it (tests).
    /// </summary>
    public static RingCapabilities Probe(int simulatedSetupErrno, byte? simulatedMissingOpcode = null)
    {
        var caps = new RingCapabilities { KernelVersion = ReadKernelVersion() };
        if (!OperatingSystem.IsLinux())
        {
            caps.UnavailableReason = "io_uring exists only on Linux";
            return caps;
        }

        if (simulatedSetupErrno != 0)
        {
            return caps.Unavailable(simulatedSetupErrno);
        }

        // Newest first: the first set the kernel accepts tells which flags exist.
        (uint Flags, RingFeatures Features)[] attempts =
        [
            (SetupFlags.SingleIssuer | SetupFlags.DeferTaskrun | SetupFlags.SubmitAll, RingFeatures.SingleIssuer | RingFeatures.DeferTaskrun | RingFeatures.SubmitAll),
            (SetupFlags.SingleIssuer | SetupFlags.CoopTaskrun | SetupFlags.SubmitAll, RingFeatures.SingleIssuer | RingFeatures.CoopTaskrun | RingFeatures.SubmitAll),
            (SetupFlags.CoopTaskrun | SetupFlags.SubmitAll, RingFeatures.CoopTaskrun | RingFeatures.SubmitAll),
            (SetupFlags.SubmitAll, RingFeatures.SubmitAll),
            (0, RingFeatures.None),
        ];

        Ring? ring = null;
        int errno = 0;
        foreach (var (flags, features) in attempts)
        {
            ring = Ring.TryCreate(8, 16, flags, out errno);
            if (ring is not null)
            {
                caps.Available = features;
                break;
            }

            if (errno != Interop.Errno.EINVAL)
            {
                break; // EPERM, ENOSYS, ENOMEM: no flag set will help
            }
        }

        if (ring is null)
        {
            return caps.Unavailable(errno);
        }

        using (ring)
        {
            caps.KernelFeatureWord = ring.Features;
            if ((ring.Features & Features.SingleMmap) == 0 || (ring.Features & Features.NoDrop) == 0)
            {
                caps.UnavailableReason = $"kernel {caps.KernelVersion} lacks IORING_FEAT_SINGLE_MMAP/NODROP (io_uring before 5.5)";
                return caps;
            }

            var ops = ProbeOpcodes(ring);
            if (ops is not null && simulatedMissingOpcode is byte missing)
            {
                ops.Remove(missing);
            }

            if (ops is null)
            {
                caps.UnavailableReason = $"IORING_REGISTER_PROBE failed on kernel {caps.KernelVersion} (io_uring before 5.6)";
                return caps;
            }

            foreach (byte op in s_requiredOpcodes)
            {
                if (!ops.Contains(op))
                {
                    caps.UnavailableReason = $"kernel {caps.KernelVersion} lacks io_uring opcode {op}";
                    return caps;
                }
            }

            // Flags carried inside opcodes have no probe of their own; opcodes and feature bits that
            // arrived in the same release stand in for them.
            if ((ring.Features & Features.RsrcTags) != 0)
            {
                caps.Available |= RingFeatures.MultishotPoll;        // 5.13
            }

            if (ops.Contains(Opcode.Socket))
            {
                caps.Available |= RingFeatures.MultishotAccept;      // 5.19
            }

            if (ops.Contains(Opcode.SendZc))
            {
                caps.Available |= RingFeatures.MultishotRecv;        // 6.0
                caps.SendZc = true;
            }

            if (ring.TryRegisterRingFd())
            {
                caps.Available |= RingFeatures.RegisteredRingFd;
            }

            if (ProvidedBufferRing.IsSupported(ring))
            {
                caps.Available |= RingFeatures.ProvidedBufferRing;

                // Bundles came with their own feature bit (6.10); incremental consumption is a
                // registration flag that older kernels refuse with EINVAL (6.12).
                if ((ring.Features & Features.RecvSendBundle) != 0)
                {
                    caps.Available |= RingFeatures.ReceiveBundle;
                }

                if (ProvidedBufferRing.IsSupported(ring, incremental: true))
                {
                    caps.Available |= RingFeatures.IncrementalBuffers;
                }
            }

            using (var table = RegisteredBufferTable.TryCreate(ring, 1, out _))
            {
                if (table is not null)
                {
                    caps.Available |= RingFeatures.RegisteredBuffers;
                }
            }
        }

        caps.IsSupported = true;
        return caps;
    }

    /// <summary>
    /// The io_uring_setup flags for a ring that may use <paramref name="features"/>, and the features
    /// it really gets with them: DEFER_TASKRUN needs SINGLE_ISSUER and replaces COOP_TASKRUN.
    /// </summary>
    public static uint SetupFlagsFor(RingFeatures features, out RingFeatures inUse)
    {
        uint flags = 0;
        if ((features & RingFeatures.SingleIssuer) != 0)
        {
            flags |= SetupFlags.SingleIssuer;
        }

        if ((features & RingFeatures.DeferTaskrun) != 0 && (features & RingFeatures.SingleIssuer) != 0)
        {
            flags |= SetupFlags.DeferTaskrun;
            features &= ~RingFeatures.CoopTaskrun;
        }
        else if ((features & RingFeatures.CoopTaskrun) != 0)
        {
            flags |= SetupFlags.CoopTaskrun;
            features &= ~RingFeatures.DeferTaskrun;
        }
        else
        {
            features &= ~RingFeatures.DeferTaskrun;
        }

        if ((features & RingFeatures.SubmitAll) != 0)
        {
            flags |= SetupFlags.SubmitAll;
        }

        inUse = features;
        return flags;
    }

    /// <summary>Names of the features in <paramref name="features"/>, for the start-up log line.</summary>
    public static string Describe(RingFeatures features)
    {
        var names = new List<string>();
        foreach (RingFeatures f in Enum.GetValues<RingFeatures>())
        {
            if (f != RingFeatures.None && f != RingFeatures.All && (features & f) == f)
            {
                names.Add(f.ToString());
            }
        }

        return names.Count == 0 ? "none" : string.Join(", ", names);
    }

    private RingCapabilities Unavailable(int errno)
    {
        Errno = errno;
        UnavailableReason = errno switch
        {
            Interop.Errno.ENOSYS => $"io_uring_setup returned ENOSYS: kernel {KernelVersion} has no io_uring (5.1+ required, 5.19+ for full speed)",
            Interop.Errno.EPERM => "io_uring_setup returned EPERM: io_uring is blocked by a seccomp profile (Docker's default profile blocks it; run with a profile that allows io_uring_setup/enter/register) or by kernel.io_uring_disabled=2 / io_uring_group",
            Interop.Errno.ENOMEM => "io_uring_setup returned ENOMEM: the ring could not be allocated; for a process without CAP_IPC_LOCK its memory is charged to RLIMIT_MEMLOCK",
            Interop.Errno.EACCES => "io_uring_setup returned EACCES: io_uring is restricted by kernel.io_uring_disabled / io_uring_group",
            _ => $"io_uring_setup failed: {LibC.Describe(errno)}",
        };
        return this;
    }

    private static HashSet<byte>? ProbeOpcodes(Ring ring)
    {
        const int MaxOps = 256;
        int size = sizeof(ProbeHeader) + MaxOps * sizeof(ProbeOp);
        byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)size);
        try
        {
            if (ring.Register(RegisterOp.RegisterProbe, buffer, MaxOps) < 0)
            {
                return null;
            }

            var header = (ProbeHeader*)buffer;
            var ops = (ProbeOp*)(buffer + sizeof(ProbeHeader));
            var result = new HashSet<byte>();
            for (int i = 0; i < header->OpsLen; i++)
            {
                if ((ops[i].Flags & ProbeOpFlags.Supported) != 0)
                {
                    result.Add(ops[i].Op);
                }
            }

            return result;
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    private static Version ReadKernelVersion()
    {
        // Environment.OSVersion on Linux is the kernel release (uname -r) parsed to numbers.
        var v = Environment.OSVersion.Version;
        return new Version(v.Major, Math.Max(v.Minor, 0));
    }
}
