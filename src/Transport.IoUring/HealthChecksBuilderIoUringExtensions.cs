using System.Collections.Generic;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Transport.IoUring.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary><see cref="IHealthChecksBuilder"/> extensions for the io_uring transport.</summary>
public static class HealthChecksBuilderIoUringExtensions
{
    /// <summary>
    /// Adds a health check that reports which transport serves each Kestrel endpoint (io_uring, or
    /// Sockets and why) and the rings' state (count, entries, receive mode, features, connections
    /// per ring, locked memory). Healthy when every endpoint is on io_uring or io_uring is switched
    /// off on purpose; <paramref name="failureStatus"/> when an endpoint fell back to Sockets.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name. Defaults to <c>io_uring</c>.</param>
    /// <param name="failureStatus">The status reported when io_uring does not serve. Defaults to <see cref="HealthStatus.Degraded"/>: the app still serves, on Sockets.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    /// <returns>The health checks builder.</returns>
    public static IHealthChecksBuilder AddIoUringTransport(this IHealthChecksBuilder builder, string name = "io_uring", HealthStatus failureStatus = HealthStatus.Degraded, IEnumerable<string>? tags = null)
    {
        System.ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<IoUringHealthCheck>(name, failureStatus, tags ?? []);
    }
}
