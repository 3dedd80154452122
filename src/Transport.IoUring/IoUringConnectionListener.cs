using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Transport.IoUring.Internal;
using Transport.IoUring.Interop;

namespace Transport.IoUring;

/// <summary>
/// A bound endpoint. With <see cref="IoUringTransportOptions.ReusePort"/> each ring gets its own
/// SO_REUSEPORT listen socket and the kernel spreads connections over them; otherwise (and for Unix
/// domain sockets and inherited handles) every ring accepts on one shared socket. Accepted
/// connections queue here until Kestrel takes them with <see cref="AcceptAsync"/>.
/// </summary>
internal sealed class IoUringConnectionListener : IConnectionListener
{
    private readonly RingGroup _ringGroup;
    private readonly IoUringTransportOptions _options;
    private readonly Channel<IoUringConnection> _accepted = Channel.CreateUnbounded<IoUringConnection>(new UnboundedChannelOptions
    {
        SingleReader = false,
        SingleWriter = false,
        AllowSynchronousContinuations = false,
    });
    private readonly ConcurrentDictionary<IoUringConnection, byte> _connections = new();
    private readonly List<Socket> _sockets = new();
    private readonly List<RingAcceptor> _acceptors = new();
    private RingThread[] _ringThreads = [];
    private bool _localIsWildcard;
    private string? _unixSocketPathToDelete;
    private Task? _unbindTask;
    private int _disposed;

    public IoUringConnectionListener(EndPoint endpoint, RingGroup ringGroup, IoUringTransportOptions options)
    {
        EndPoint = endpoint;
        _ringGroup = ringGroup;
        _options = options;
    }

    public EndPoint EndPoint { get; private set; }

    internal bool IsTcp { get; private set; }

    /// <summary>
    /// TCP_NODELAY is set on the listen socket(s), so every accepted socket starts with it (Linux
    /// copies the option from the listener) and accept costs no setsockopt per connection.
    /// </summary>
    internal bool NoDelayFromListener { get; private set; }

    /// <summary>
    /// Accepted TCP sockets that need TCP_NODELAY set one by one: NoDelay is on and the listen
    /// socket does not pass it on (an inherited socket, or one that refused the option).
    /// </summary>
    internal bool AcceptedSocketsNeedNoDelay => _options.NoDelay && IsTcp && !NoDelayFromListener;

    /// <summary>Binds the listen socket(s) and starts accepting on every ring.</summary>
    internal void Bind()
    {
        _ringThreads = _ringGroup.Acquire();
        try
        {
            BindSockets();
        }
        catch
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }

