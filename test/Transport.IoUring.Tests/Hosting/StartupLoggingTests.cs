using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Hosting;

public class StartupLoggingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1, "seccomp")]   // EPERM: Docker's default seccomp profile blocks io_uring_setup
    [InlineData(38, "kernel")]   // ENOSYS: a kernel without io_uring
    public async Task WhenIoUringSetupFailsTheServerFallsBackToSocketsAndSaysWhyOnce(int errno, string reasonMentions)
    {
        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/", () => "served"),
            configureTransport: options => options.SimulatedSetupErrno = errno,
            configureKestrel: options =>
            {
                options.Listen(IPAddress.Loopback, 0);
                options.Listen(IPAddress.Loopback, 0);
            },
            output: output);
        using var client = server.CreateClient(expectedTransport: "sockets");

        Assert.Equal("served", await client.GetStringAsync("/"));

        var fallback = Assert.Single(server.Logs.Entries, e => e.EventId.Name == "FallingBackToSockets");
        Assert.Equal(LogLevel.Warning, fallback.Level);
        Assert.Contains(reasonMentions, fallback.Message);
        Assert.Contains(errno == 1 ? "EPERM" : "ENOSYS", fallback.Message);
        Assert.DoesNotContain(server.Logs.Entries, e => e.EventId.Name == "Serving");
        Assert.Equal(0, server.IoUringAcceptedConnections);
        Assert.False(server.Factory!.IsIoUringAvailable);
        Assert.NotNull(server.Factory.UnavailableReason);
    }

    [Theory]
    [InlineData(Transport.IoUring.Interop.Opcode.Recv)]
    [InlineData(Transport.IoUring.Interop.Opcode.Accept)]
    [InlineData(Transport.IoUring.Interop.Opcode.SendMsg)]
    public async Task AKernelLackingARequiredOpcodeFallsBackToSocketsAndNamesTheOpcodeOnce(byte opcode)
    {
        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/", () => "served"),
            configureTransport: options => options.SimulatedMissingOpcode = opcode,
            output: output);
        using var client = server.CreateClient(expectedTransport: "sockets");

        Assert.Equal("served", await client.GetStringAsync("/"));
        var fallback = Assert.Single(server.Logs.Entries, e => e.EventId.Name == "FallingBackToSockets");
        Assert.Contains($"lacks io_uring opcode {opcode}", fallback.Message);
        Assert.Equal(0, server.IoUringAcceptedConnections);
    }

    [Fact]
    public async Task ANormalStartLogsOneServingLinePerEndpointWithRingCountAndReceiveMode()
    {
        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/", () => "served"),
            configureTransport: options =>
            {
                options.RingCount = 2;
                options.ReceiveMode = IoUringReceiveMode.PollAndReceive;
            },
            configureKestrel: options =>
            {
                options.Listen(IPAddress.Loopback, 0);
                options.Listen(IPAddress.Loopback, 0);
            },
            output: output);
        using var client = server.CreateClient();
        Assert.Equal("served", await client.GetStringAsync("/"));

        var serving = server.Logs.Entries.Where(e => e.EventId.Name == "Serving").ToArray();
        Assert.Equal(2, serving.Length);
        Assert.All(serving, e =>
        {
            Assert.Equal(LogLevel.Information, e.Level);
            Assert.Equal("Transport.IoUring", e.Category);
            Assert.Contains("2 ring thread(s)", e.Message);
            Assert.Contains("receive mode PollAndReceive", e.Message);
        });
        Assert.Equal(2, serving.Select(e => e.Message).Distinct().Count()); // one per endpoint, each naming its own
        Assert.DoesNotContain(server.Logs.Entries, e => e.EventId.Name == "FallingBackToSockets");
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= LogLevel.Warning && e.Category.StartsWith("Transport.IoUring", System.StringComparison.Ordinal));
    }
}
