using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Transport.IoUring.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Interop;

/// <summary>
/// Every struct and constant of the interop layer against the C headers of this machine: a C
/// program is generated, compiled with <c>cc</c> and run once for the class (see <see cref="KernelHeaderProbe"/>).
/// </summary>
public sealed class InteropLayoutTests : IClassFixture<InteropLayoutTests.HeaderValues>
{
    private readonly IReadOnlyDictionary<string, long> _c;
    private readonly ITestOutputHelper _output;

    public InteropLayoutTests(HeaderValues header, ITestOutputHelper output)
    {
        _c = header.Values;
        _output = output;
    }

    /// <summary>
    /// A C# field and the C member it mirrors. <see cref="Aliases"/> are other members of the same
    /// anonymous union that the transport writes through this field: they must start at the same
    /// offset and fit in it.
    /// </summary>
    public sealed record FieldMap(string CSharpName, string CMember, params string[] Aliases);

    public sealed record StructMap(Type Type, string CType, params FieldMap[] Fields);

    public static readonly StructMap[] Structs =
    [
        new(typeof(Sqe), "struct io_uring_sqe",
            new("Opcode", "opcode"),
            new("Flags", "flags"),
            new("IoPrio", "ioprio"),
            new("Fd", "fd"),
            new("Off", "off", "addr2", "cmd_op"),
            new("Addr", "addr", "splice_off_in"),
            new("Len", "len"),
            new("OpFlags", "msg_flags", "rw_flags", "poll32_events", "poll_events", "timeout_flags", "accept_flags", "cancel_flags"),
            new("UserData", "user_data"),
            new("BufIndex", "buf_index", "buf_group"),
            new("Personality", "personality"),
            new("FileIndex", "file_index", "splice_fd_in", "addr_len"),
            new("Addr3", "addr3"),
            new("Pad2", "__pad2")),
        new(typeof(Cqe), "struct io_uring_cqe",
            new("UserData", "user_data"),
            new("Res", "res"),
            new("Flags", "flags")),
        new(typeof(SqRingOffsets), "struct io_sqring_offsets",
            new("Head", "head"),
            new("Tail", "tail"),
            new("RingMask", "ring_mask"),
            new("RingEntries", "ring_entries"),
            new("Flags", "flags"),
            new("Dropped", "dropped"),
            new("Array", "array"),
            new("Resv1", "resv1"),
            new("UserAddr", "{user_addr|resv2}")), // resv2 before 6.5
        new(typeof(CqRingOffsets), "struct io_cqring_offsets",
            new("Head", "head"),
            new("Tail", "tail"),
            new("RingMask", "ring_mask"),
            new("RingEntries", "ring_entries"),
            new("Overflow", "overflow"),
            new("Cqes", "cqes"),
            new("Flags", "flags"),
            new("Resv1", "resv1"),
            new("UserAddr", "{user_addr|resv2}")),
        new(typeof(IoUringParams), "struct io_uring_params",
            new("SqEntries", "sq_entries"),
            new("CqEntries", "cq_entries"),
            new("Flags", "flags"),
            new("SqThreadCpu", "sq_thread_cpu"),
            new("SqThreadIdle", "sq_thread_idle"),
            new("Features", "features"),
            new("WqFd", "wq_fd"),
            new("Resv", "resv"),
            new("SqOff", "sq_off"),
            new("CqOff", "cq_off")),
        new(typeof(ProbeOp), "struct io_uring_probe_op",
            new("Op", "op"),
            new("Resv", "resv"),
            new("Flags", "flags"),
            new("Resv2", "resv2")),
        new(typeof(ProbeHeader), "struct io_uring_probe",
            new("LastOp", "last_op"),
            new("OpsLen", "ops_len"),
            new("Resv", "resv"),
            new("Resv2", "resv2")),
        new(typeof(BufRingEntry), "struct io_uring_buf",
            new("Addr", "addr"),
            new("Len", "len"),
            new("Bid", "bid"),
            new("Resv", "resv")),
        new(typeof(BufRingRegistration), "struct io_uring_buf_reg",
            new("RingAddr", "ring_addr"),
            new("RingEntries", "ring_entries"),
            new("Bgid", "bgid"),
            new("Pad", "{flags|pad}"), // pad before the kernel-allocated ring flags
            new("Resv", "resv")),
        new(typeof(RsrcUpdate), "struct io_uring_rsrc_update",
            new("Offset", "offset"),
            new("Resv", "resv"),
            new("Data", "data")),
        new(typeof(RsrcRegister), "struct io_uring_rsrc_register",
            new("Nr", "nr"),
            new("Flags", "flags"),
            new("Resv2", "resv2"),
            new("Data", "data"),
            new("Tags", "tags")),
        new(typeof(RsrcUpdate2), "struct io_uring_rsrc_update2",
            new("Offset", "offset"),
            new("Resv", "resv"),
            new("Data", "data"),
            new("Tags", "tags"),
            new("Nr", "nr"),
            new("Resv2", "resv2")),
        new(typeof(KernelTimespec), "struct __kernel_timespec",
            new("Sec", "tv_sec"),
            new("Nsec", "tv_nsec")),
        new(typeof(IoVec), "struct iovec",
            new("Base", "iov_base"),
            new("Length", "iov_len")),
        new(typeof(MsgHdr), "struct msghdr",
            new("Name", "msg_name"),
            new("NameLen", "msg_namelen"),
            new("Iov", "msg_iov"),
            new("IovLen", "msg_iovlen"),
            new("Control", "msg_control"),
            new("ControlLen", "msg_controllen"),
            new("Flags", "msg_flags")),
        new(typeof(Linger), "struct linger",
            new("OnOff", "l_onoff"),
            new("Seconds", "l_linger")),
    ];