            _ringGroup.ReleaseAsync().GetAwaiter().GetResult();
            throw;
        }

        for (int i = 0; i < _ringThreads.Length; i++)
        {
            var socket = _sockets.Count == 1 ? _sockets[0] : _sockets[i];
            var acceptor = new RingAcceptor(_ringThreads[i], this, (int)socket.SafeHandle.DangerousGetHandle());
            _acceptors.Add(acceptor);
            _ringThreads[i].Schedule(static s => ((RingAcceptor)s!).Attach(), acceptor);
        }
    }

    private void BindSockets()
    {
        switch (EndPoint)
        {
            case FileHandleEndPoint fileHandle:
                // An inherited listen socket (systemd): it cannot be duplicated into a reuseport
                // group, so every ring accepts on it.
                var inherited = new Socket(new SafeSocketHandle((IntPtr)fileHandle.FileHandle, ownsHandle: true));
                IsTcp = inherited.ProtocolType == ProtocolType.Tcp;
                _sockets.Add(inherited);
                EndPoint = inherited.LocalEndPoint ?? EndPoint;
                _localIsWildcard = true;
                break;

            case UnixDomainSocketEndPoint unix:
                var unixSocket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    unixSocket.Bind(unix);
                    unixSocket.Listen(_options.Backlog);
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
                {
                    unixSocket.Dispose();
                    throw new AddressInUseException(ex.Message, ex);
                }

                _unixSocketPathToDelete = unix.ToString();
                _sockets.Add(unixSocket);
                break;

            case IPEndPoint ip:
                IsTcp = true;
                _localIsWildcard = ip.Address.Equals(IPAddress.Any) || ip.Address.Equals(IPAddress.IPv6Any);

                // Only on listen sockets of our own: an inherited one is shared with whoever passed
                // it (systemd), so its connections get the option one by one instead.
                NoDelayFromListener = _options.NoDelay;
                BindTcp(ip);
                break;

            default:
                throw new NotSupportedException($"The io_uring transport cannot bind {EndPoint.GetType().Name} {EndPoint}.");
        }
    }

    private void BindTcp(IPEndPoint ip)
    {
        bool reusePort = _options.ReusePort && _ringThreads.Length > 1;
        if (reusePort && ip.Port != 0)
        {
            // SO_REUSEPORT would let this bind join a group another process of the same user holds
            // on the port and silently share its traffic. A plain bind first keeps Kestrel's
            // behaviour: a port in use is an AddressInUseException.
            using var probe = CreateTcpSocket(ip, reusePort: false);
            BindOrThrow(probe, ip);
        }

        int count = reusePort ? _ringThreads.Length : 1;
        for (int i = 0; i < count; i++)
        {
            var socket = CreateTcpSocket(ip, reusePort);
            _sockets.Add(socket);
            BindOrThrow(socket, ip);
            socket.Listen(_options.Backlog);
            if (i == 0)
            {
                // Port 0: the kernel picked a port; the other sockets of the group bind that one.
                ip = (IPEndPoint)socket.LocalEndPoint!;
                EndPoint = ip;
            }
        }
    }

    private Socket CreateTcpSocket(IPEndPoint ip, bool reusePort)
    {
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (NoDelayFromListener)
        {
            // Before listen(): a connection is cloned from the listener when its handshake
            // completes, even before anyone accepts it.
            try
            {
                socket.NoDelay = true;
            }
            catch (SocketException)
            {
                // Then each accepted socket gets it on its own.
                NoDelayFromListener = false;
            }
        }

        if (ip.Address.Equals(IPAddress.IPv6Any))
        {
            socket.DualMode = true;
        }

        if (reusePort)
        {
            socket.SetRawSocketOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEPORT, BitConverter.GetBytes(1));
        }

        return socket;
    }

    private static void BindOrThrow(Socket socket, IPEndPoint ip)
    {
        try
        {
            socket.Bind(ip);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(ex.Message, ex);
        }
    }

    /// <summary>Ring thread: the connection's local and remote endpoints, read from the fd.</summary>
    internal (EndPoint? Local, EndPoint? Remote) GetEndPoints(int fd)
    {
        if (EndPoint is UnixDomainSocketEndPoint)
        {
            return (EndPoint, null);
        }

        EndPoint? remote = LibC.GetPeerEndPoint(fd);
        EndPoint? local = _localIsWildcard ? LibC.GetLocalEndPoint(fd) ?? EndPoint : EndPoint;
        return (local, remote);
    }

    /// <summary>Ring thread: queues a new connection for Kestrel.</summary>
    internal void OnConnectionAccepted(IoUringConnection connection)
    {
        _connections.TryAdd(connection, 0);
        if (!_accepted.Writer.TryWrite(connection))
        {
            connection.AbortFromRing(new ConnectionAbortedException("The listener was unbound before the connection was accepted."));
        }
    }

    internal void OnConnectionClosed(IoUringConnection connection) => _connections.TryRemove(connection, out _);

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            while (await _accepted.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_accepted.Reader.TryRead(out var connection))
                {
                    return connection;
                }
            }
        }
        catch (ChannelClosedException)
        {
        }

        return null;
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        lock (_acceptors)
        {
            _unbindTask ??= UnbindCoreAsync();
        }

        return new ValueTask(_unbindTask);
    }

    private async Task UnbindCoreAsync()
    {
        foreach (var acceptor in _acceptors)
        {
            acceptor.RingThread.Schedule(static s => ((RingAcceptor)s!).Stop(), acceptor);
        }

        await Task.WhenAll(_acceptors.Select(a => a.Stopped)).ConfigureAwait(false);

        // No accept is in flight on them any more: the listen fds can go.
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        if (_unixSocketPathToDelete is not null)
        {
            try
            {
                File.Delete(_unixSocketPathToDelete);
            }
            catch (IOException)
            {
            }
        }

        // AcceptAsync returns null from now on; connections accepted but never taken are reset.
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var orphan))
        {
            orphan.Abort(new ConnectionAbortedException("The listener was unbound before the connection was accepted."));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // One timeout for the whole stop: the connections' closes and the rings' stop share it.
        long deadline = Environment.TickCount64 + RingThread.StopTimeoutMs;
        await UnbindAsync().ConfigureAwait(false);

        // Kestrel has closed its connections by now; anything left (a host that skipped graceful
        // shutdown) is aborted so its fd is closed before the rings stop.
        foreach (var connection in _connections.Keys)
        {
            connection.Abort(new ConnectionAbortedException("The io_uring listener is being disposed."));
        }

        var remaining = TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64));
        try
        {
            await Task.WhenAll(_connections.Keys.Select(c => c.Closed)).WaitAsync(remaining).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A peer that never drains a send keeps its connection open; the rings give up on it
            // at the same deadline.
        }

        await _ringGroup.ReleaseAsync(deadline).ConfigureAwait(false);
    }
}
