using System;
using System.Buffers;
using System.Collections;
using System.Collections.Generic;
using System.IO.Pipelines;
using System.Net;
using System.Threading;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Transport.IoUring.Internal;

// The connection is its own feature collection, as Kestrel's TransportConnection: the features
// Kestrel asks for on every connection cost a type check, not a dictionary look-up. Features set
// later (TLS, HTTP/2, middleware) go to a dictionary that takes precedence.
internal sealed partial class IoUringConnection : IFeatureCollection,
                                                  IConnectionIdFeature,
                                                  IConnectionTransportFeature,
                                                  IConnectionItemsFeature,
                                                  IMemoryPoolFeature,
                                                  IConnectionLifetimeFeature,
                                                  IConnectionEndPointFeature,
                                                  IIoUringConnectionFeature
{
    private static readonly Type[] s_ownFeatures =
    [
        typeof(IConnectionIdFeature),
        typeof(IConnectionTransportFeature),
        typeof(IConnectionItemsFeature),
        typeof(IMemoryPoolFeature),
        typeof(IConnectionLifetimeFeature),
        typeof(IConnectionEndPointFeature),
        typeof(IIoUringConnectionFeature),
    ];

    private Dictionary<Type, object>? _extraFeatures;
    private IDictionary<object, object?>? _items;
    private int _featureRevision;

    public override IFeatureCollection Features => this;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public MemoryPool<byte> MemoryPool { get; }

    public int RingId => _ringThread.Id;

    public IoUringReceiveMode ReceiveMode { get; }

    bool IFeatureCollection.IsReadOnly => false;

    int IFeatureCollection.Revision => _featureRevision;

    object? IFeatureCollection.this[Type key]
    {
        get
        {
            if (_extraFeatures is not null && _extraFeatures.TryGetValue(key, out var feature))
            {
                return feature;
            }

            return Array.IndexOf(s_ownFeatures, key) >= 0 ? this : null;
        }
        set
        {
            _extraFeatures ??= new Dictionary<Type, object>();
            if (value is null)
            {
                _extraFeatures.Remove(key);
            }
            else
            {
                _extraFeatures[key] = value;
                if (_inlineScheduler is not null && value is ITlsApplicationProtocolFeature alpn && key == typeof(ITlsApplicationProtocolFeature))
                {
                    _inlineScheduler.OnTlsApplicationProtocolFeature(alpn);
                }
            }

            _featureRevision++;
        }
    }

    TFeature? IFeatureCollection.Get<TFeature>() where TFeature : default
        => (TFeature?)((IFeatureCollection)this)[typeof(TFeature)];

    void IFeatureCollection.Set<TFeature>(TFeature? instance) where TFeature : default
        => ((IFeatureCollection)this)[typeof(TFeature)] = instance;

    IEnumerator<KeyValuePair<Type, object>> IEnumerable<KeyValuePair<Type, object>>.GetEnumerator()
    {
        foreach (var type in s_ownFeatures)
        {
            if (_extraFeatures is null || !_extraFeatures.ContainsKey(type))
            {
                yield return new KeyValuePair<Type, object>(type, this);
            }
        }

        if (_extraFeatures is not null)
        {
            foreach (var pair in _extraFeatures)
            {
                yield return pair;
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<KeyValuePair<Type, object>>)this).GetEnumerator();

    void IConnectionLifetimeFeature.Abort() => Abort();
}
