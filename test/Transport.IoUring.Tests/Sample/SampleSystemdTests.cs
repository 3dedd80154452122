using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// Socket activation as deploy/systemd/transport-iouring-sample.{socket,service} set it up, driven by
/// systemd-socket-activate: it owns the listen socket, starts the sample on the first connection
/// with the socket as fd 3 (LISTEN_FDS), and the sample serves that inherited socket on io_uring,
/// as the unprivileged user and under the LimitMEMLOCK of the unit.
/// </summary>
public sealed class SampleSystemdTests
{
    [SocketActivationFact]
    public async Task ASocketActivatedUnprivilegedServiceServesTheInheritedSocketOnIoUring()
    {
        int port = SampleServerProcess.GetFreeTcpPorts(1)[0];
        var unprivileged = UnprivilegedSample.Options(8 * 1024 * 1024, new Dictionary<string, string>());
        var options = unprivileged with
        {
            Urls = null,
            CommandPrefix =
            [
                .. unprivileged.CommandPrefix,
                "systemd-socket-activate", "-l", $"127.0.0.1:{port}",
                "-E", "Kestrel__Transport__IoUring__RingCount=2",
                "-E", "DOTNET_CLI_TELEMETRY_OPTOUT=1",
            ],
        };
        await using var server = SampleServerProcess.Launch(options);
        await server.WaitForOutputAsync($"Listening on 127.0.0.1:{port} as 3.", SampleServerProcess.StartTimeout);

        // The first connection starts the service; it waits in the socket's backlog meanwhile.
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));
        await server.WaitForStartedAsync();

        Assert.Contains(server.Lines, l => l.Contains($"Kestrel is serving 127.0.0.1:{port} on io_uring: 2 ring thread(s)", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Lines, l => l.Contains("falls back to the Sockets transport", StringComparison.Ordinal) || l.Contains("reduced to fit locked memory", StringComparison.Ordinal));
        string health = await client.GetStringAsync("/health");
        Assert.Contains($"endpoint 127.0.0.1:{port} = io_uring", health, StringComparison.Ordinal);

        // systemd-socket-activate execs the service in its own process, so SIGTERM reaches Kestrel, which stops gracefully.
        server.SendSigterm();
        Assert.Equal(0, await server.WaitForExitAsync(SampleServerProcess.ExitTimeout));
        Assert.Contains(server.Lines, l => l.Contains("Application is shutting down", StringComparison.Ordinal));
    }

    /// <summary>Needs systemd-socket-activate (Debian package systemd; .ci/run installs it) and root to drop privileges.</summary>
    private sealed class SocketActivationFactAttribute : FactAttribute
    {
        public SocketActivationFactAttribute()
        {
            if (UnprivilegedSample.WhyNot() is string reason)
            {
                Skip = reason;
            }
            else if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "systemd-socket-activate"))))
            {
                Skip = "systemd-socket-activate is not installed (Debian package systemd)";
            }
        }
    }
}
