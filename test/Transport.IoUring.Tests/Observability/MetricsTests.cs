using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Observability;

public class MetricsTests(ITestOutputHelper output)
{
    /// <summary>The meter's instruments and units: what dashboards and docs/metrics.md rely on.</summary>
    private static readonly Dictionary<string, string> s_instruments = new()
    {
        ["io_uring.active_connections"] = "{connection}",
        ["io_uring.accepted_connections"] = "{connection}",
        ["io_uring.network.io"] = "By",
        ["io_uring.enter_calls"] = "{call}",
        ["io_uring.submitted_sqes"] = "{sqe}",
        ["io_uring.reaped_cqes"] = "{cqe}",
        ["io_uring.buffer_ring.exhaustions"] = "{completion}",
        ["io_uring.cq.overflows"] = "{cqe}",
        ["io_uring.application.stalls"] = "{batch}",
        ["io_uring.sockets_fallbacks"] = "{endpoint}",
        ["io_uring.memory_pool.pooled"] = "By",
        ["io_uring.memory_pool.allocated"] = "By",
        ["io_uring.memory_pool.evicted"] = "By",
        ["io_uring.memory_pool.rented"] = "By",
    };

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task CountersMatchTheConnectionsAndBytesOfRealRequests(IoUringReceiveMode mode)
    {
        const int Connections = 6;
        await using var server = await TestServer.StartAsync(Http1App.Map, options =>
        {
            options.RingCount = 2;
            options.ReceiveMode = mode;
        });
        using var metrics = new TransportMeterListener(server.App.Services.GetRequiredService<IMeterFactory>());

        Assert.Equal(s_instruments, metrics.Instruments.ToDictionary(i => i.Name, i => i.Unit ?? ""));
        Assert.All(metrics.Instruments, i => Assert.False(string.IsNullOrEmpty(i.Description)));

        // One connection held open: active counts it, then it is gone.
        using (var open = await RawHttpConnection.ConnectAsync(server.EndPoint))
        {
            await open.SendAsync(RawHttpConnection.Get("/plaintext"));
            (await open.ReadResponseAsync()).AssertServedOverIoUring(mode);
            var during = metrics.Collect();
            Assert.Equal(1, during.Sum("io_uring.active_connections"));
            Assert.Equal(1, during.Sum("io_uring.accepted_connections"));
        }

        Assert.True(await Bounded.PollAsync(() => metrics.Collect().Sum("io_uring.active_connections") == 0), "io_uring.active_connections did not return to 0");
        var afterFirst = metrics.Collect();
        long receivedBefore = afterFirst.Sum("io_uring.network.io", ("network.io.direction", "receive"));
        long sentBefore = afterFirst.Sum("io_uring.network.io", ("network.io.direction", "transmit"));

        // Then connections that each upload a body and read the echo to the server's FIN: every
        // byte either side put on the wire is known exactly.
        long clientSent = 0;
        long clientReceived = 0;
        for (int i = 0; i < Connections; i++)
        {
            byte[] body = TestData.Random(i, 20_000 + (i * 7_777));
            byte[] request = Encoding.ASCII.GetBytes($"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n")
                .Concat(body).ToArray();
            using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
            var send = connection.SendAsync(request);
            var (response, close) = await connection.ReadUntilClosedAsync();
            await send;
            Assert.Equal(PeerClose.Fin, close);
            Assert.EndsWith(Convert.ToHexString(body), Convert.ToHexString(response));
            Assert.Contains("X-Transport: io_uring", Encoding.ASCII.GetString(response, 0, 512));
            clientSent += request.Length;
            clientReceived += response.Length;
        }

        Assert.True(await Bounded.PollAsync(() => metrics.Collect().Sum("io_uring.active_connections") == 0), "io_uring.active_connections did not return to 0");
        var after = metrics.Collect();
        output.WriteLine(after.ToString());

        Assert.Equal(1 + Connections, after.Sum("io_uring.accepted_connections"));
        Assert.Equal(1 + Connections, server.IoUringAcceptedConnections);
        Assert.Equal(clientSent, after.Sum("io_uring.network.io", ("network.io.direction", "receive")) - receivedBefore);
        Assert.Equal(clientReceived, after.Sum("io_uring.network.io", ("network.io.direction", "transmit")) - sentBefore);

        // Per ring: each ring id once per instrument (twice for network.io), ids 0 and 1.
        foreach (string name in s_instruments.Keys.Where(n => n != "io_uring.sockets_fallbacks"))
        {
            int?[] expected = name == "io_uring.network.io" ? [0, 0, 1, 1] : [0, 1];
            Assert.Equal(expected, after.Of(name).Select(m => m.RingId).Order().ToArray());
        }

        // Each accept is a CQE, each connection at least one recv and send SQE; enters batch them.
        long enters = after.Sum("io_uring.enter_calls");
        long sqes = after.Sum("io_uring.submitted_sqes");
        long cqes = after.Sum("io_uring.reaped_cqes");
        Assert.True(enters > 0 && sqes >= 2 * (1 + Connections) && cqes >= 3 * (1 + Connections), $"enters {enters}, SQEs {sqes}, CQEs {cqes}");
        Assert.Equal(0, after.Sum("io_uring.cq.overflows"));
        Assert.Empty(after.Of("io_uring.sockets_fallbacks"));

        // Cumulative: a later collection never reads less.
        var later = metrics.Collect();
        foreach (string name in new[] { "io_uring.enter_calls", "io_uring.submitted_sqes", "io_uring.reaped_cqes", "io_uring.accepted_connections" })
        {
            Assert.True(later.Sum(name) >= after.Sum(name), name);
        }
    }