    /// <summary>The classes whose constants are compared; each constant's C name, where it differs from the C# name.</summary>
    public static readonly (Type Type, Func<string, string> CName)[] ConstantClasses =
    [
        (typeof(SysCallNumbers), name => name switch
        {
            "IoUringSetup" => "__NR_io_uring_setup",
            "IoUringEnter" => "__NR_io_uring_enter",
            "IoUringRegister" => "__NR_io_uring_register",
            _ => Unmapped(name),
        }),
        (typeof(Opcode), name => "IORING_OP_" + name switch
        {
            "PollAdd" => "POLL_ADD",
            "PollRemove" => "POLL_REMOVE",
            "SendMsg" => "SENDMSG",
            "AsyncCancel" => "ASYNC_CANCEL",
            "SendZc" => "SEND_ZC",
            "SendMsgZc" => "SENDMSG_ZC",
            "ReadFixed" => "READ_FIXED",
            _ => name.ToUpperInvariant(),   // Socket → IORING_OP_SOCKET
        }),
        (typeof(SqeFlags), name => name switch
        {
            "FixedFile" => "IOSQE_FIXED_FILE",
            "IoDrain" => "IOSQE_IO_DRAIN",
            "IoLink" => "IOSQE_IO_LINK",
            "IoHardLink" => "IOSQE_IO_HARDLINK",
            "Async" => "IOSQE_ASYNC",
            "BufferSelect" => "IOSQE_BUFFER_SELECT",
            "CqeSkipSuccess" => "IOSQE_CQE_SKIP_SUCCESS",
            _ => Unmapped(name),
        }),
        (typeof(SetupFlags), name => "IORING_SETUP_" + name switch
        {
            "CqSize" => "CQSIZE",
            "Clamp" => "CLAMP",
            "SubmitAll" => "SUBMIT_ALL",
            "CoopTaskrun" => "COOP_TASKRUN",
            "TaskrunFlag" => "TASKRUN_FLAG",
            "SingleIssuer" => "SINGLE_ISSUER",
            "DeferTaskrun" => "DEFER_TASKRUN",
            _ => Unmapped(name),
        }),
        (typeof(Features), name => "IORING_FEAT_" + name switch
        {
            "SingleMmap" => "SINGLE_MMAP",
            "NoDrop" => "NODROP",
            "SubmitStable" => "SUBMIT_STABLE",
            "FastPoll" => "FAST_POLL",
            "ExtArg" => "EXT_ARG",
            "NativeWorkers" => "NATIVE_WORKERS",
            "RsrcTags" => "RSRC_TAGS",
            "CqeSkip" => "CQE_SKIP",
            "LinkedFile" => "LINKED_FILE",
            "RecvSendBundle" => "RECVSEND_BUNDLE",
            _ => Unmapped(name),
        }),
        (typeof(MmapOffsets), name => name switch
        {
            "SqRing" => "IORING_OFF_SQ_RING",
            "CqRing" => "IORING_OFF_CQ_RING",
            "Sqes" => "IORING_OFF_SQES",
            _ => Unmapped(name),
        }),
        (typeof(SqRingFlags), name => name switch
        {
            "NeedWakeup" => "IORING_SQ_NEED_WAKEUP",
            "CqOverflow" => "IORING_SQ_CQ_OVERFLOW",
            "TaskRun" => "IORING_SQ_TASKRUN",
            _ => Unmapped(name),
        }),
        (typeof(ProbeOpFlags), name => name switch
        {
            "Supported" => "IO_URING_OP_SUPPORTED",
            _ => Unmapped(name),
        }),
        (typeof(EnterFlags), name => name switch
        {
            "GetEvents" => "IORING_ENTER_GETEVENTS",
            "RegisteredRing" => "IORING_ENTER_REGISTERED_RING",
            _ => Unmapped(name),
        }),
        (typeof(RegisterOp), name => name switch
        {
            "RegisterBuffers" => "IORING_REGISTER_BUFFERS",
            "UnregisterBuffers" => "IORING_UNREGISTER_BUFFERS",
            "RegisterProbe" => "IORING_REGISTER_PROBE",
            "RegisterBuffers2" => "IORING_REGISTER_BUFFERS2",
            "RegisterBuffersUpdate" => "IORING_REGISTER_BUFFERS_UPDATE",
            "RegisterRingFds" => "IORING_REGISTER_RING_FDS",
            "UnregisterRingFds" => "IORING_UNREGISTER_RING_FDS",
            "RegisterPbufRing" => "IORING_REGISTER_PBUF_RING",
            "UnregisterPbufRing" => "IORING_UNREGISTER_PBUF_RING",
            _ => Unmapped(name),
        }),
        (typeof(CqeFlags), name => name switch
        {
            "Buffer" => "IORING_CQE_F_BUFFER",
            "More" => "IORING_CQE_F_MORE",
            "SockNonEmpty" => "IORING_CQE_F_SOCK_NONEMPTY",
            "Notif" => "IORING_CQE_F_NOTIF",
            "BufMore" => "IORING_CQE_F_BUF_MORE",
            "BufferShift" => "IORING_CQE_BUFFER_SHIFT",
            "NotifUsageZcCopied" => "IORING_NOTIF_USAGE_ZC_COPIED",
            _ => Unmapped(name),
        }),
        (typeof(PollFlags), name => name switch
        {
            "AddMulti" => "IORING_POLL_ADD_MULTI",
            "PollIn" => "POLLIN",
            "PollErr" => "POLLERR",
            "PollHup" => "POLLHUP",
            "PollRdHup" => "POLLRDHUP",
            _ => Unmapped(name),
        }),
        (typeof(IoPrioFlags), name => name switch
        {
            "RecvSendPollFirst" => "IORING_RECVSEND_POLL_FIRST",
            "RecvMultishot" => "IORING_RECV_MULTISHOT",
            "RecvSendFixedBuf" => "IORING_RECVSEND_FIXED_BUF",
            "SendZcReportUsage" => "IORING_SEND_ZC_REPORT_USAGE",
            "RecvSendBundle" => "IORING_RECVSEND_BUNDLE",
            "AcceptMultishot" => "IORING_ACCEPT_MULTISHOT",
            _ => Unmapped(name),
        }),
        (typeof(CancelFlags), name => name switch
        {
            "All" => "IORING_ASYNC_CANCEL_ALL",
            "Fd" => "IORING_ASYNC_CANCEL_FD",
            _ => Unmapped(name),
        }),
        (typeof(PbufRingFlags), name => name switch
        {
            "Incremental" => "IOU_PBUF_RING_INC",
            _ => Unmapped(name),
        }),
        (typeof(RsrcFlags), name => name switch
        {
            "RegisterSparse" => "IORING_RSRC_REGISTER_SPARSE",
            _ => Unmapped(name),
        }),
        (typeof(RwFlags), name => name switch
        {
            "NoWait" => "RWF_NOWAIT",
            _ => Unmapped(name),
        }),
        (typeof(Errno), name => name),           // EPERM … ECANCELED
        (typeof(SocketConstants), name => name), // SOL_SOCKET, MSG_NOSIGNAL, SOCK_CLOEXEC, EFD_NONBLOCK …
        (typeof(LibC), name => name),            // PROT_*, MAP_*
    ];

