using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace Transport.IoUring.Internal;

/// <summary>
/// Hands the host's <see cref="IMeterFactory"/> to the transport through its options (as Kestrel's
/// own options setup hands it the application's services), so the transport factory's public
/// constructor stays as it is.
/// </summary>
internal sealed class MeterFactoryOptionsSetup(IMeterFactory meterFactory) : IConfigureOptions<IoUringTransportOptions>
{
    public void Configure(IoUringTransportOptions options) => options.MeterFactory = meterFactory;
}