    [Fact]
    public async Task AnEmptyProvidedBufferRingIsCountedAndLosesNoBytes()
    {
        // One 1 KiB provided buffer for the ring: a multishot recv of a 256 KiB upload finds it lent
        // out again and again.
        await using var server = await TestServer.StartAsync(Http1App.Map, options =>
        {
            options.RingCount = 1;
            options.ReceiveMode = IoUringReceiveMode.BufferRing;
            options.BufferRingEntries = 1;
            options.BufferRingBufferSize = 1024;
        });
        using var metrics = new TransportMeterListener(server.App.Services.GetRequiredService<IMeterFactory>());
        using var client = server.CreateClient();

        // Whether the one buffer is still lent out when the next bytes arrive depends on thread
        // timing (with incremental consumption a buffer also serves several reads), so the pair of
        // uploads is repeated until an ENOBUFS was counted, at most 20 times; every byte is checked.
        var snapshot = metrics.Collect();
        for (int attempt = 0; attempt < 20 && snapshot.Sum("io_uring.buffer_ring.exhaustions") == 0; attempt++)
        {
            var uploads = Enumerable.Range(0, 2).Select(async i =>
            {
                byte[] body = TestData.Random(100 + i + attempt * 2, 256 * 1024);
                using var response = await client.PostAsync("/echo", new System.Net.Http.ByteArrayContent(body));
                Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
            });
            await Task.WhenAll(uploads);
            snapshot = metrics.Collect();
        }

        output.WriteLine(snapshot.ToString());
        Assert.True(snapshot.Sum("io_uring.buffer_ring.exhaustions") > 0, "no ENOBUFS completion was counted");
        Assert.True(snapshot.Sum("io_uring.network.io", ("network.io.direction", "receive")) > 2 * 256 * 1024);
    }

    [Fact]
    public async Task AFallbackToSocketsIsCountedPerEndpointWithItsErrno()
    {
        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/", () => "served"),
            configureTransport: options => options.SimulatedSetupErrno = 1, // EPERM, as under Docker's seccomp profile
            configureKestrel: options =>
            {
                options.Listen(IPAddress.Loopback, 0);
                options.Listen(IPAddress.Loopback, 0);
            });
        using var metrics = new TransportMeterListener(server.App.Services.GetRequiredService<IMeterFactory>());
        using var client = server.CreateClient(expectedTransport: "sockets");
        Assert.Equal("served", await client.GetStringAsync("/"));

        var snapshot = metrics.Collect();
        var fallback = Assert.Single(snapshot.Of("io_uring.sockets_fallbacks"));
        Assert.Equal(2, fallback.Value);
        Assert.Equal("EPERM", fallback.Tags["error.type"]);

        // No ring ever ran: no ring measurements at all.
        Assert.DoesNotContain(snapshot.Measurements, m => m.Instrument != "io_uring.sockets_fallbacks");
    }

    [Fact]
    public async Task CountersKeepCountingWhenTheRingsStopAndStartAgain()
    {
        // The rings stop when the last listener is disposed and start again with the next bind;
        // cumulative counters must not go back to 0 then (collectors would read a reset).
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var options = new IoUringTransportOptions { RingCount = 1, MeterFactory = meterFactory };
        var factory = new IoUringTransportFactory(Options.Create(options), NullLoggerFactory.Instance);
        using var metrics = new TransportMeterListener(meterFactory);

        long sentByClients = 0;
        for (int round = 1; round <= 2; round++)
        {
            var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
            try
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(listener.EndPoint).WaitAsync(Bounded.Wait);
                var connection = (await listener.AcceptAsync().AsTask().WaitAsync(Bounded.Wait))!;
                byte[] data = TestData.Random(round, 1000 * round);
                await client.SendAsync(data);
                sentByClients += data.Length;

                long read = 0;
                while (read < data.Length)
                {
                    var result = await connection.Transport.Input.ReadAsync().AsTask().WaitAsync(Bounded.Wait);
                    read += result.Buffer.Length;
                    connection.Transport.Input.AdvanceTo(result.Buffer.End);
                }

                Assert.Equal(round, metrics.Collect().Sum("io_uring.accepted_connections"));
                await connection.DisposeAsync().AsTask().WaitAsync(Bounded.Wait);
            }
            finally
            {
                await listener.UnbindAsync().AsTask().WaitAsync(Bounded.Wait);
                await listener.DisposeAsync().AsTask().WaitAsync(Bounded.Wait);
            }

            Assert.Null(factory.RingGroup.Rings); // stopped
            var snapshot = metrics.Collect();
            Assert.Equal(round, snapshot.Sum("io_uring.accepted_connections"));
            Assert.Equal(0, snapshot.Sum("io_uring.active_connections"));
            Assert.Equal(sentByClients, snapshot.Sum("io_uring.network.io", ("network.io.direction", "receive")));
        }
    }
}
