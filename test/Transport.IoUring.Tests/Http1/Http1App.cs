using System;
using System.Globalization;
using System.IO.Pipelines;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Transport.IoUring.Tests.Http1;

/// <summary>The JSON body of /json.</summary>
public sealed record Greeting(string Message);

/// <summary>The endpoints most HTTP/1.1 tests share.</summary>
internal static class Http1App
{
    /// <summary>Response header naming the receive mode of the io_uring connection that served it.</summary>
    public const string ReceiveModeHeader = "X-IoUring-Receive-Mode";

    public const string Plaintext = "Hello, World!";

    /// <summary>
    /// Maps GET /plaintext, GET /json, POST /echo, GET /download/{length} (byte i is i % 251),
    /// GET /p?i=N (body N) and GET /connection-id (body: the connection id).
    /// </summary>
    public static void Map(WebApplication app)
    {
        app.Use((context, next) =>
        {
            if (context.Features.Get<IIoUringConnectionFeature>() is { } feature)
            {
                context.Response.Headers[ReceiveModeHeader] = feature.ReceiveMode.ToString();
            }

            return next(context);
        });

        app.MapGet("/plaintext", () => Plaintext);
        app.MapGet("/json", () => Results.Json(new Greeting(Plaintext)));
        app.MapPost("/echo", EchoAsync);
        app.MapGet("/download/{length}", DownloadAsync);
        app.MapGet("/p", (HttpContext context) => context.Response.WriteAsync(context.Request.Query["i"].ToString()));
        app.MapGet("/connection-id", (HttpContext context) => context.Response.WriteAsync(context.Connection.Id));
    }

    private static async Task EchoAsync(HttpContext context)
    {
        // Streamed both ways; 32 MiB uploads exceed Kestrel's default 30 MB limit.
        context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
        context.Response.ContentType = context.Request.ContentType ?? "application/octet-stream";
        if (context.Request.ContentLength is long length)
        {
            context.Response.ContentLength = length;
        }

        await context.Request.BodyReader.CopyToAsync(context.Response.BodyWriter, context.RequestAborted);
    }

    private static async Task DownloadAsync(HttpContext context)
    {
        long length = long.Parse((string)context.GetRouteValue("length")!, CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = length;
        PipeWriter writer = context.Response.BodyWriter;
        long offset = 0;
        while (offset < length)
        {
            int count = (int)Math.Min(16 * 1024, length - offset);
            Memory<byte> memory = writer.GetMemory(count)[..count];
            TestData.FillPattern(memory.Span, offset);
            writer.Advance(count);
            offset += count;
            FlushResult result = await writer.FlushAsync(context.RequestAborted);
            if (result.IsCanceled || result.IsCompleted)
            {
                break;
            }
        }
    }
}
