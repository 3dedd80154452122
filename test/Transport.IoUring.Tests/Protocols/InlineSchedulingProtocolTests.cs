using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Transport.IoUring.Internal;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

/// <summary>
/// UnsafePreferInlineScheduling: HTTP/1.1 connections run their continuations on the ring thread;
/// HTTP/2 connections (the h2c preface, or ALPN h2 over TLS) are moved to the ring's application
/// queue, whose runner is a thread-pool thread, as with the default options.
/// </summary>
public class InlineSchedulingProtocolTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(false, "1.1")]
    [InlineData(false, "2.0")]
    [InlineData(true, "1.1")]
    [InlineData(true, "2.0")]
    public async Task Http11StaysOnTheRingThreadAndHttp2MovesToTheApplicationQueue(bool tls, string version)
    {
        var httpVersion = Version.Parse(version);
        bool http2 = httpVersion == HttpVersion.Version20;
        using var certificate = tls ? TestCertificate.Load() : null;
        var connections = new ConcurrentQueue<IoUringConnection>();
        var threads = new ConcurrentQueue<string>();
        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/thread", (HttpContext context) =>
            {
                threads.Enqueue(Thread.CurrentThread.Name ?? "(no name)");
                return context.Request.Protocol;
            }),
            configureTransport: options =>
            {
                options.RingCount = 1;
                options.UnsafePreferInlineScheduling = true;
            },
            configureKestrel: options => options.Listen(IPAddress.Loopback, 0, listen =>
            {
                // Over TLS, ALPN chooses; without it, h2c needs an endpoint of its own (prior knowledge).
                listen.Protocols = tls ? HttpProtocols.Http1AndHttp2 : http2 ? HttpProtocols.Http2 : HttpProtocols.Http1;
                if (certificate is not null)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate });
                }

                listen.Use(next => context =>
                {
                    connections.Enqueue(Assert.IsType<IoUringConnection>(context));
                    return next(context);
                });
            }),
            output: output);

        using var client = CreateClient(server, certificate, httpVersion);
        var protocols = new System.Collections.Generic.List<string>();
        for (int i = 0; i < 3; i++)
        {
            protocols.AddRange(await Task.WhenAll(Enumerable.Range(0, http2 ? 20 : 1).Select(_ => client.GetStringAsync("/thread"))).WaitAsync(Bounds.Wait));
        }

        Assert.All(protocols, p => Assert.Equal(http2 ? "HTTP/2" : "HTTP/1.1", p));
        var connection = Assert.Single(connections);
        var scheduler = connection.InlineScheduler!;
        output.WriteLine($"{connection.ConnectionId}: {(scheduler.UsesApplicationQueue ? "application queue" : scheduler.IsUndecided ? "undecided (inline)" : "inline")}; handlers ran on {string.Join(", ", threads)}");
        Assert.False(scheduler.IsUndecided);
        Assert.Equal(http2, scheduler.UsesApplicationQueue);
        if (!http2)
        {
            // Kestrel runs a connection's first request from a work item of its own; after that
            // an HTTP/1.1 request runs where its input continuation ran: on the ring thread.
            Assert.All(threads.Skip(1), name => Assert.Equal("io_uring ring 0", name));
        }
    }

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task TheIntegrityWorkloadRunsIntactWithInlineScheduling(IoUringReceiveMode mode)
    {
        await using var server = await TestServer.StartAsync(
            IntegrityWorkload.MapEndpoints,
            configureTransport: options =>
            {
                options.ReceiveMode = mode;
                options.UnsafePreferInlineScheduling = true;
            },
            output: output);

        await IntegrityWorkload.RunAsync(server, mode);
    }

    [Fact]
    public async Task TheSchedulerRunsInlineUntilThePrefaceAndThenOnTheRunner()
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, options =>
        {
            options.RingCount = 1;
            options.UnsafePreferInlineScheduling = true;
        }, output: output);
        var queue = server.Factory!.RingGroup.Rings!.Single().ApplicationQueue;

        var http1 = new InlineConnectionScheduler(queue);
        http1.OnFirstBytes("GE"u8);
        Assert.False(http1.IsUndecided);
        Assert.Equal(Environment.CurrentManagedThreadId, await WhereAsync(http1));

        // The preface split across receives, as a slow client may send it.
        var h2c = new InlineConnectionScheduler(queue);
        h2c.OnFirstBytes("PR"u8);
        Assert.True(h2c.IsUndecided);
        h2c.OnFirstBytes("I * HTTP/2.0\r\n"u8);
        Assert.True(h2c.UsesApplicationQueue);
        string stack = "";
        int thread = await WhereAsync(h2c, () => stack = Environment.StackTrace);
        Assert.NotEqual(Environment.CurrentManagedThreadId, thread);
        Assert.Contains(nameof(RingApplicationQueue), stack, StringComparison.Ordinal);

        // A TLS ClientHello tells nothing: the scheduler waits for ALPN and runs inline meanwhile.
        var tls = new InlineConnectionScheduler(queue);
        tls.OnFirstBytes([0x16, 0x03, 0x01]);
        Assert.True(tls.IsUndecided);
        Assert.Equal(Environment.CurrentManagedThreadId, await WhereAsync(tls));
    }

    private static async Task<int> WhereAsync(InlineConnectionScheduler scheduler, Action? also = null)
    {
        var ran = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        scheduler.Schedule(_ =>
        {
            also?.Invoke();
            ran.TrySetResult(Environment.CurrentManagedThreadId);
        }, null);
        return await ran.Task.WaitAsync(Bounds.Wait);
    }

    private static HttpClient CreateClient(TestServer server, X509Certificate2? certificate, Version version)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    certificate is not null && presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
            },
        };
        return TransportClient.Create(server.Address, handler, version: version);
    }
}
