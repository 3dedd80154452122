using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// One configuration section, Kestrel:Transport:IoUring, as the host reads it: appsettings.json,
/// then environment variables, then the command line, each overriding the one before it key by
/// key (code, UseIoUring(o => ...), overrides all: ConfigurationBindingTests). A key no option
/// binds is named in one warning.
/// </summary>
public sealed class SampleConfigurationPrecedenceTests : IDisposable
{
    private readonly string _contentRoot = Path.Combine(Path.GetTempPath(), $"iouring-precedence-{Guid.NewGuid():N}");

    public SampleConfigurationPrecedenceTests()
    {
        Directory.CreateDirectory(_contentRoot);
        File.WriteAllText(Path.Combine(_contentRoot, "appsettings.json"), """
            {
              "Logging": { "LogLevel": { "Default": "Information", "Microsoft.AspNetCore": "Warning" } },
              "Kestrel": { "Transport": { "IoUring": { "RingCount": 1, "ReceiveMode": "PollAndReceive", "RingEntries": 64 } } }
            }
            """);
    }

    public void Dispose() => Directory.Delete(_contentRoot, recursive: true);

    [Fact]
    public async Task EnvironmentVariablesOverrideAppSettingsAndTheCommandLineOverridesBoth()
    {
        await using (var server = await StartAsync(new() { ["Kestrel__Transport__IoUring__RingCount"] = "2" }))
        {
            // RingCount from the environment; ReceiveMode from appsettings.json.
            Assert.Contains(server.Lines, l => l.Contains("on io_uring: 2 ring thread(s), receive mode PollAndReceive", StringComparison.Ordinal));
            await AssertServesOnIoUringAsync(server);
        }

        await using (var server = await StartAsync(new() { ["Kestrel__Transport__IoUring__RingCount"] = "2" }, "--Kestrel:Transport:IoUring:RingCount=3", "--Kestrel:Transport:IoUring:ReceiveMode=BufferRing"))
        {
            Assert.Contains(server.Lines, l => l.Contains("on io_uring: 3 ring thread(s), receive mode BufferRing", StringComparison.Ordinal));
            await AssertServesOnIoUringAsync(server);
        }

        await using (var server = await StartAsync(new()))
        {
            Assert.Contains(server.Lines, l => l.Contains("on io_uring: 1 ring thread(s), receive mode PollAndReceive", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task AKeyNoOptionBindsIsNamedInOneWarningAndTheRestStillApplies()
    {
        await using var server = await StartAsync(new()
        {
            ["Kestrel__Transport__IoUring__RingCuont"] = "2",
            ["Kestrel__Transport__IoUring__RecieveMode"] = "BufferRing",
        });

        string warning = Assert.Single(server.Lines, l => l.Contains("has key(s) no option binds", StringComparison.Ordinal));
        Assert.Contains("ignored: RecieveMode, RingCuont.", warning, StringComparison.Ordinal);
        Assert.Contains("RingCount", warning, StringComparison.Ordinal);
        Assert.Contains(server.Lines, l => l.Contains("on io_uring: 1 ring thread(s), receive mode PollAndReceive", StringComparison.Ordinal));
        await AssertServesOnIoUringAsync(server);
    }

    [Fact]
    public async Task WithOnlyKnownKeysThereIsNoWarning()
    {
        await using var server = await StartAsync(new() { ["Kestrel__Transport__IoUring__Backlog"] = "128" });
        Assert.DoesNotContain(server.Lines, l => l.Contains("no option binds", StringComparison.Ordinal));
    }

    private Task<SampleServerProcess> StartAsync(Dictionary<string, string> environment, params string[] arguments) =>
        SampleServerProcess.StartAsync(new SampleServerOptions
        {
            Environment = environment,
            Arguments = ["--contentRoot", _contentRoot, .. arguments],
        });

    private static async Task AssertServesOnIoUringAsync(SampleServerProcess server)
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));
    }
}
