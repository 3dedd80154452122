using System;
using System.IO.Pipelines;
using System.Threading;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Transport.IoUring.Internal;

/// <summary>
/// The application side's scheduler of one connection under
/// <see cref="IoUringTransportOptions.UnsafePreferInlineScheduling"/>: its continuations run inline
/// (input reads on the ring thread) until the connection turns out to speak HTTP/2, and from then
/// on in the ring's application queue, as with the default options.
/// </summary>
/// <remarks>
/// Inline scheduling pays on HTTP/1.1, where a continuation reads one request and writes one
/// response, and costs on HTTP/2, whose connection loop parses frames and HPACK for up to 100
/// streams while the ring waits (h2c-100: 1.36× the defaults' CPU per request in run I, h2-tls-100
/// 1.33× in V4; docs/performance.md). HTTP/2 is told by its first bytes (the h2c preface, "PRI ")
/// or, over TLS, by the protocol ALPN chose once the handshake is done. A connection whose first
/// bytes are neither the preface nor a TLS record is HTTP/1.x and stays inline for good.
/// </remarks>
internal sealed class InlineConnectionScheduler(RingApplicationQueue queue) : PipeScheduler
{
    private const int Undecided = 0;
    private const int OnThisThread = 1;
    private const int Queued = 2;

    // "PRI " begins the HTTP/2 connection preface (RFC 9113, 3.4); no HTTP/1.x method is PRI.
    private static ReadOnlySpan<byte> PrefaceStart => "PRI "u8;

    private const byte TlsHandshakeRecord = 0x16;

    private int _state;
    private int _prefaceBytesSeen;
    private bool _tls;
    private ITlsApplicationProtocolFeature? _alpn;

    /// <summary>True once the connection's continuations go to the application queue (HTTP/2).</summary>
    public bool UsesApplicationQueue => Volatile.Read(ref _state) == Queued;

    /// <summary>True until the first bytes (or, over TLS, ALPN) have told the protocol.</summary>
    public bool IsUndecided => Volatile.Read(ref _state) == Undecided;

    public override void Schedule(Action<object?> action, object? state)
    {
        if (Volatile.Read(ref _state) == Queued)
        {
            queue.Schedule(action, state);
        }
        else
        {
            action(state);
        }
    }

    /// <summary>Ring thread: the connection's first received bytes, until they have told the protocol.</summary>
    public void OnFirstBytes(ReadOnlySpan<byte> bytes)
    {
        if (_tls || bytes.IsEmpty || !IsUndecided)
        {
            return;
        }

        if (_prefaceBytesSeen == 0 && bytes[0] == TlsHandshakeRecord)
        {
            _tls = true; // the protocol comes with ALPN, once the handshake is done
            return;
        }

        int take = Math.Min(bytes.Length, PrefaceStart.Length - _prefaceBytesSeen);
        if (!bytes[..take].SequenceEqual(PrefaceStart.Slice(_prefaceBytesSeen, take)))
        {
            Volatile.Write(ref _state, OnThisThread);
            return;
        }

        _prefaceBytesSeen += take;
        if (_prefaceBytesSeen == PrefaceStart.Length)
        {
            Volatile.Write(ref _state, Queued);
        }
    }

    /// <summary>Any thread: Kestrel's TLS middleware set the feature that will say which protocol ALPN chose.</summary>
    public void OnTlsApplicationProtocolFeature(ITlsApplicationProtocolFeature feature) => Volatile.Write(ref _alpn, feature);

    /// <summary>
    /// Any thread: middleware replaced the connection's transport pipe, as Kestrel's TLS middleware
    /// does once the handshake has succeeded. Only then may ALPN be asked (before it, SslStream
    /// throws): "h2" moves the connection to the application queue, anything else (http/1.1, or
    /// no ALPN at all) keeps it inline.
    /// </summary>
    public void OnTransportReplaced()
    {
        if (!IsUndecided || Volatile.Read(ref _alpn) is not { } alpn)
        {
            return;
        }

        ReadOnlyMemory<byte> protocol;
        try
        {
            protocol = alpn.ApplicationProtocol;
        }
        catch (InvalidOperationException)
        {
            return; // not authenticated: some other middleware replaced the pipe; stay inline
        }

        Volatile.Write(ref _state, protocol.Span.SequenceEqual("h2"u8) ? Queued : OnThisThread);
    }
}
