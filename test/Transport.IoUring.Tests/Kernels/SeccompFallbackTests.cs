using System;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Transport.IoUring.Tests.Sample;
using Xunit;

namespace Transport.IoUring.Tests.Kernels;

/// <summary>
/// The sample under a real seccomp filter that blocks io_uring: it must start, serve on Sockets,
/// and say why in exactly one warning.
/// </summary>
public sealed class SeccompFallbackTests
{
    [Theory]
    [InlineData(1, "EPERM")]    // Docker's default seccomp profile
    [InlineData(38, "ENOSYS")]  // a kernel without io_uring
    public async Task UnderASeccompFilterBlockingIoUringTheSampleServesOnSocketsWithOneWarning(int errno, string errnoName)
    {
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions
        {
            CommandPrefix = [SeccompLauncher.Path, errno.ToString(System.Globalization.CultureInfo.InvariantCulture)],
        });

        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("sockets", await client.GetStringAsync("/transport"));
        Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));

        var warnings = server.Lines.Where(l => l.Contains("falls back to the Sockets transport", StringComparison.Ordinal)).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains(errnoName, warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutTheFilterTheSameLaunchServesOnIoUring()
    {
        // The control: the launcher with errno 0 installs no filter, so only the filter makes the difference.
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions
        {
            CommandPrefix = [SeccompLauncher.Path, "0"],
        });

        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("io_uring", await client.GetStringAsync("/transport"));
        Assert.DoesNotContain(server.Lines, l => l.Contains("falls back to the Sockets transport", StringComparison.Ordinal));
    }
}
