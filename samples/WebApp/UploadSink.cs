using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace WebApp;

/// <summary>
/// POST /upload reads the request body to its end, keeps none of it, and answers with the number of
/// bytes it read (text/plain). The upload-16m benchmark measures the receive path at size with it:
/// unlike /echo, nothing is sent back while the body arrives.
/// </summary>
internal static class UploadSink
{
    public static IEndpointConventionBuilder MapUploadSink(this IEndpointRouteBuilder endpoints)
        => endpoints.MapPost("/upload", static async (HttpContext context) =>
        {
            // Kestrel's default limit is 30 MB; a sink for uploads takes any size.
            context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
            var reader = context.Request.BodyReader;
            long received = 0;
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted);
                received += result.Buffer.Length;
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(received.ToString(CultureInfo.InvariantCulture), context.RequestAborted);
        });
}
