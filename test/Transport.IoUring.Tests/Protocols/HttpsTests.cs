using System;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

public class HttpsTests(ITestOutputHelper output)
{
    private const int EchoSize = 8 * 1024 * 1024;

    [Fact]
    public async Task Http11OverTlsIsServedOverIoUring()
    {
        using var certificate = TestCertificate.Load();
        await using var server = await StartAsync(certificate, HttpProtocols.Http1);
        using var client = CreateClient(server, certificate, HttpVersion.Version11);

        using var response = await client.GetAsync("/info");

        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal("HTTP/1.1 https tls", await response.Content.ReadAsStringAsync());
        Assert.True(server.IoUringAcceptedConnections >= 1);
    }

    [Fact]
    public async Task Http2OverTlsIsNegotiatedByAlpnOnIoUring()
    {
        using var certificate = TestCertificate.Load();
        await using var server = await StartAsync(certificate, HttpProtocols.Http1AndHttp2);
        using var http2 = CreateClient(server, certificate, HttpVersion.Version20);
        using var http11 = CreateClient(server, certificate, HttpVersion.Version11);

        using var h2Response = await http2.GetAsync("/info");
        using var h1Response = await http11.GetAsync("/info");

        Assert.Equal(HttpVersion.Version20, h2Response.Version);
        Assert.Equal("HTTP/2 https tls", await h2Response.Content.ReadAsStringAsync());
        Assert.Equal(HttpVersion.Version11, h1Response.Version);
        Assert.Equal("HTTP/1.1 https tls", await h1Response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnEightMebibyteEchoOverTlsArrivesIntactOverHttp11AndHttp2()
    {
        using var certificate = TestCertificate.Load();
        await using var server = await StartAsync(certificate, HttpProtocols.Http1AndHttp2);

        // HTTP/1.1: a raw TLS stream, writing and reading at once.
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(server.EndPoint).WaitAsync(Bounds.Wait);
            await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = (_, presented, _, _) => IsTestCertificate(presented, certificate),
            }).WaitAsync(Bounds.Wait);
            Assert.Equal(SslApplicationProtocol.Http11, tls.NegotiatedApplicationProtocol);

            var response = await Payload.RawEchoAsync(tls, EchoSize);
            Assert.Equal("io_uring", response.Headers[TestServer.TransportHeader]);
        }

        // HTTP/2 (ALPN h2): HttpClient streams both directions at once.
        using var client = CreateClient(server, certificate, HttpVersion.Version20);
        await Payload.EchoAsync(client, EchoSize, version: HttpVersion.Version20);
        Assert.True(server.IoUringAcceptedConnections >= 2);
    }

    private Task<TestServer> StartAsync(X509Certificate2 certificate, HttpProtocols protocols) => TestServer.StartAsync(
        app =>
        {
            app.MapGet("/info", context =>
            {
                bool tls = context.Features.Get<ITlsHandshakeFeature>() is { Protocol: not SslProtocols.None };
                return context.Response.WriteAsync($"{context.Request.Protocol} {context.Request.Scheme} {(tls ? "tls" : "plain")}");
            });
            app.MapPost("/echo", async context =>
            {
                context.Response.ContentLength = context.Request.ContentLength;
                await context.Request.Body.CopyToAsync(context.Response.Body);
            });
        },
        configureKestrel: options => options.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = protocols;
            listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate });
        }),
        output: output);

    private static HttpClient CreateClient(TestServer server, X509Certificate2 certificate, Version version)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => IsTestCertificate(presented, certificate),
            },
        };
        Assert.Equal("https", server.Address.Scheme);
        return TransportClient.Create(server.Address, handler, version: version);
    }

    // Trusts exactly the certificate this test made, nothing else.
    private static bool IsTestCertificate(X509Certificate? presented, X509Certificate2 expected)
        => presented is not null && presented.GetCertHashString() == expected.GetCertHashString();
}
