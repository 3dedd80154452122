using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Sample;

/// <summary>The sample's optional OpenTelemetry export of the transport's metrics (--metrics).</summary>
public sealed class SampleMetricsExportTests(ITestOutputHelper output)
{
    private const int Connections = 3;

    [Fact]
    public async Task WithMetricsConsoleTheSamplePrintsTheTransportsCounters()
    {
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions
        {
            Arguments = ["--metrics", "console"],
            Environment = new Dictionary<string, string> { ["Metrics__ExportIntervalMilliseconds"] = "300" },
        });
        await OpenConnectionsAsync(server);

        // The console exporter prints every instrument each interval; wait for one export that has
        // seen all the connections.
        bool exported = await Bounded.PollAsync(() => LastConsoleValue(server.Lines, "io_uring.accepted_connections") == Connections);
        output.WriteLine(server.Output);
        Assert.True(exported, $"no export showed {Connections} accepted connections.{server.Describe()}");
        Assert.True(LastConsoleValue(server.Lines, "io_uring.network.io") > 0);
        Assert.Contains(server.Lines, l => l.StartsWith("Metric Name: io_uring.enter_calls,", StringComparison.Ordinal));
        Assert.Contains(server.Lines, l => l.StartsWith("Metric Name: kestrel.active_connections,", StringComparison.Ordinal));
        Assert.True(LoadsOpenTelemetry(server.Pid));
    }

    [Fact]
    public async Task WithMetricsOtlpTheSampleSendsTheTransportsCountersToTheCollector()
    {
        // A stand-in OTLP/HTTP collector: it keeps the protobuf bodies, in which metric names are plain UTF-8.
        var bodies = new ConcurrentQueue<byte[]>();
        await using var collector = await TestServer.StartAsync(app => app.MapPost("/v1/metrics", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            bodies.Enqueue(body.ToArray());
            context.Response.ContentType = "application/x-protobuf";
        }), useIoUring: false);

        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions
        {
            Arguments = ["--metrics", "otlp"],
            Environment = new Dictionary<string, string>
            {
                ["Metrics__ExportIntervalMilliseconds"] = "300",
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Address.ToString().TrimEnd('/'),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            },
        });
        await OpenConnectionsAsync(server);

        bool exported = await Bounded.PollAsync(() => bodies.Any(b =>
            Contains(b, "io_uring.accepted_connections") && Contains(b, "io_uring.network.io") && Contains(b, "Transport.IoUring")));
        Assert.True(exported, $"the collector received {bodies.Count} export(s), none with the transport's metrics.{server.Describe()}");
    }

    [Fact]
    public async Task WithoutTheOptionTheSampleRegistersAndLoadsNothingOfOpenTelemetry()
    {
        await using var server = await SampleServerProcess.StartAsync();
        await OpenConnectionsAsync(server);

        Assert.DoesNotContain(server.Lines, l => l.StartsWith("Metric Name:", StringComparison.Ordinal));
        Assert.False(LoadsOpenTelemetry(server.Pid), "OpenTelemetry assemblies are loaded although no exporter was asked for");
    }

    [Fact]
    public async Task AnUnknownExporterStopsTheSampleWithAMessage()
    {
        await using var server = SampleServerProcess.Launch(new SampleServerOptions { Arguments = ["--metrics", "prometheus"] });
        Assert.Equal(2, await server.WaitForExitAsync(SampleServerProcess.ExitTimeout));
        Assert.Contains(server.Lines, l => l.Contains("Unknown metrics exporter 'prometheus'", StringComparison.Ordinal));
    }

    private static async Task OpenConnectionsAsync(SampleServerProcess server)
    {
        var endPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.BaseAddress.Port);
        for (int i = 0; i < Connections; i++)
        {
            using var connection = await RawHttpConnection.ConnectAsync(endPoint);
            await connection.SendAsync(RawHttpConnection.Get("/transport", close: true));
            Assert.Equal("io_uring", (await connection.ReadResponseAsync()).BodyText);
        }
    }

    /// <summary>The sum of the "Value:" lines of the last console export of <paramref name="metric"/> (over its ring ids and tags), or -1.</summary>
    private static long LastConsoleValue(IReadOnlyList<string> lines, string metric)
    {
        int start = -1;
        for (int i = lines.Count - 1; i >= 0; i--)
        {
            if (lines[i].StartsWith($"Metric Name: {metric},", StringComparison.Ordinal))
            {
                start = i;
                break;
            }
        }

        if (start < 0)
        {
            return -1;
        }

        long sum = 0;
        for (int i = start + 1; i < lines.Count && !string.IsNullOrWhiteSpace(lines[i]); i++)
        {
            if (lines[i].StartsWith("Value: ", StringComparison.Ordinal))
            {
                sum += long.Parse(lines[i]["Value: ".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    private static bool LoadsOpenTelemetry(int pid)
        => File.ReadLines($"/proc/{pid}/maps").Any(l => l.Contains("/OpenTelemetry", StringComparison.Ordinal));

    private static bool Contains(byte[] haystack, string text) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
