namespace Transport.IoUring.Internal;

/// <summary>
/// An endpoint Kestrel asked the transport about and which transport serves it: io_uring, or
/// Sockets and why (switched off, or io_uring unavailable). What the health check reports.
/// </summary>
internal sealed record EndPointTransport(string EndPoint, bool OnIoUring, string? SocketsReason);
