using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

public class Http2CleartextTests(ITestOutputHelper output)
{
    private const int Streams = 100;

    [Fact]
    public async Task HundredConcurrentHttp2StreamsShareOneIoUringConnectionWithCorrectBodies()
    {
        await using var server = await TestServer.StartAsync(
            app => app.MapPost("/echo/{index:int}", async context =>
            {
                Assert.Equal("HTTP/2", context.Request.Protocol);
                context.Response.Headers["X-Index"] = (string?)context.Request.RouteValues["index"];
                context.Response.Headers["X-Connection-Id"] = context.Connection.Id;
                await context.Request.Body.CopyToAsync(context.Response.Body);
            }),
            configureKestrel: options => options.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2),
            output: output);
        long acceptedBefore = server.IoUringAcceptedConnections;
        using var client = server.CreateClient(version: HttpVersion.Version20);

        // Bodies of different sizes, up to 100 KB, so streams interleave their DATA frames.
        var bodies = Enumerable.Range(0, Streams).Select(i => RandomNumberGenerator.GetBytes(1 + (i * 1021))).ToArray();
        var responses = await Task.WhenAll(Enumerable.Range(0, Streams).Select(async i =>
        {
            using var response = await client.PostAsync($"/echo/{i}", new ByteArrayContent(bodies[i]));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(HttpVersion.Version20, response.Version);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("X-Index").Single());
            byte[] body = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(Convert.ToHexString(SHA256.HashData(bodies[i])), Convert.ToHexString(SHA256.HashData(body)));
            return response.Headers.GetValues("X-Connection-Id").Single();
        })).WaitAsync(Bounds.Wait);

        Assert.Single(responses.Distinct());
        Assert.Equal(acceptedBefore + 1, server.IoUringAcceptedConnections);
    }
}
