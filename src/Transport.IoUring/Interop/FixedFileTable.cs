using System;

namespace Transport.IoUring.Interop;

/// <summary>
/// A ring's fixed-file table (IORING_REGISTER_FILES2, sparse, 5.19): accepts put their sockets
/// straight into a free slot (IORING_FILE_INDEX_ALLOC) and every later request names the slot with
/// IOSQE_FIXED_FILE, so the kernel skips the process's fd table (fget/fput) on each of them.
/// </summary>
/// <remarks>
/// The table costs kernel memory (about 8 bytes per slot, charged to the memory cgroup), not
/// locked memory: RLIMIT_MEMLOCK is untouched. Its slots are not fds and do not count against
/// RLIMIT_NOFILE, but the kernel refuses a table larger than that limit (EMFILE) at registration.
/// When every slot is taken, an accept completes with -ENFILE.
/// </remarks>
internal sealed unsafe class FixedFileTable : IDisposable
{
    private readonly Ring _ring;
    private bool _registered;

    private FixedFileTable(Ring ring, int slots)
    {
        _ring = ring;
        Slots = slots;
        _registered = true;
    }

    public int Slots { get; }

    /// <summary>Registers an empty table of <paramref name="slots"/> entries, or returns null and the errno.</summary>
    public static FixedFileTable? TryCreate(Ring ring, int slots, out int errno)
    {
        RsrcRegister reg = default;
        reg.Nr = (uint)slots;
        reg.Flags = RsrcFlags.RegisterSparse;
        int ret = ring.Register(RegisterOp.RegisterFiles2, &reg, (uint)sizeof(RsrcRegister));
        if (ret < 0)
        {
            errno = -ret;
            return null;
        }

        errno = 0;
        return new FixedFileTable(ring, slots);
    }

    public void Dispose()
    {
        if (_registered)
        {
            // Sockets still in the table are closed with it (requests in flight keep their own reference).
            _ring.Register(RegisterOp.UnregisterFiles, null, 0);
            _registered = false;
        }
    }
}
