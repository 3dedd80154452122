using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// The TLS scenarios' server certificate: self-signed, made at the start of each run and deleted at
/// its end, so that no key is ever committed or reused. ECDSA P-256, the key type most TLS 1.3 sites
/// serve today; its signature costs the server a fraction of an RSA-2048 one per handshake.
/// </summary>
internal sealed class ServerCertificate
{
    private ServerCertificate(string certificatePath, string keyPath, byte[] sha256)
    {
        CertificatePath = certificatePath;
        KeyPath = keyPath;
        Sha256 = sha256;
    }

    /// <summary>The certificate, PEM.</summary>
    public string CertificatePath { get; }

    /// <summary>The unencrypted PKCS#8 private key, PEM (mode 0600).</summary>
    public string KeyPath { get; }

    /// <summary>SHA-256 of the certificate's DER bytes: the only certificate the harness's clients accept.</summary>
    public byte[] Sha256 { get; }

    public string Sha256Hex => Convert.ToHexString(Sha256);

    /// <summary>Creates the certificate and key in <paramref name="directory"/>, valid for the given addresses and a day.</summary>
    public static ServerCertificate Create(string directory, IEnumerable<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Transport.IoUring benchmarks", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // serverAuth
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        string certificatePath = Path.Combine(directory, "server-certificate.pem");
        string keyPath = Path.Combine(directory, "server-key.pem");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        var keyOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            keyOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var keyFile = new FileStream(keyPath, keyOptions))
        using (var writer = new StreamWriter(keyFile))
        {
            writer.Write(key.ExportPkcs8PrivateKeyPem());
        }

        return new ServerCertificate(certificatePath, keyPath, SHA256.HashData(certificate.RawData));
    }

    /// <summary>Whether <paramref name="presented"/> is this certificate (for a client's validation callback).</summary>
    public static bool Matches(X509Certificate? presented, string sha256Hex)
        => presented is not null && Convert.ToHexString(SHA256.HashData(presented.GetRawCertData())).Equals(sha256Hex, StringComparison.OrdinalIgnoreCase);
}
