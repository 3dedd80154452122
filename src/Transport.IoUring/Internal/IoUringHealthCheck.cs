using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Transport.IoUring.Internal;

/// <summary>
/// Reports which transport serves each endpoint and the state of the rings: healthy when every
/// endpoint is on io_uring (or io_uring is switched off on purpose), the registration's failure
/// status (Degraded by default) when an endpoint fell back to Sockets or UseIoUring was not called.
/// </summary>
internal sealed class IoUringHealthCheck(IEnumerable<IConnectionListenerFactory> factories) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failureStatus = context.Registration.FailureStatus;
        var factory = factories.OfType<IoUringTransportFactory>().FirstOrDefault();
        if (factory is null)
        {
            return Task.FromResult(new HealthCheckResult(failureStatus, "UseIoUring() was not called: Kestrel serves on its Sockets transport."));
        }

        var data = new Dictionary<string, object>();
        var endpoints = factory.EndPoints.OrderBy(e => e.EndPoint, StringComparer.Ordinal).ToArray();
        foreach (var endpoint in endpoints)
        {
            data["endpoint " + endpoint.EndPoint] = endpoint.OnIoUring ? "io_uring" : "sockets: " + endpoint.SocketsReason;
        }

        var rings = factory.RingGroup.Rings;
        var plan = factory.RingGroup.Plan;
        data["rings"] = rings?.Length ?? 0;
        if (rings is { Length: > 0 } && plan is not null)
        {
            data["ring_entries"] = plan.RingEntries;
            data["receive_mode"] = rings[0].ReceiveMode.ToString();
            data["features"] = Interop.RingCapabilities.Describe(rings[0].Features);
            data["active_connections"] = string.Join(' ', rings.Select(r => r.Connections.Active));
            data["locked_memory_bytes"] = plan.LimitBytes is null ? "not limited" : $"{plan.PlannedBytes} of {plan.LimitBytes}";
            if (plan.IsReduced)
            {
                data["reduced"] = plan.DescribeShortfall();
            }
        }

        if (!factory.Options.Enabled)
        {
            return Task.FromResult(HealthCheckResult.Healthy("io_uring is switched off (Enabled = false): Kestrel serves on its Sockets transport.", data));
        }

        int onSockets = endpoints.Count(e => !e.OnIoUring);
        if (onSockets > 0 || factory.UnavailableReason is not null)
        {
            data["unavailable_reason"] = factory.UnavailableReason ?? "";
            return Task.FromResult(new HealthCheckResult(failureStatus, $"{onSockets} of {endpoints.Length} endpoint(s) fell back to the Sockets transport: {factory.UnavailableReason}", data: data));
        }

        string reduced = plan is { IsReduced: true } ? " (reduced to fit RLIMIT_MEMLOCK)" : "";
        return Task.FromResult(HealthCheckResult.Healthy($"{endpoints.Length} endpoint(s) on io_uring, {rings?.Length ?? 0} ring(s) running{reduced}.", data));
    }
}