    /// <summary>
    /// Constants newer than the oldest header the probe accepts (6.1), with the kernel that added
    /// them. Where the installed header defines one, it is compared like any other; where it does
    /// not, the header must really be older than that kernel, so a header that should have the
    /// constant and lacks it (or a misspelt C name) still fails.
    /// </summary>
    public static readonly Dictionary<string, Version> NewerThanHeader = new()
    {
        ["IORING_FEAT_RECVSEND_BUNDLE"] = new(6, 10),
        ["IORING_RECVSEND_BUNDLE"] = new(6, 10),
        ["IORING_CQE_F_BUF_MORE"] = new(6, 12),
        ["IOU_PBUF_RING_INC"] = new(6, 12),
    };

    [Fact]
    public void EveryStructFieldIsMappedToAHeaderMember()
    {
        foreach (var s in Structs)
        {
            var csharpFields = s.Type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Select(f => f.Name).OrderBy(n => n);
            var mapped = s.Fields.Select(f => f.CSharpName).OrderBy(n => n);
            Assert.True(csharpFields.SequenceEqual(mapped), $"{s.Type.Name}: C# fields [{string.Join(", ", csharpFields)}] but the test maps [{string.Join(", ", mapped)}]");
        }
    }

    [Fact]
    public void StructSizesMatchTheHeaders()
    {
        var failures = new List<string>();
        foreach (var s in Structs)
        {
            long expected = _c[$"sizeof:{s.Type.Name}"];
            int managed = ManagedSize(s.Type);
            int marshalled = Marshal.SizeOf(s.Type);
            _output.WriteLine($"{s.CType,-32} C {expected,4}  C# {managed,4}");
            if (managed != expected || marshalled != expected)
            {
                failures.Add($"sizeof({s.CType}) is {expected} but {s.Type.Name} is {managed} (Marshal.SizeOf {marshalled})");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void FieldOffsetsAndSizesMatchTheHeaders()
    {
        var failures = new List<string>();
        foreach (var s in Structs)
        {
            foreach (var f in s.Fields)
            {
                long offset = (long)Marshal.OffsetOf(s.Type, f.CSharpName);
                int size = FieldSize(s.Type, f.CSharpName);
                long cOffset = _c[$"offsetof:{s.Type.Name}.{f.CSharpName}"];
                long cSize = _c[$"sizeof:{s.Type.Name}.{f.CSharpName}"];
                _output.WriteLine($"{s.Type.Name}.{f.CSharpName,-14} C {cOffset,3}+{cSize,-3} C# {offset,3}+{size}");
                if (offset != cOffset || size != cSize)
                {
                    failures.Add($"{s.Type.Name}.{f.CSharpName} is at {offset} ({size} bytes) but {s.CType}.{f.CMember} is at {cOffset} ({cSize} bytes)");
                }

                foreach (string alias in f.Aliases)
                {
                    long aliasOffset = _c[$"offsetof:{s.Type.Name}.{f.CSharpName}.{alias}"];
                    long aliasSize = _c[$"sizeof:{s.Type.Name}.{f.CSharpName}.{alias}"];
                    if (aliasOffset != offset || aliasSize > size)
                    {
                        failures.Add($"{s.CType}.{alias} is at {aliasOffset} ({aliasSize} bytes) and does not fit {s.Type.Name}.{f.CSharpName} at {offset} ({size} bytes)");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void ConstantsMatchTheHeaders()
    {
        var failures = new List<string>();
        int compared = 0;
        foreach (var (type, cName) in ConstantClasses)
        {
            foreach (var field in Constants(type))
            {
                long csharp = ToInt64(field.GetValue(null)!);
                string cname = cName(field.Name);
                if (!_c.TryGetValue($"const:{type.Name}.{field.Name}", out long c))
                {
                    var since = NewerThanHeader[cname];
                    var header = HeaderVersion;
                    _output.WriteLine($"{cname} (Linux {since}) is not in this machine's header (Linux {header}); not compared");
                    if (header >= since)
                    {
                        failures.Add($"{cname} is missing from a Linux {header} header although Linux {since} added it: is the C name right?");
                    }

                    continue;
                }

                compared++;
                if (csharp != c)
                {
                    failures.Add($"{type.Name}.{field.Name} is {csharp} (0x{csharp:X}) but {cName(field.Name)} is {c} (0x{c:X})");
                }
            }
        }

        _output.WriteLine($"{compared} constants compared");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    // LINUX_VERSION_CODE is (major << 16) | (minor << 8) | patch.
    private Version HeaderVersion => new((int)(_c["header:version"] >> 16), (int)((_c["header:version"] >> 8) & 0xFF));

    private static IEnumerable<FieldInfo> Constants(Type type)
        => type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(f => (f.IsLiteral || f.IsInitOnly) && (f.FieldType.IsPrimitive || f.FieldType == typeof(nint))); // not LibC.Lib

    private static long ToInt64(object value) => value switch
    {
        nint n => n,
        nuint n => (long)n,
        _ => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string Unmapped(string name) => throw new InvalidOperationException($"constant {name} has no C name in InteropLayoutTests.ConstantClasses: add one");

    private static int ManagedSize(Type type)
        => (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;

    private static int FieldSize(Type type, string name)
    {
        Type t = type.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!.FieldType;
        return t.IsPointer ? IntPtr.Size : t == typeof(nint) || t == typeof(nuint) ? IntPtr.Size : Marshal.SizeOf(t);
    }

    /// <summary>Runs the C probe once for the test class.</summary>
    public sealed class HeaderValues
    {
        public HeaderValues()
        {
            var queries = new List<KernelHeaderProbe.Query>();
            foreach (var s in Structs)
            {
                queries.Add(new($"sizeof:{s.Type.Name}", $"sizeof({s.CType})"));
                foreach (var f in s.Fields)
                {
                    queries.Add(new($"offsetof:{s.Type.Name}.{f.CSharpName}", $"offsetof({s.CType}, {f.CMember})"));
                    queries.Add(new($"sizeof:{s.Type.Name}.{f.CSharpName}", $"MEMBER_SIZE({s.CType}, {f.CMember})"));
                    foreach (string alias in f.Aliases)
                    {
                        queries.Add(new($"offsetof:{s.Type.Name}.{f.CSharpName}.{alias}", $"offsetof({s.CType}, {alias})"));
                        queries.Add(new($"sizeof:{s.Type.Name}.{f.CSharpName}.{alias}", $"MEMBER_SIZE({s.CType}, {alias})"));
                    }
                }
            }

            foreach (var (type, cName) in ConstantClasses)
            {
                foreach (var field in Constants(type))
                {
                    string expression = cName(field.Name);
                    // MAP_FAILED is a pointer.
                    queries.Add(new(
                        $"const:{type.Name}.{field.Name}",
                        field.FieldType == typeof(nint) ? $"(intptr_t)({expression})" : expression,
                        NewerThanHeader.ContainsKey(expression) ? expression : null));
                }
            }

            queries.Add(new("header:version", "LINUX_VERSION_CODE"));
            Values = KernelHeaderProbe.Evaluate(queries);
        }

        public IReadOnlyDictionary<string, long> Values { get; }
    }
}
