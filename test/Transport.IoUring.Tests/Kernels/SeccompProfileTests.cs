using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Transport.IoUring.Tests.Sample;
using Xunit;

namespace Transport.IoUring.Tests.Kernels;

/// <summary>
/// The container seccomp story of docs/containers.md, with the profiles loaded as real seccomp
/// filters around the sample: under a profile shaped like Docker's default (io_uring not allowed,
/// EPERM) the sample serves on Sockets with one warning; under the profile that
/// deploy/seccomp/allow-io-uring.py derives from it, on io_uring.
/// </summary>
public sealed class SeccompProfileTests
{
    private static string Repository => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SampleServerProcess.FindWebAppDll())!, "..", "..", "..", "..", ".."));

    private static string DefaultLikeProfile => Path.Combine(Repository, "test", "Transport.IoUring.Tests", "Kernels", "TestData", "docker-default-like.json");

    [Fact]
    public async Task UnderTheDefaultLikeProfileTheSampleServesOnSocketsWithOneEpermWarning()
    {
        string launcher = SeccompProfileLauncher.Build(DefaultLikeProfile);
        try
        {
            await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions { CommandPrefix = [launcher] });

            using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal("sockets", await client.GetStringAsync("/transport"));
            Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));
            string warning = Assert.Single(server.Lines, l => l.Contains("falls back to the Sockets transport", StringComparison.Ordinal));
            Assert.Contains("EPERM", warning, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(launcher)!, recursive: true);
        }
    }

    [Fact]
    public async Task UnderTheDerivedProfileTheSampleServesOnIoUring()
    {
        string derived = await DeriveAsync(DefaultLikeProfile);
        string launcher = SeccompProfileLauncher.Build(derived);
        try
        {
            await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions { CommandPrefix = [launcher] });

            using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal("io_uring", await client.GetStringAsync("/transport"));
            Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));
            Assert.DoesNotContain(server.Lines, l => l.Contains("falls back to the Sockets transport", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(derived);
            Directory.Delete(Path.GetDirectoryName(launcher)!, recursive: true);
        }
    }

    [Fact]
    public async Task TheDerivedProfileIsTheInputPlusOneRuleAllowingTheThreeIoUringSyscalls()
    {
        // A profile that also denies io_uring by name, as some runtimes' defaults have.
        var input = JsonNode.Parse(File.ReadAllText(DefaultLikeProfile))!.AsObject();
        input["syscalls"]!.AsArray().Add(new JsonObject
        {
            ["names"] = new JsonArray("io_uring_setup", "reboot"),
            ["action"] = "SCMP_ACT_ERRNO",
            ["errnoRet"] = 1,
        });
        string inputPath = Path.Combine(Path.GetTempPath(), $"iouring-profile-{Guid.NewGuid():N}.json");
        File.WriteAllText(inputPath, input.ToJsonString());
        string derived = await DeriveAsync(inputPath);
        try
        {
            var output = JsonNode.Parse(File.ReadAllText(derived))!.AsObject();
            Assert.Equal(input["defaultAction"]!.ToJsonString(), output["defaultAction"]!.ToJsonString());
            Assert.Equal(input["defaultErrnoRet"]!.ToJsonString(), output["defaultErrnoRet"]!.ToJsonString());

            var inRules = input["syscalls"]!.AsArray();
            var outRules = output["syscalls"]!.AsArray();
            Assert.Equal(inRules.Count + 1, outRules.Count);
            Assert.Equal(inRules[0]!.ToJsonString(), outRules[0]!.ToJsonString());
            Assert.Equal(["reboot"], outRules[1]!["names"]!.AsArray().Select(n => n!.GetValue<string>()));
            Assert.Equal(["io_uring_setup", "io_uring_enter", "io_uring_register"], outRules[2]!["names"]!.AsArray().Select(n => n!.GetValue<string>()));
            Assert.Equal("SCMP_ACT_ALLOW", outRules[2]!["action"]!.GetValue<string>());
        }
        finally
        {
            File.Delete(inputPath);
            File.Delete(derived);
        }
    }

    private static async Task<string> DeriveAsync(string profile)
    {
        string script = Path.Combine(Repository, "deploy", "seccomp", "allow-io-uring.py");
        var result = await ChildProcess.RunAsync("python3", [script, profile], TimeSpan.FromMinutes(1));
        Assert.True(result.ExitCode == 0, result.Log);
        string derived = Path.Combine(Path.GetTempPath(), $"iouring-profile-derived-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(derived, result.Stdout);
        return derived;
    }
}
