using System;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Threading;
using System.Threading.Tasks;
using Transport.IoUring.Benchmarks.LoadGenerators;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// Asks a starting server which transport serves it (<c>/transport</c>), in the protocol of the
/// scenario's endpoint, and for the gRPC scenario makes one call with the exact bytes the load
/// generator will send: h2load counts HTTP statuses only, and a gRPC error travels in a 200's
/// trailers. Runs as the <c>probe</c> command in the load generator's network namespace (on
/// loopback that is the harness's own).
/// </summary>
internal static class ServerProbe
{
    public const string CommandName = "probe";

    /// <summary>Exit codes of the probe command.</summary>
    public const int Answered = 0, Unreachable = 1, Wrong = 2;

    /// <summary>
    /// Tries until <paramref name="wait"/> is over. Unreachable: nothing answered (yet); Wrong:
    /// the server answered but not as it must (the message says how); Answered: the message is what
    /// /transport said.
    /// </summary>
    public static async Task<(int ExitCode, string Message)> RunAsync(Uri baseUrl, ServerEndpoint endpoint, string? certificateSha256, bool grpc, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        using var client = CreateClient(endpoint, certificateSha256);
        var deadline = DateTime.UtcNow + wait;
        string last = "no attempt";
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                string transport = (await client.GetStringAsync(new Uri(baseUrl, "/transport"), cancellationToken).ConfigureAwait(false)).Trim();
                if (grpc)
                {
                    string? problem = await CheckGrpcEchoAsync(client, baseUrl, cancellationToken).ConfigureAwait(false);
                    if (problem is not null)
                    {
                        return (Wrong, problem);
                    }
                }

                return (Answered, transport);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = ex.InnerException?.Message ?? ex.Message;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return (Unreachable, last);
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private static HttpClient CreateClient(ServerEndpoint endpoint, string? certificateSha256)
    {
        var handler = new SocketsHttpHandler { UseProxy = false };
        if (endpoint == ServerEndpoint.Https)
        {
            string expected = certificateSha256 ?? throw new ArgumentException("An HTTPS endpoint needs the certificate's SHA-256.", nameof(certificateSha256));
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => ServerCertificate.Matches(presented, expected),
            };
        }

        var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        if (endpoint == ServerEndpoint.H2c)
        {
            client.DefaultRequestVersion = HttpVersion.Version20;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        return client;
    }

    /// <summary>One call of the gRPC scenario's method; null when it echoed the payload with grpc-status 0.</summary>
    private static async Task<string?> CheckGrpcEchoAsync(HttpClient client, Uri baseUrl, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, GrpcRequest.Path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(GrpcRequest.Encode()),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        string status = response.TrailingHeaders.TryGetValues("grpc-status", out var values) ? string.Join(",", values)
            : response.Headers.TryGetValues("grpc-status", out var headerValues) ? string.Join(",", headerValues) : "(none)";
        if (response.StatusCode != HttpStatusCode.OK || status != "0")
        {
            string message = response.TrailingHeaders.TryGetValues("grpc-message", out var m) ? string.Join(",", m) : "";
            return $"{GrpcRequest.Path} answered HTTP {(int)response.StatusCode} with grpc-status {status} {message}".TrimEnd();
        }

        try
        {
            byte[] payload = GrpcRequest.DecodeReply(body);
            return payload.AsSpan().SequenceEqual(GrpcRequest.Payload) ? null : $"{GrpcRequest.Path} echoed {Convert.ToHexString(payload)}, not the payload sent";
        }
        catch (FormatException ex)
        {
            return $"{GrpcRequest.Path}: {ex.Message}";
        }
    }
}
