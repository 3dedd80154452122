using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// RLIMIT_MEMLOCK, as an unprivileged service meets it: the sample runs as a user without
/// capabilities (so CAP_IPC_LOCK does not lift the limit) under a memlock limit (prlimit), with the
/// ring memory plan of docs/configuration.md ("Locked memory").
/// </summary>
public sealed class SampleMemlockTests
{
    private const string Reduced = "The io_uring rings are reduced to fit locked memory";
    private const string FallBack = "falls back to the Sockets transport";

    [UnprivilegedFact]
    public async Task OnAManyCoreMachineUnderTheDefaultEightMiBTheDefaultRingsServeOnIoUring()
    {
        // 128 processors: the default ring count is capped at 16, which fits 8 MiB (16 × 144 KiB).
        var environment = new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = "128" };
        await using var server = await SampleServerProcess.StartAsync(UnprivilegedSample.Options(8 * 1024 * 1024, environment));

        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));
        Assert.Contains(server.Lines, l => l.Contains("on io_uring: 16 ring thread(s)", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Lines, l => l.Contains(Reduced, StringComparison.Ordinal) || l.Contains(FallBack, StringComparison.Ordinal));
    }

    [UnprivilegedFact]
    public async Task UnderTheOldDockerDefaultOf64KiBSmallerRingsServeOnIoUringWithOneWarning()
    {
        var environment = new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = "128" };
        await using var server = await SampleServerProcess.StartAsync(UnprivilegedSample.Options(64 * 1024, environment));

        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));
        Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));

        // 16 rings of 1,024 entries need 16 × 147,456 bytes; one ring of 256 entries (45,056) fits.
        string warning = Assert.Single(server.Lines, l => l.Contains(Reduced, StringComparison.Ordinal));
        Assert.Contains("RLIMIT_MEMLOCK is 65536 bytes", warning, StringComparison.Ordinal);
        Assert.Contains("16 ring(s) of 1024 entries need 2359296 bytes", warning, StringComparison.Ordinal);
        Assert.Contains("running 1 ring(s) of 256 entries (45056 bytes)", warning, StringComparison.Ordinal);
        Assert.Contains("LimitMEMLOCK=", warning, StringComparison.Ordinal);
        Assert.Contains(server.Lines, l => l.Contains("on io_uring: 1 ring thread(s)", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Lines, l => l.Contains(FallBack, StringComparison.Ordinal));
    }

    [UnprivilegedFact]
    public async Task WithNoLockedMemoryAtAllTheSampleServesOnSocketsWithOneWarningSayingWhatToRaise()
    {
        await using var server = await SampleServerProcess.StartAsync(UnprivilegedSample.Options(0, new Dictionary<string, string>()));

        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("sockets", await client.GetStringAsync("/transport"));
        Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));

        string warning = Assert.Single(server.Lines, l => l.Contains(FallBack, StringComparison.Ordinal));
        Assert.Contains("ENOMEM", warning, StringComparison.Ordinal);
        Assert.Contains("RLIMIT_MEMLOCK is 0 bytes", warning, StringComparison.Ordinal);
        Assert.Contains("not even one ring of 16 entries (12288 bytes) fits", warning, StringComparison.Ordinal);
        Assert.Contains("LimitMEMLOCK=", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Lines, l => l.Contains(Reduced, StringComparison.Ordinal));
    }

    [UnprivilegedFact]
    public async Task WhenAnotherProcessOfTheSameUserHoldsPartOfTheLimitTheRingsThatFitServeWithOneWarning()
    {
        // The kernel charges the user: two servers of one user id share 1 MiB. The first takes four
        // default rings (4 × 147,456 bytes); the second plans four too, but only three can be created.
        int user = UnprivilegedSample.NewUserId();
        var environment = new Dictionary<string, string> { ["Kestrel__Transport__IoUring__RingCount"] = "4" };
        await using var first = await SampleServerProcess.StartAsync(UnprivilegedSample.Options(1024 * 1024, environment, user));
        Assert.Contains(first.Lines, l => l.Contains("on io_uring: 4 ring thread(s)", StringComparison.Ordinal));

        await using var second = await SampleServerProcess.StartAsync(UnprivilegedSample.Options(1024 * 1024, environment, user));
        using var client = new HttpClient { BaseAddress = second.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));
        Assert.Contains(second.Lines, l => l.Contains("on io_uring: 3 ring thread(s)", StringComparison.Ordinal));
        string warning = Assert.Single(second.Lines, l => l.Contains(Reduced, StringComparison.Ordinal));
        Assert.Contains("the user's other processes", warning, StringComparison.Ordinal);
        Assert.Contains("running 3 ring(s) of 1024 entries", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(second.Lines, l => l.Contains(FallBack, StringComparison.Ordinal));
    }

    [UnprivilegedFact]
    public async Task PipeMemoryThatDoesNotFitRlimitMemlockIsReadWithPlainRecvAndNothingIsLost()
    {
        // One PollAndReceive ring (136 KiB of ring memory) fits 192 KiB; a 128 KiB pipe-memory slab then does not.
        var environment = new Dictionary<string, string>
        {
            ["Kestrel__Transport__IoUring__RingCount"] = "1",
            ["Kestrel__Transport__IoUring__ReceiveMode"] = "PollAndReceive",
        };
        await using var server = await SampleServerProcess.StartAsync(UnprivilegedSample.Options(192 * 1024, environment));

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
        Assert.DoesNotContain(server.Lines, l => l.Contains(FallBack, StringComparison.Ordinal) || l.Contains(Reduced, StringComparison.Ordinal));
    }

    /// <summary>A fact that runs the sample unprivileged; skipped only where that cannot be done at all (not root).</summary>
    private sealed class UnprivilegedFactAttribute : FactAttribute
    {
        public UnprivilegedFactAttribute()
        {
            if (UnprivilegedSample.WhyNot() is string reason)
            {
                Skip = reason;
            }
        }
    }
}
