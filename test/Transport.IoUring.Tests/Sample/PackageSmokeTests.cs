using System;
using System.IO;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// The package as a user gets it: build/pack-smoke.sh packs the library to a local feed, creates a
/// fresh <c>dotnet new web</c> app that restores it from there, adds <c>UseIoUring()</c>, runs it
/// and checks a request is served on io_uring.
/// </summary>
public sealed class PackageSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ThePackedPackageInstalledIntoAFreshAppServesOnIoUring()
    {
        string sampleDll = SampleServerProcess.FindWebAppDll();
        string repository = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(sampleDll)!, "..", "..", "..", "..", ".."));
        string script = Path.Combine(repository, "build", "pack-smoke.sh");
        Assert.True(File.Exists(script), $"no {script}");

        var result = await ChildProcess.RunAsync("bash", [script], TimeSpan.FromMinutes(5));
        output.WriteLine(result.Log);
        Assert.True(result.ExitCode == 0, $"build/pack-smoke.sh failed ({result.ExitCode}):\n{result.Log}");
        Assert.Contains("GET /transport -> io_uring", result.Log, StringComparison.Ordinal);
    }
}
