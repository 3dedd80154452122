using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// RLIMIT_MEMLOCK, as an unprivileged service meets it: the sample runs as nobody (setpriv, no
/// capabilities, so CAP_IPC_LOCK does not lift the limit) under a small memlock limit (prlimit).
/// </summary>
public sealed partial class SampleMemlockTests
{
    [RootFact]
    public async Task RingsThatDoNotFitRlimitMemlockFallBackToSocketsWithOneWarning()
    {
        await using var server = await SampleServerProcess.StartAsync(Unprivileged(memlockBytes: 64 * 1024, new()));

        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("sockets", await client.GetStringAsync("/transport"));
        Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));
        Assert.Single(server.Lines, l => l.Contains("falls back to the Sockets transport", StringComparison.Ordinal));
        Assert.Contains(server.Lines, l => l.Contains("ENOMEM", StringComparison.Ordinal) && l.Contains("RLIMIT_MEMLOCK", StringComparison.Ordinal));
    }

    [RootFact]
    public async Task PipeMemoryThatDoesNotFitRlimitMemlockIsReadWithPlainRecvAndNothingIsLost()
    {
        // One ring (~136 KiB of ring memory) fits 192 KiB; a 128 KiB pipe-memory slab then does not.
        var environment = new Dictionary<string, string>
        {
            ["IoUring__RingCount"] = "1",
            ["IoUring__ReceiveMode"] = "PollAndReceive",
        };
        await using var server = await SampleServerProcess.StartAsync(Unprivileged(memlockBytes: 192 * 1024, environment));

        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));

        // Small enough that HttpClient (which sends the whole body before reading) cannot deadlock.
        var body = RandomNumberGenerator.GetBytes(256 * 1024);
        var echoes = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var response = await client.PostAsync("/echo", new ByteArrayContent(body));
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadAsByteArrayAsync();
        }));

        Assert.All(echoes, echo => Assert.Equal(SHA256.HashData(body), SHA256.HashData(echo)));
        Assert.Contains(server.Lines, l => l.Contains("could not register pipe memory slab", StringComparison.Ordinal) && l.Contains("ENOMEM", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Lines, l => l.Contains("falls back to the Sockets transport", StringComparison.Ordinal));
    }

    private static SampleServerOptions Unprivileged(int memlockBytes, Dictionary<string, string> environment) => new()
    {
        Environment = environment,
        CommandPrefix =
        [
            "prlimit", $"--memlock={memlockBytes}:{memlockBytes}",
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
        ],
    };

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    /// <summary>A fact that needs root, to drop to an unprivileged user; skipped with that reason otherwise.</summary>
    private sealed class RootFactAttribute : FactAttribute
    {
        public RootFactAttribute()
        {
            if (GetEuid() != 0)
            {
                Skip = "needs root to run the sample as an unprivileged user (setpriv)";
            }
            else if (FirstPathNobodyCannotRead() is string blocked)
            {
                Skip = $"the unprivileged user cannot read {blocked} (the checkout or the SDK is not world-readable)";
            }
        }

        private static string? FirstPathNobodyCannotRead()
        {
            if (!OperatingSystem.IsLinux())
            {
                return "(not Linux)";
            }

            foreach (string file in new[] { SampleServerProcess.FindWebAppDll(), SampleServerProcess.FindDotnet() })
            {
                if ((File.GetUnixFileMode(file) & UnixFileMode.OtherRead) == 0)
                {
                    return file;
                }

                for (var dir = new DirectoryInfo(Path.GetDirectoryName(Path.GetFullPath(file))!); dir is not null; dir = dir.Parent)
                {
                    if ((dir.UnixFileMode & UnixFileMode.OtherExecute) == 0)
                    {
                        return dir.FullName;
                    }
                }
            }

            return null;
        }
    }
}
