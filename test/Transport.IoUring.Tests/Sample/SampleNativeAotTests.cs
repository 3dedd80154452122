using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// The sample published with NativeAOT (trimmed, no JIT) serves on io_uring. The publish needs
/// clang and zlib (Debian: clang zlib1g-dev; .ci/run installs them) and takes about a minute.
/// </summary>
public sealed class SampleNativeAotTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheSamplePublishedWithNativeAotServesOnIoUringWithoutTrimOrAotWarnings()
    {
        string sampleDirectory = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(SampleServerProcess.FindWebAppDll()))))!;
        string project = Path.Combine(sampleDirectory, "WebApp.csproj");
        Assert.True(File.Exists(project), $"no sample project at {project}");
        string outputDirectory = Path.Combine(Path.GetTempPath(), $"iouring-aot-{Environment.ProcessId}");
        try
        {
            var publish = await ChildProcess.RunAsync(SampleServerProcess.FindDotnet(),
                ["publish", project, "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", outputDirectory, "-nologo"], TimeSpan.FromMinutes(8));
            Assert.True(publish.ExitCode == 0, $"dotnet publish -p:PublishAot=true failed ({publish.ExitCode}):\n{publish.Log}");
            var warnings = publish.Log.Split('\n').Where(l => l.Contains("warning IL", StringComparison.Ordinal)).Distinct().ToList();
            Assert.True(warnings.Count == 0, "trim/AOT warnings:\n" + string.Join("\n", warnings));

            int port = SampleServerProcess.GetFreeTcpPorts(1)[0];
            var start = new ProcessStartInfo(Path.Combine(outputDirectory, "WebApp"))
            {
                WorkingDirectory = outputDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add($"http://127.0.0.1:{port}");
            using var server = Process.Start(start)!;
            try
            {
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
                string? transport = null;
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (transport is null && DateTime.UtcNow < deadline && !server.HasExited)
                {
                    try
                    {
                        transport = await client.GetStringAsync("/transport");
                    }
                    catch (HttpRequestException)
                    {
                        await Task.Delay(100);
                    }
                }

                Assert.Equal("io_uring", transport);
                Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));
                Assert.Equal("{\"message\":\"Hello, World!\"}", await client.GetStringAsync("/json"));
                output.WriteLine($"native binary: {new FileInfo(start.FileName).Length / (1024 * 1024)} MiB, served /transport = {transport}");
            }
            finally
            {
                server.Kill();
                await server.WaitForExitAsync();
            }
        }
        finally
        {
            try
            {
                Directory.Delete(outputDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
