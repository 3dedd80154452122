using System;
using System.Linq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Transport.IoUring.Internal;

/// <summary>
/// Finds the keys of the configuration section that no option binds (a typo such as
/// <c>RingCuont</c> is otherwise silent), for the factory to name in one warning.
/// </summary>
internal sealed class UnknownConfigurationKeys(IConfiguration section) : IConfigureOptions<IoUringTransportOptions>
{
    /// <summary>Every key the section binds: the public settable options (a test keeps this list complete).</summary>
    internal static readonly string[] KnownKeys =
    [
        nameof(IoUringTransportOptions.Enabled),
        nameof(IoUringTransportOptions.RingCount),
        nameof(IoUringTransportOptions.RingEntries),
        nameof(IoUringTransportOptions.ReceiveMode),
        nameof(IoUringTransportOptions.BufferRingEntries),
        nameof(IoUringTransportOptions.BufferRingBufferSize),
        nameof(IoUringTransportOptions.ReusePort),
        nameof(IoUringTransportOptions.NoDelay),
        nameof(IoUringTransportOptions.Backlog),
        nameof(IoUringTransportOptions.MaxReadBufferSize),
        nameof(IoUringTransportOptions.MaxWriteBufferSize),
        nameof(IoUringTransportOptions.UnsafePreferInlineScheduling),
        nameof(IoUringTransportOptions.PinRingThreads),
        nameof(IoUringTransportOptions.DisabledKernelFeatures),
    ];

    public void Configure(IoUringTransportOptions options)
    {
        // Keys compare as configuration does: case-insensitively.
        options.UnknownConfigurationKeys = section.GetChildren()
            .Select(child => child.Key)
            .Where(key => !KnownKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }
}
