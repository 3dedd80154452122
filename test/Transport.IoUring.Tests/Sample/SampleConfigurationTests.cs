using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// One sample process configured only through environment variables: an h2c endpoint, an HTTPS
/// endpoint with a self-signed default certificate, an HTTP/1.1 endpoint, a Kestrel limit and the
/// Kestrel:Transport:IoUring section.
/// </summary>
public sealed class ConfiguredSampleFixture : SampleServerFixture
{
    public const int MaxRequestHeadersTotalSize = 2048;

    private readonly string _certificatePath = Path.Combine(Path.GetTempPath(), $"transport-iouring-sample-{Guid.NewGuid():N}.pfx");

    public int H2cPort { get; private set; }

    public int HttpsPort { get; private set; }

    public int Http1Port { get; private set; }

    /// <summary>The DER bytes of the server's self-signed certificate.</summary>
    public byte[] Certificate { get; private set; } = [];

    public Uri H2cAddress => new($"http://127.0.0.1:{H2cPort}/");

    public Uri HttpsAddress => new($"https://127.0.0.1:{HttpsPort}/");

    public Uri Http1Address => new($"http://127.0.0.1:{Http1Port}/");

    public override async Task DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            File.Delete(_certificatePath);
        }
    }

    /// <summary>A client that trusts exactly the server's certificate.</summary>
    public HttpClient CreateClient(Uri baseAddress, Version version)
    {
        byte[] certificate = Certificate;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(certificate),
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    protected override SampleServerOptions CreateOptions()
    {
        int[] ports = SampleServerProcess.GetFreeTcpPorts(3);
        (H2cPort, HttpsPort, Http1Port) = (ports[0], ports[1], ports[2]);
        File.WriteAllBytes(_certificatePath, TestCertificate.Pfx);
        using (var certificate = TestCertificate.Load())
        {
            Certificate = certificate.RawData;
        }

        return new SampleServerOptions
        {
            // Configuration endpoints replace --urls (ConfigurationEndpointsReplaceUrls checks that).
            Environment = new Dictionary<string, string>
            {
                ["Kestrel__Endpoints__h2c__Url"] = H2cAddress.ToString().TrimEnd('/'),
                ["Kestrel__Endpoints__h2c__Protocols"] = "Http2",
                ["Kestrel__Endpoints__https__Url"] = HttpsAddress.ToString().TrimEnd('/'),
                ["Kestrel__Endpoints__http1__Url"] = Http1Address.ToString().TrimEnd('/'),
                ["Kestrel__Endpoints__http1__Protocols"] = "Http1",
                ["Kestrel__Certificates__Default__Path"] = _certificatePath,
                ["Kestrel__Certificates__Default__Password"] = TestCertificate.Password,
                ["Kestrel__Limits__MaxRequestHeadersTotalSize"] = MaxRequestHeadersTotalSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Kestrel__Transport__IoUring__ReceiveMode"] = "PollAndReceive",
                ["Kestrel__Transport__IoUring__RingCount"] = "1",
            },
        };
    }
}

public sealed class SampleConfigurationTests(ConfiguredSampleFixture fixture, ITestOutputHelper output) : IClassFixture<ConfiguredSampleFixture>
{
    private SampleServerProcess Server => fixture.Server;

    [Fact]
    public void ConfigurationEndpointsReplaceUrls()
    {
        string[] expected = [fixture.H2cAddress.ToString(), fixture.HttpsAddress.ToString(), fixture.Http1Address.ToString()];

        Assert.Equal(expected.Order(), Server.ListeningAddresses.Select(a => a.ToString()).Order());
    }

    [Fact]
    public async Task H2cEndpointServesHttp2WithPriorKnowledgeOverIoUring()
    {
        using var client = fixture.CreateClient(fixture.H2cAddress, HttpVersion.Version20);

        using var transport = await client.GetAsync("/transport");
        using var plaintext = await client.GetAsync("/plaintext");

        Assert.Equal(HttpVersion.Version20, transport.Version);
        Assert.Equal("io_uring", await transport.Content.ReadAsStringAsync());
        Assert.Equal(HttpVersion.Version20, plaintext.Version);
        Assert.Equal("Hello, World!", await plaintext.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HttpsEndpointWithTheDefaultCertificateServesTlsOverIoUring()
    {
        using var client = fixture.CreateClient(fixture.HttpsAddress, HttpVersion.Version11);

        using var response = await client.GetAsync("/transport");

        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal("io_uring", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HttpsEndpointNegotiatesHttp2ThroughAlpn()
    {
        using var client = fixture.CreateClient(fixture.HttpsAddress, HttpVersion.Version20);

        using var transport = await client.GetAsync("/transport");
        using var json = await client.GetAsync("/json");

        Assert.Equal(HttpVersion.Version20, transport.Version);
        Assert.Equal("io_uring", await transport.Content.ReadAsStringAsync());
        Assert.Equal(HttpVersion.Version20, json.Version);
        Assert.Equal("""{"message":"Hello, World!"}""", await json.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MaxRequestHeadersTotalSizeFromConfigurationRejectsA4KiBHeaderWith431()
    {
        using var client = fixture.CreateClient(fixture.Http1Address, HttpVersion.Version11);

        using var small = new HttpRequestMessage(HttpMethod.Get, "/plaintext");
        small.Headers.Add("X-Filler", new string('a', 1024));
        using var smallResponse = await client.SendAsync(small);
        using var large = new HttpRequestMessage(HttpMethod.Get, "/plaintext");
        large.Headers.Add("X-Filler", new string('a', 4096));
        using var largeResponse = await client.SendAsync(large);

        Assert.Equal(HttpStatusCode.OK, smallResponse.StatusCode);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, largeResponse.StatusCode);
    }

    [Fact]
    public async Task IoUringSectionSetsRingCountAndReceiveMode()
    {
        using var client = fixture.CreateClient(fixture.Http1Address, HttpVersion.Version11);
        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));

        var servingLines = Server.Lines.Where(l => l.Contains("Kestrel is serving", StringComparison.Ordinal)).ToArray();
        Assert.True(servingLines.Length == 3, $"Expected a \"Kestrel is serving\" line per endpoint.{Server.Describe()}");
        Assert.All(servingLines, l => Assert.Contains("on io_uring: 1 ring thread(s), receive mode PollAndReceive", l, StringComparison.Ordinal));
        var ringFds = ProcessRings.IoUringFds(Server.Pid);
        Assert.Single(ringFds);
    }

    [Fact]
    public async Task EchoStreamsBackA64MiBUploadInPollAndReceiveMode()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        await RawEcho.AssertEchoesAsync(fixture.Http1Port, 64L * 1024 * 1024, output, cts.Token);
    }
}
