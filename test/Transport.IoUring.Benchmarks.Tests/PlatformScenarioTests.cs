using System;
using System.IO;
using System.Linq;
using Transport.IoUring.Benchmarks.Network;
using Transport.IoUring.Benchmarks.Running;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>The platform scenarios run build/PlatformServer; the sockets-te row is Sockets as TechEmpower sets it.</summary>
public sealed class PlatformScenarioTests
{
    private static HarnessSettings Settings(params TransportVariant[] transports) => new()
    {
        Scenarios = Scenario.All, Transports = transports, DurationSeconds = 2, WarmupSeconds = 0, Rounds = 1,
        ServerCpus = "0", ClientCpus = "1", OutputDirectory = "x", RepositoryRoot = "/repo",
    };

    [Fact]
    public void PlatformScenariosAreTechEmpowersThreeTestsWithWrkOnThePlatformServer()
    {
        var platform = Scenario.Select(["platform-plaintext-wrk", "platform-pipelined", "platform-json"]);

        Assert.All(platform, s => Assert.Equal(ServerApp.Platform, s.App));
        Assert.All(platform, s => Assert.Equal(LoadTool.Wrk, s.Tool));
        Assert.All(platform, s => Assert.True(s.IsStaticResponse));
        Assert.Equal(["/plaintext", "/plaintext", "/json"], platform.Select(s => s.Path));
        Assert.Equal([1, 16, 1], platform.Select(s => s.PipelineDepth));
        Assert.Equal([64, 256, 64], platform.Select(s => s.Connections));
        Assert.All(Scenario.All.Where(s => !s.Name.StartsWith("platform-", StringComparison.Ordinal)), s => Assert.Equal(ServerApp.Sample, s.App));
    }

    [Fact]
    public void PlatformScenariosRunThePlatformServerBuildAndTheOthersTheSample()
    {
        var sockets = TransportVariant.Select(["sockets"]).Single();
        var settings = Settings(sockets);

        Assert.Equal(Path.Combine("/repo", "build", "PlatformServer", "bin", "Release", "net10.0", "PlatformServer.dll"),
            settings.ServerDllFor(sockets, Scenario.Select(["platform-json"]).Single()));
        Assert.Equal(settings.SampleDll, settings.ServerDllFor(sockets, Scenario.Select(["json-64-wrk"]).Single()));
    }

    [Fact]
    public void SocketsTeRowSetsTechEmpowersSocketsSettingsAndIsServedBySockets()
    {
        var te = TransportVariant.Select(["sockets-te"]).Single();

        Assert.Equal("sockets", te.SampleTransport);
        Assert.Equal("sockets", te.ExpectedServedBy);
        Assert.False(te.ExpectsIoUring);
        Assert.Equal("1", te.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
        Assert.Equal("true", te.Environment["Sockets__UnsafePreferInlineScheduling"]);
        Assert.Equal("false", te.Environment["Sockets__WaitForDataBeforeAllocatingBuffer"]);
        Assert.All(Scenario.All, s => Assert.True(te.Serves(s)));
        Assert.DoesNotContain(TransportVariant.DefaultNames, n => n == "sockets-te");
    }

    [Fact]
    public void PlatformServerCommandTakesTheRowsTransportUrlsAndEnvironmentLikeTheSample()
    {
        var te = TransportVariant.Select(["sockets-te"]).Single();
        string dll = Path.Combine("/repo", "build", "PlatformServer", "bin", "Release", "net10.0", "PlatformServer.dll");

        var startInfo = BenchmarkServer.SampleCommand(dll, te, ServerEndpoint.Http, "0", NetworkPath.Loopback, 5000, certificate: null!);

        Assert.Equal("taskset", startInfo.FileName);
        Assert.Equal(["-c", "0", "dotnet", dll, "--transport", "sockets", "--urls", "http://127.0.0.1:5000"], startInfo.ArgumentList);
        Assert.Equal(Path.GetDirectoryName(dll), startInfo.WorkingDirectory);
        Assert.Equal("1", startInfo.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
        Assert.Equal("false", startInfo.Environment["Sockets__WaitForDataBeforeAllocatingBuffer"]);
    }

    [Fact]
    public void IoUringInlineRowSetsTheOptionThePlatformServerBindsFromKestrelTransportIoUring()
    {
        var inline = TransportVariant.Select(["iouring-inline"]).Single();

        Assert.Equal("true", inline.Environment["Kestrel__Transport__IoUring__UnsafePreferInlineScheduling"]);
        Assert.True(inline.ExpectsIoUring);
    }

    [Fact]
    public void BaselineRowSkipsThePlatformScenariosUnlessItsDirectoryHasAPlatformServer()
    {
        string directory = Directory.CreateTempSubdirectory("baseline-platform-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "WebApp.dll"), "");
            var baseline = TransportVariant.Baseline(directory);

            var platform = Scenario.Select(["platform-plaintext-wrk"]).Single();
            Assert.False(baseline.Serves(platform));
            Assert.True(baseline.Serves(Scenario.Select(["plaintext-64-wrk"]).Single()));

            // The other commit's PlatformServer.dll copied beside its WebApp.dll: the row runs it.
            File.WriteAllText(Path.Combine(directory, "PlatformServer.dll"), "");
            var settings = new HarnessSettings
            {
                Scenarios = Scenario.All, Transports = [baseline], DurationSeconds = 5, WarmupSeconds = 6, Rounds = 3,
                ServerCpus = "0", ClientCpus = "1", OutputDirectory = "x", RepositoryRoot = "/repo",
            };
            Assert.True(baseline.Serves(platform));
            Assert.Equal(Path.Combine(directory, "PlatformServer.dll"), settings.ServerDllFor(baseline, platform));
            Assert.Equal(settings.PlatformDll, settings.ServerDllFor(TransportVariant.Select(["iouring"]).Single(), platform));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
