using System;
using System.Diagnostics;
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

        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        string log = await stdout + await stderr;
        output.WriteLine(log);
        Assert.True(process.ExitCode == 0, $"build/pack-smoke.sh failed ({process.ExitCode}):\n{log}");
        Assert.Contains("GET /transport -> io_uring", log, StringComparison.Ordinal);
    }
}
