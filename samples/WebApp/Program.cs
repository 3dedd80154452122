using System;
using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Transport.IoUring;
using WebApp;

// The sample server that the benchmarks and acceptance checks drive:
//   dotnet run -c Release --project samples/WebApp -- [--transport iouring|sockets] [--metrics console|otlp] [ASP.NET Core args]
// The transport defaults to io_uring; "sockets" runs the same app on Kestrel's Sockets transport.
// --metrics (configuration key Metrics:Exporter) exports the transport's and Kestrel's metrics with
// OpenTelemetry; off by default. docs/metrics.md lists the metrics.

string transport = "iouring";
var aspNetArgs = new System.Collections.Generic.List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--transport" && i + 1 < args.Length)
    {
        transport = args[++i];
    }
    else if (args[i].StartsWith("--transport=", StringComparison.Ordinal))
    {
        transport = args[i]["--transport=".Length..];
    }
    else if (args[i] == "--metrics" && i + 1 < args.Length)
    {
        aspNetArgs.Add("--Metrics:Exporter=" + args[++i]);
    }
    else
    {
        aspNetArgs.Add(args[i]);
    }
}

if (transport is not ("iouring" or "sockets"))
{
    Console.Error.WriteLine($"Unknown transport '{transport}': use --transport iouring or --transport sockets.");
    return 2;
}

var builder = WebApplication.CreateBuilder(aspNetArgs.ToArray());

// Kestrel reads only Endpoints and Certificates from its section by itself; binding Limits makes
// Kestrel:Limits:* settable from configuration too (only Limits: the source-generated binder,
// which NativeAOT needs, cannot bind the whole KestrelServerOptions).
builder.WebHost.ConfigureKestrel((context, options) =>
{
    context.Configuration.GetSection("Kestrel:Limits").Bind(options.Limits);

    // Under systemd socket activation (LISTEN_FDS), serve the inherited listen socket(s) instead of
    // --urls; otherwise nothing changes (docs/systemd.md).
    options.UseSystemd();
});

if (transport == "iouring")
{
    // Options come from the section Kestrel:Transport:IoUring (appsettings.json, or environment
    // variables such as Kestrel__Transport__IoUring__RingCount=2); docs/configuration.md.
    builder.WebHost.UseIoUring();
}
else
{
    // Sockets:* (e.g. Sockets:UnsafePreferInlineScheduling) for the benchmarks' tuned Sockets row.
    builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(builder.Configuration.GetSection("Sockets"));
}

string? metricsExporter = builder.Configuration["Metrics:Exporter"];
if (!string.IsNullOrEmpty(metricsExporter) && metricsExporter != "none" && !WebApp.MetricsExport.TryAdd(builder, metricsExporter))
{
    Console.Error.WriteLine($"Unknown metrics exporter '{metricsExporter}': use --metrics console, otlp or none.");
    return 2;
}

// GET /health: which transport serves each endpoint, and the rings' state.
builder.Services.AddHealthChecks().AddIoUringTransport();

builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, SampleJsonContext.Default));
builder.Services.AddGrpc();

var app = builder.Build();

// GET /plaintext and /json are answered before routing, the way TechEmpower's ASP.NET Core
// entries do, so that the benchmarks compare transports rather than routing and result
// formatting (docs/benchmarks.md: "The server").
app.Use(static (context, next) =>
{
    var request = context.Request;
    if (HttpMethods.IsGet(request.Method))
    {
        if (request.Path.Equals("/plaintext", StringComparison.Ordinal))
        {
            return BenchmarkEndpoints.PlaintextAsync(context.Response);
        }

        if (request.Path.Equals("/json", StringComparison.Ordinal))
        {
            return BenchmarkEndpoints.JsonAsync(context.Response);
        }
    }

    return next(context);
});

app.UseWebSockets();
app.UseRouting();

app.MapPost("/echo", async (HttpContext context) =>
{
    // Streamed both ways: a 100 MiB upload never sits in memory whole.
    context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
    context.Response.ContentType = context.Request.ContentType ?? "application/octet-stream";
    if (context.Request.ContentLength is long length)
    {
        context.Response.ContentLength = length;
    }

    await context.Request.BodyReader.CopyToAsync(context.Response.BodyWriter, context.RequestAborted);
});

