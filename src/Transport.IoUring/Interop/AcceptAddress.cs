using System;
using System.Net;
using System.Runtime.InteropServices;

namespace Transport.IoUring.Interop;

/// <summary>
/// Native memory an accept writes the peer's address into: a sockaddr_storage and the socklen_t
/// the kernel fills in. One per single-shot direct accept in flight; freed only when none is.
/// </summary>
internal sealed unsafe class AcceptAddress : IDisposable
{
    private const int Capacity = 128; // sizeof(struct sockaddr_storage)
    private byte* _memory = (byte*)NativeMemory.AllocZeroed(Capacity + sizeof(uint));

    /// <summary>The sockaddr buffer (the accept's addr).</summary>
    public nint Address => (nint)_memory;

    /// <summary>The socklen_t (the accept's addr2), value-result.</summary>
    public nint Length => (nint)(_memory + Capacity);

    /// <summary>Before arming an accept: the whole buffer is available.</summary>
    public void Reset() => *(uint*)(_memory + Capacity) = Capacity;

    /// <summary>The peer's address the completed accept wrote; null for a Unix socket (unnamed peer).</summary>
    public IPEndPoint? ToEndPoint() => SocketAddressParser.ToIPEndPoint(_memory, *(uint*)(_memory + Capacity));

    public void Dispose()
    {
        if (_memory != null)
        {
            NativeMemory.Free(_memory);
            _memory = null;
        }
    }
}
