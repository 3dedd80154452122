using System;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace WebApp;

/// <summary>
/// Optional export of the transport's metrics (meter "Transport.IoUring") and Kestrel's with
/// OpenTelemetry, chosen by configuration: <c>Metrics:Exporter</c> = <c>console</c> or <c>otlp</c>
/// (<c>--metrics console</c> on the command line), and <c>Metrics:ExportIntervalMilliseconds</c>.
/// Off by default; then nothing of OpenTelemetry is registered or even loaded, because only this
/// class refers to it.
/// </summary>
internal static class MetricsExport
{
    public const string TransportMeter = "Transport.IoUring";
    public const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";

    /// <summary>Registers the exporter named by <paramref name="exporter"/>; false when there is no such exporter.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool TryAdd(WebApplicationBuilder builder, string exporter)
    {
        if (exporter is not ("console" or "otlp"))
        {
            return false;
        }

        int? interval = builder.Configuration.GetValue<int?>("Metrics:ExportIntervalMilliseconds");
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("Transport.IoUring.WebApp"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(TransportMeter, KestrelMeter);
                if (exporter == "console")
                {
                    metrics.AddConsoleExporter((_, reader) => SetInterval(reader, interval));
                }
                else
                {
                    // Endpoint and protocol from the standard OTEL_EXPORTER_OTLP_* variables
                    // (default: gRPC to localhost:4317).
                    metrics.AddOtlpExporter((_, reader) => SetInterval(reader, interval));
                }
            });
        return true;
    }

    private static void SetInterval(MetricReaderOptions reader, int? interval)
    {
        if (interval is int milliseconds)
        {
            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = milliseconds;
        }
    }
}
