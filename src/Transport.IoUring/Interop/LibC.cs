using System.Runtime.InteropServices;

namespace Transport.IoUring.Interop;

/// <summary>The few libc entry points the transport calls. Each returns -1 and sets errno on failure.</summary>
internal static unsafe partial class LibC
{
    private const string Lib = "libc";

    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_POPULATE = 0x08000;
    public static readonly nint MAP_FAILED = -1;
    public const int RLIMIT_NOFILE = 7;
    public const int RLIMIT_MEMLOCK = 8;
    public const int CAP_IPC_LOCK = 14;

    // glibc's syscall() reads six argument registers (the sixth from the stack) whatever the
    // call passes, so one fixed signature serves every io_uring syscall.
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    public static int IoUringSetup(uint entries, IoUringParams* p)
        => (int)Syscall(SysCallNumbers.IoUringSetup, (nint)entries, (nint)p, 0, 0, 0, 0);

    public static int IoUringEnter(int fd, uint toSubmit, uint minComplete, uint flags)
        => (int)Syscall(SysCallNumbers.IoUringEnter, fd, (nint)toSubmit, (nint)minComplete, (nint)flags, 0, 0);

    public static int IoUringRegister(int fd, uint opcode, void* arg, uint nrArgs)
        => (int)Syscall(SysCallNumbers.IoUringRegister, fd, (nint)opcode, (nint)arg, (nint)nrArgs, 0, 0);

    [LibraryImport(Lib, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buf, nuint count);

    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, uint len);

    [LibraryImport(Lib, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport(Lib, EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int fd, byte* addr, uint* len);

    [LibraryImport(Lib, EntryPoint = "getpeername", SetLastError = true)]
    public static partial int GetPeerName(int fd, byte* addr, uint* len);

    [LibraryImport(Lib, EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, ulong* limits);

    /// <summary>The soft RLIMIT_NOFILE: fds are numbered below it.</summary>
    public static long OpenFileLimit()
    {
        ulong* limits = stackalloc ulong[2];
        return GetRLimit(RLIMIT_NOFILE, limits) == 0 && limits[0] < long.MaxValue ? (long)limits[0] : long.MaxValue;
    }

    /// <summary>The soft RLIMIT_MEMLOCK in bytes; <see cref="long.MaxValue"/> when unlimited (RLIM_INFINITY) or unreadable.</summary>
    public static long LockedMemoryLimit()
    {
        ulong* limits = stackalloc ulong[2];
        return GetRLimit(RLIMIT_MEMLOCK, limits) == 0 && limits[0] < long.MaxValue ? (long)limits[0] : long.MaxValue;
    }

    [LibraryImport(Lib, EntryPoint = "sched_setaffinity", SetLastError = true)]
    public static partial int SchedSetAffinity(int pid, nuint size, ulong* mask);

    [LibraryImport(Lib, EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nuint size, ulong* mask);

    public static int SetIntOption(int fd, int level, int name, int value)
        => SetSockOpt(fd, level, name, &value, sizeof(int));

    public static void SetNoDelay(int fd) => SetIntOption(fd, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, 1);

    /// <summary>SO_LINGER {on, 0}: close() then sends RST and drops unsent data.</summary>
    public static void SetLingerZero(int fd)
    {
        Linger linger = new() { OnOff = 1, Seconds = 0 };
        SetSockOpt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, &linger, (uint)sizeof(Linger));
    }

    /// <summary>
    /// Pins the calling thread to the <paramref name="index"/>-th CPU (modulo their count) of those it
    /// may run on, best effort. Under <c>taskset -c 1</c> or a container's cpuset, index 0 is the first
    /// allowed CPU, not CPU 0, which the thread may not use at all.
    /// </summary>
    public static void PinCurrentThreadToCpu(int index)
    {
        const int MaskWords = 16;   // 1024 CPUs, glibc's cpu_set_t
        ulong* mask = stackalloc ulong[MaskWords];
        if (SchedGetAffinity(0, MaskWords * sizeof(ulong), mask) < 0)
        {
            return;
        }

        int allowed = 0;
        for (int w = 0; w < MaskWords; w++)
        {
            allowed += System.Numerics.BitOperations.PopCount(mask[w]);
        }

        if (allowed == 0)
        {
            return;
        }

        int wanted = (int)((uint)index % (uint)allowed);
        ulong* one = stackalloc ulong[MaskWords];
        for (int cpu = 0; cpu < MaskWords * 64; cpu++)
        {
            if ((mask[cpu / 64] & (1UL << (cpu % 64))) != 0 && wanted-- == 0)
            {
                new System.Span<ulong>(one, MaskWords).Clear();
                one[cpu / 64] = 1UL << (cpu % 64);
                SchedSetAffinity(0, MaskWords * sizeof(ulong), one);
                return;
            }
        }
    }

    public static System.Net.IPEndPoint? GetPeerEndPoint(int fd)
    {
        byte* address = stackalloc byte[128];
        uint length = 128;
        return GetPeerName(fd, address, &length) == 0 ? SocketAddressParser.ToIPEndPoint(address, length) : null;
    }

    public static System.Net.IPEndPoint? GetLocalEndPoint(int fd)
    {
        byte* address = stackalloc byte[128];
        uint length = 128;
        return GetSockName(fd, address, &length) == 0 ? SocketAddressParser.ToIPEndPoint(address, length) : null;
    }

    /// <summary>The address of the first element of an array on the pinned object heap.</summary>
    public static nint AddressOfPinned(byte[] array) => (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(array));

    /// <summary>The address a pinned <see cref="System.Buffers.MemoryHandle"/> points at.</summary>
    public static nint AddressOf(in System.Buffers.MemoryHandle handle) => (nint)handle.Pointer;

    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>Text of an errno value, e.g. "EPERM (Operation not permitted)".</summary>
    public static string Describe(int errno) => $"{ErrnoName(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})";

    /// <summary>The symbolic name of an errno value, e.g. "EPERM" ("errno 95" for those without one here).</summary>
    public static string ErrnoName(int errno)
    {
        return errno switch
        {
            Errno.EPERM => "EPERM",
            Errno.ENOSYS => "ENOSYS",
            Errno.ENOMEM => "ENOMEM",
            Errno.EINVAL => "EINVAL",
            Errno.EACCES => "EACCES",
            Errno.EMFILE => "EMFILE",
            Errno.ENFILE => "ENFILE",
            Errno.EBADF => "EBADF",
            Errno.ECONNRESET => "ECONNRESET",
            Errno.EPIPE => "EPIPE",
            Errno.ENOBUFS => "ENOBUFS",
            Errno.EEXIST => "EEXIST",
            _ => "errno " + errno,
        };
    }
}
