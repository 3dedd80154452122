using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Transport.IoUring.Tests.Kernels;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// The switch and the question without code: Kestrel:Transport:IoUring:Enabled=false serves on
/// Sockets with one Information line, and the health check (GET /health of the sample, over HTTP)
/// says which transport serves each endpoint and how the rings are.
/// </summary>
public sealed class SampleHealthTests
{
    [Fact]
    public async Task TheHealthCheckReportsEachEndpointOnIoUringAndTheRings()
    {
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions { Urls = "http://127.0.0.1:0;http://[::1]:0" });
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using var response = await client.GetAsync(new Uri(server.BaseAddress, "/health"));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("Healthy\n", body, StringComparison.Ordinal);
        Assert.Contains("io_uring: Healthy: 2 endpoint(s) on io_uring", body, StringComparison.Ordinal);
        foreach (var address in server.ListeningAddresses)
        {
            Assert.Contains($"endpoint {address.Host}:{address.Port} = io_uring", body, StringComparison.Ordinal);
        }

        Assert.Contains($"rings = {Math.Min(Environment.ProcessorCount, 16)}", body, StringComparison.Ordinal);
        Assert.Contains("ring_entries = 1024", body, StringComparison.Ordinal);
        Assert.Contains("receive_mode = BufferRing", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Kestrel__Transport__IoUring__Enabled", "false")]
    [InlineData("Kestrel__Transport__IoUring__Enabled", "False")]
    public async Task EnabledFalseServesOnSocketsWithOneInformationLineAndNoWarning(string variable, string value)
    {
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions
        {
            Environment = new Dictionary<string, string> { [variable] = value },
        });
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal("sockets", await client.GetStringAsync("/transport"));
        Assert.Single(server.Lines, l => l.Contains("io_uring is switched off", StringComparison.Ordinal));
        Assert.Contains(server.Lines, l => l.StartsWith("info: Transport.IoUring[41]", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Lines, l => l.StartsWith("warn:", StringComparison.Ordinal));

        string health = await client.GetStringAsync("/health");
        Assert.StartsWith("Healthy\n", health, StringComparison.Ordinal);
        Assert.Contains("switched off", health, StringComparison.Ordinal);
        Assert.Contains("rings = 0", health, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnabledFalseOnTheCommandLineServesOnSocketsToo()
    {
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions { Arguments = ["--Kestrel:Transport:IoUring:Enabled=false"] });
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("sockets", await client.GetStringAsync("/transport"));
    }

    [Fact]
    public async Task WhenSeccompBlocksIoUringTheHealthCheckIsDegradedAndSaysWhy()
    {
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions
        {
            CommandPrefix = [SeccompLauncher.Path, "1"],
        });
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal("sockets", await client.GetStringAsync("/transport"));
        string health = await client.GetStringAsync("/health");
        Assert.StartsWith("Degraded\n", health, StringComparison.Ordinal);
        var address = server.ListeningAddresses.Single();
        Assert.Contains($"endpoint {address.Host}:0 = sockets: io_uring_setup returned EPERM", health, StringComparison.Ordinal);
        Assert.Contains("rings = 0", health, StringComparison.Ordinal);
    }
}
