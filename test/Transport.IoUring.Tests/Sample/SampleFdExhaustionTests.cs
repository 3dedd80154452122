using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// File-descriptor exhaustion (EMFILE on accept), in a process of its own: RLIMIT_NOFILE is
/// process-wide, and lowering it inside the test host starves the runtime itself.
/// </summary>
public sealed class SampleFdExhaustionTests(ITestOutputHelper output)
{
    private const int FdLimit = 1000;

    [Fact]
    public async Task OutOfFileDescriptorsTheServerBacksOffWarnsOnceAndServesAgainWhenFdsComeBack()
    {
        SampleServerProcess? started = null;
        try
        {
            await RunAsync(s => started = s);
        }
        catch (Exception ex) when (started is not null)
        {
            throw new InvalidOperationException($"{ex.Message}\n--- the sample's output ends with:\n{string.Join("\n", started.Lines.TakeLast(40))}", ex);
        }
    }

    private async Task RunAsync(Action<SampleServerProcess> onStarted)
    {
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions
        {
            Environment = new Dictionary<string, string> { ["Kestrel__Transport__IoUring__RingCount"] = "1" },
            CommandPrefix = ["prlimit", $"--nofile={FdLimit}:{FdLimit}"],
        });
        onStarted(server);
        var endPoint = new IPEndPoint(IPAddress.Loopback, server.BaseAddress.Port);

        // Warm the paths an exhausted process would otherwise have to load.
        using (var warm = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) })
        {
            Assert.Equal("io_uring", await warm.GetStringAsync("/transport"));
        }

        // More connections than the server has fds: the kernel completes the handshakes (backlog),
        // accept fails with EMFILE.
        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < FdLimit + 50; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(socket);
                await socket.ConnectAsync(endPoint).WaitAsync(TimeSpan.FromSeconds(10));
            }

            Assert.True(await Bounded(() => server.Lines.Any(IsBackoffWarning)), "no accept backoff warning while out of fds");

            // While exhausted: no spinning, no warning flood.
            long ticksBefore = CpuTicks(server.Pid);
            await Task.Delay(TimeSpan.FromSeconds(3));
            long ticks = CpuTicks(server.Pid) - ticksBefore;
            int warnings = server.Lines.Count(IsBackoffWarning);
            output.WriteLine($"while out of fds for 3 s: {ticks} clock ticks of CPU, {warnings} backoff warning(s)");
            Assert.True(ticks < 100, $"the server used {ticks} clock ticks (1/100 s) of CPU in 3 s while out of fds: it spins");
            Assert.Equal(1, warnings);
            Assert.False(server.HasExited, "the server exited while out of fds");
        }
        finally
        {
            foreach (var socket in clients)
            {
                socket.Dispose();
            }
        }

        // Fds come back as the clients go: the server accepts and serves again.
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.True(await Bounded(async () =>
        {
            try
            {
                return await client.GetStringAsync("/transport") == "io_uring";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }), "the server did not serve again after the fds came back; its output ends with:\n" + string.Join("\n", server.Lines.TakeLast(30)));
        Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));
    }

    private static bool IsBackoffWarning(string line) => line.Contains("retrying in", StringComparison.Ordinal) && line.Contains("EMFILE", StringComparison.Ordinal);

    /// <summary>utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).</summary>
    private static long CpuTicks(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static Task<bool> Bounded(Func<bool> condition) => Bounded(() => Task.FromResult(condition()));

    private static async Task<bool> Bounded(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }
}
