using System;
using System.IO;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// The package as a user gets it: build/pack-smoke.sh packs the library to a local feed, creates a
/// fresh <c>dotnet new web</c> app that restores it from there, adds <c>UseIoUring()</c>, runs it
/// and checks a request is served on io_uring. The same script on a build whose UseIoUring()
/// registers no transport must fail: it packs a version of its own into an empty package folder,
/// so no cached package can stand in for the one just built.
/// </summary>
public sealed class PackageSmokeTests(ITestOutputHelper output)
{
    private const string Registration = "services.AddSingleton<IConnectionListenerFactory, IoUringTransportFactory>();";

    [Fact]
    public async Task ThePackedPackageInstalledIntoAFreshAppServesOnIoUring()
    {
        var result = await RunSmokeAsync(project: null);
        Assert.True(result.ExitCode == 0, $"build/pack-smoke.sh failed ({result.ExitCode}):\n{result.Log}");
        Assert.Contains("GET /transport -> io_uring", result.Log, StringComparison.Ordinal);
        Assert.Contains("restored: 0.0.0-smoke.", result.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThePackSmokeFailsOnABuildWhoseUseIoUringRegistersNoTransport()
    {
        // A copy of the library (with the repository files its project imports) without the registration.
        string copy = Path.Combine(Path.GetTempPath(), $"iouring-broken-{Guid.NewGuid():N}");
        try
        {
            foreach (string file in new[] { "Directory.Build.props", "Directory.Packages.props", "README.md", "global.json", "NuGet.config" })
            {
                Directory.CreateDirectory(copy);
                File.Copy(Path.Combine(Repository, file), Path.Combine(copy, file));
            }

            Directory.CreateDirectory(Path.Combine(copy, "build"));
            File.Copy(Path.Combine(Repository, "build", "Version.targets"), Path.Combine(copy, "build", "Version.targets"));
            string project = Path.Combine(copy, "src", "Transport.IoUring");
            CopySources(Path.Combine(Repository, "src", "Transport.IoUring"), project);
            string extensions = Path.Combine(project, "WebHostBuilderIoUringExtensions.cs");
            string source = File.ReadAllText(extensions);
            Assert.Contains(Registration, source, StringComparison.Ordinal);
            File.WriteAllText(extensions, source.Replace(Registration, "", StringComparison.Ordinal));

            var result = await RunSmokeAsync(project);
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("GET /transport -> sockets", result.Log, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static string Repository => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SampleServerProcess.FindWebAppDll())!, "..", "..", "..", "..", ".."));

    private async Task<ChildProcessResult> RunSmokeAsync(string? project)
    {
        string script = Path.Combine(Repository, "build", "pack-smoke.sh");
        Assert.True(File.Exists(script), $"no {script}");
        var arguments = project is null ? new[] { script } : new[] { "-c", $"TRANSPORT_IOURING_PROJECT='{project}' exec bash '{script}'" };
        var result = await ChildProcess.RunAsync("bash", arguments, TimeSpan.FromMinutes(5));
        output.WriteLine(result.Log);
        return result;
    }

    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (string directory in Directory.EnumerateDirectories(from))
        {
            string name = Path.GetFileName(directory);
            if (name is not ("bin" or "obj"))
            {
                CopySources(directory, Path.Combine(to, name));
            }
        }
    }
}
