using System;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Transport.IoUring.Tests;

/// <summary>A self-signed server certificate made for the test run: RSA 2048, SAN 127.0.0.1, ::1 and localhost.</summary>
internal static class TestCertificate
{
    private static readonly Lazy<byte[]> s_pfx = new(Create);

    public const string Password = "io_uring-test";

    /// <summary>The certificate and its private key as a PFX protected by <see cref="Password"/>.</summary>
    public static byte[] Pfx => s_pfx.Value;

    /// <summary>A fresh instance (with its private key) loaded from the PFX, as Kestrel takes it.</summary>
    public static X509Certificate2 Load() => X509CertificateLoader.LoadPkcs12(s_pfx.Value, Password, X509KeyStorageFlags.Exportable);

    private static byte[] Create()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));

        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return certificate.Export(X509ContentType.Pfx, Password);
    }
}
