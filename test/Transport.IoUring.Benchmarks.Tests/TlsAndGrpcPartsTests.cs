using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Transport.IoUring.Benchmarks.LoadGenerators;
using Transport.IoUring.Benchmarks.Network;
using Transport.IoUring.Benchmarks.Running;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class TlsAndGrpcPartsTests
{
    [Fact]
    public void TheGrpcRequestIsTheLengthPrefixedEchoMessage()
    {
        // 0 = not compressed, 15 = message length; 0x0A = field 1 length-delimited, 0x0D = 13 bytes.
        byte[] expected = [0, 0, 0, 0, 15, 0x0A, 13, .. "Hello, World!"u8.ToArray()];

        Assert.Equal(expected, GrpcRequest.Encode());
    }

    [Fact]
    public void AGrpcReplyGivesBackItsPayload()
    {
        // The reply samples/WebApp sent to that request (curl --http2-prior-knowledge, 2026-12-06).
        byte[] reply = Convert.FromHexString("000000000F0A0D48656C6C6F2C20576F726C6421");

        Assert.Equal("Hello, World!"u8.ToArray(), GrpcRequest.DecodeReply(reply));
        Assert.Empty(GrpcRequest.DecodeReply([0, 0, 0, 0, 0]));
    }

    [Theory]
    [InlineData("0000")]                         // shorter than the prefix
    [InlineData("01000000020A00")]               // compressed
    [InlineData("00000000050A0D4865")]           // prefix says 5, 4 follow
    [InlineData("00000000031203414243")]         // prefix says 3, 5 follow
    [InlineData("00000000051203414243")]         // field 2, not 1
    public void MalformedGrpcRepliesAreRejected(string hex)
    {
        Assert.Throws<FormatException>(() => GrpcRequest.DecodeReply(Convert.FromHexString(hex)));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void TheCertificateIsSelfSignedForTheServerAddressesAndItsKeyIsPrivate()
    {
        string directory = Directory.CreateTempSubdirectory("iouring-bench-test-").FullName;
        try
        {
            var certificate = ServerCertificate.Create(directory, [IPAddress.Loopback, IPAddress.Parse("169.254.77.1")]);

            using var loaded = X509Certificate2.CreateFromPemFile(certificate.CertificatePath, certificate.KeyPath);
            Assert.True(loaded.HasPrivateKey);
            using (var key = loaded.GetECDsaPublicKey())
            {
                Assert.Equal(256, key?.KeySize);
            }

            string names = loaded.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().Format(multiLine: false);
            Assert.Contains("127.0.0.1", names);
            Assert.Contains("169.254.77.1", names);
            Assert.True(ServerCertificate.Matches(loaded, certificate.Sha256Hex));
            Assert.False(ServerCertificate.Matches(loaded, new string('0', 64)));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(certificate.KeyPath));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TheTlsEndpointTakesTls13OnlyWithTheRunsCertificateAndBothHttpVersions()
    {
        var certificate = ServerCertificateForTests();

        var environment = BenchmarkServer.EndpointEnvironment(ServerEndpoint.Https, NetworkPath.Loopback, 5001, certificate).ToDictionary(kv => kv.Key, kv => kv.Value);

        Assert.Equal("https://127.0.0.1:5001", environment["Kestrel__Endpoints__https__Url"]);
        Assert.Equal("Tls13", environment["Kestrel__Endpoints__https__SslProtocols__0"]);
        Assert.Equal("Http1AndHttp2", environment["Kestrel__Endpoints__https__Protocols"]);
        Assert.Equal(certificate.CertificatePath, environment["Kestrel__Endpoints__https__Certificate__Path"]);
        Assert.Equal(certificate.KeyPath, environment["Kestrel__Endpoints__https__Certificate__KeyPath"]);
    }

    [Fact]
    public void TheH2cEndpointIsHttp2OnlyAndThePlainOneComesFromUrls()
    {
        var h2c = BenchmarkServer.EndpointEnvironment(ServerEndpoint.H2c, NetworkPath.Loopback, 5002, null).ToDictionary(kv => kv.Key, kv => kv.Value);

        Assert.Equal("http://127.0.0.1:5002", h2c["Kestrel__Endpoints__h2c__Url"]);
        Assert.Equal("Http2", h2c["Kestrel__Endpoints__h2c__Protocols"]);
        Assert.Empty(BenchmarkServer.EndpointEnvironment(ServerEndpoint.Http, NetworkPath.Loopback, 5003, null));
    }

    private static ServerCertificate ServerCertificateForTests()
    {
        string directory = Directory.CreateTempSubdirectory("iouring-bench-test-").FullName;
        try
        {
            return ServerCertificate.Create(directory, [IPAddress.Loopback]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
