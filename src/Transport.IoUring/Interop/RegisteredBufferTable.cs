using System;

namespace Transport.IoUring.Interop;

/// <summary>
/// A ring's table of registered buffers (IORING_REGISTER_BUFFERS2, sparse, 5.19). The pipes' memory
/// pool registers each of its slabs here on first use, so reads into pipe memory can be
/// IORING_OP_READ_FIXED: the kernel maps the slab's pages once instead of on every read.
/// Registered memory counts against RLIMIT_MEMLOCK for processes without CAP_IPC_LOCK; a slab that
/// does not fit is simply not registered and its reads use plain recv.
/// </summary>
internal sealed unsafe class RegisteredBufferTable : IDisposable
{
    private readonly Ring _ring;
    private bool _registered;

    private RegisteredBufferTable(Ring ring, int slots)
    {
        _ring = ring;
        Slots = slots;
        _registered = true;
    }

    public int Slots { get; }

    /// <summary>Registers an empty table of <paramref name="slots"/> entries, or returns null and the errno.</summary>
    public static RegisteredBufferTable? TryCreate(Ring ring, int slots, out int errno)
    {
        RsrcRegister reg = default;
        reg.Nr = (uint)slots;
        reg.Flags = RsrcFlags.RegisterSparse;
        int ret = ring.Register(RegisterOp.RegisterBuffers2, &reg, (uint)sizeof(RsrcRegister));
        if (ret < 0)
        {
            errno = -ret;
            return null;
        }

        errno = 0;
        return new RegisteredBufferTable(ring, slots);
    }

    /// <summary>Puts <paramref name="length"/> bytes at <paramref name="address"/> into slot <paramref name="index"/>; returns 0 or the errno (ENOMEM: RLIMIT_MEMLOCK).</summary>
    public int TryRegister(int index, nint address, int length)
    {
        if ((uint)index >= (uint)Slots)
        {
            return Errno.EINVAL;
        }

        IoVec iov = new() { Base = (void*)address, Length = (nuint)length };
        RsrcUpdate2 update = default;
        update.Offset = (uint)index;
        update.Data = (ulong)&iov;
        update.Nr = 1;
        int ret = _ring.Register(RegisterOp.RegisterBuffersUpdate, &update, (uint)sizeof(RsrcUpdate2));
        return ret < 0 ? -ret : 0;
    }

    /// <summary>
    /// Empties slot <paramref name="index"/> (an update with a null, zero-length iovec); returns 0 or
    /// the errno. New READ_FIXEDs naming the slot fail from then on; a request already holding the
    /// old buffer keeps the kernel's reference to its pages until it completes, and the pages are
    /// unpinned (and uncharged from RLIMIT_MEMLOCK) after that.
    /// </summary>
    public int TryUnregister(int index)
    {
        if ((uint)index >= (uint)Slots)
        {
            return Errno.EINVAL;
        }

        IoVec iov = default;
        RsrcUpdate2 update = default;
        update.Offset = (uint)index;
        update.Data = (ulong)&iov;
        update.Nr = 1;
        int ret = _ring.Register(RegisterOp.RegisterBuffersUpdate, &update, (uint)sizeof(RsrcUpdate2));
        return ret < 0 ? -ret : 0;
    }

    public void Dispose()
    {
        if (_registered)
        {
            _ring.Register(RegisterOp.UnregisterBuffers, null, 0);
            _registered = false;
        }
    }
}