app.MapGet("/download", async (HttpContext context, long size) =>
{
    if (size < 0)
    {
        return Results.BadRequest("size must be at least 0");
    }

    context.Response.ContentType = "application/octet-stream";
    context.Response.ContentLength = size;
    var writer = context.Response.BodyWriter;
    long written = 0;
    while (written < size)
    {
        int chunk = (int)Math.Min(size - written, DownloadPattern.ChunkSize);
        DownloadPattern.At(written, chunk).CopyTo(writer.GetSpan(chunk));
        writer.Advance(chunk);
        written += chunk;
        var flush = await writer.FlushAsync(context.RequestAborted);
        if (flush.IsCanceled || flush.IsCompleted)
        {
            break;
        }
    }

    return Results.Empty;
});

app.Map("/ws", async (HttpContext context) =>
{
    if (!context.WebSockets.IsWebSocketRequest)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        return;
    }

    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    try
    {
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(result.CloseStatus ?? WebSocketCloseStatus.NormalClosure, result.CloseStatusDescription, context.RequestAborted);
                break;
            }

            await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted);
        }
    }
    finally
    {
        ArrayPool<byte>.Shared.Return(buffer);
    }
});

app.MapHealthChecks("/health", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { ResponseWriter = HealthReportText.WriteAsync });
app.MapUploadSink();
app.MapGrpcService<GrpcEchoService>();

// Which transport accepted the connection serving this request.
app.MapGet("/transport", (HttpContext context) =>
    Results.Text(context.Features.Get<IIoUringConnectionFeature>() is null ? "sockets" : "io_uring", "text/plain"));

try
{
    await app.RunAsync();
}
catch (Microsoft.Extensions.Options.OptionsValidationException ex)
{
    // Invalid transport options stop the server at start-up; each message names the option.
    Console.Error.WriteLine($"Invalid options: {string.Join(" ", ex.Failures)}");
    return 1;
}

return 0;

internal sealed record Message(string message);

/// <summary>The health report as plain text: the status, then per check its status, description and data, one per line.</summary>
internal static class HealthReportText
{
    public static Task WriteAsync(HttpContext context, Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report)
    {
        var text = new System.Text.StringBuilder().Append(report.Status).Append('\n');
        foreach (var (name, entry) in report.Entries)
        {
            text.Append(name).Append(": ").Append(entry.Status).Append(": ").Append(entry.Description).Append('\n');
            foreach (var (key, value) in entry.Data)
            {
                text.Append("  ").Append(key).Append(" = ").Append(value).Append('\n');
            }
        }

        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(text.ToString());
    }
}

internal static class BenchmarkEndpoints
{
    private static readonly byte[] s_plaintext = "Hello, World!"u8.ToArray();

    public static Task PlaintextAsync(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/plain";
        response.ContentLength = s_plaintext.Length;
        return response.Body.WriteAsync(s_plaintext).AsTask();
    }

    public static Task JsonAsync(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        byte[] body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Message("Hello, World!"), SampleJsonContext.Default.Message);
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body).AsTask();
    }
}

/// <summary>
/// The /download body: byte i is (byte)(i % 251), so a client can check every byte and its place.
/// Served from one precomputed copy of the pattern: the endpoint costs a copy per chunk, as serving
/// a cached file or buffer would, and the download scenario measures the transport's large sends
/// rather than a per-byte loop (which cost ~1,700 CPU-µs per MiB, more than the sending).
/// </summary>
internal static class DownloadPattern
{
    public const int ChunkSize = 16 * 1024;
    private const int Period = 251;
    private static readonly byte[] s_pattern = Build();

    /// <summary>The <paramref name="length"/> bytes of the body that start at <paramref name="offset"/>.</summary>
    public static ReadOnlySpan<byte> At(long offset, int length) => s_pattern.AsSpan((int)(offset % Period), length);

    private static byte[] Build()
    {
        var pattern = new byte[ChunkSize + Period];
        for (int i = 0; i < pattern.Length; i++)
        {
            pattern[i] = (byte)(i % Period);
        }

        return pattern;
    }
}

[JsonSerializable(typeof(Message))]
internal sealed partial class SampleJsonContext : JsonSerializerContext;
