namespace Transport.IoUring;

/// <summary>
/// Present on every connection the io_uring transport accepted. Reach it from a request through
/// <c>HttpContext.Features.Get&lt;IIoUringConnectionFeature&gt;()</c>: null there means the
/// connection came through another transport (Sockets after a fallback).
/// </summary>
public interface IIoUringConnectionFeature
{
    /// <summary>The index of the ring thread that owns the connection's socket.</summary>
    int RingId { get; }

    /// <summary>How this connection receives data.</summary>
    IoUringReceiveMode ReceiveMode { get; }
}
