using System.IO;
using System.Linq;
using Transport.IoUring.Benchmarks.Network;
using Transport.IoUring.Benchmarks.Running;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class NginxReferenceTests
{
    [Fact]
    public void NginxRunsOnlyTheStaticPlaintextAndJsonScenarios()
    {
        var nginx = TransportVariant.Select(["nginx"]).Single();

        var served = Scenario.All.Where(nginx.Serves).Select(s => s.Name);

        Assert.Equal(["plaintext-64", "plaintext-256", "plaintext-1024", "plaintext-pipelined", "json-64", "plaintext-64-wrk", "json-64-wrk",
                      "platform-plaintext-wrk", "platform-pipelined", "platform-json"], served);
        Assert.Equal("nginx", nginx.ExpectedServedBy);
        Assert.False(nginx.ExpectsIoUring);
        Assert.All(Scenario.All, s => Assert.True(TransportVariant.Select(["iouring"]).Single().Serves(s)));
    }

    [Fact]
    public void TheConfigurationIsOneProcessOnTheServerAddressWithTheSampleResponses()
    {
        string config = NginxReference.Config("169.254.77.1", 5000, "/tmp/run/nginx-5000");

        Assert.Contains("master_process off;", config);
        Assert.Contains("daemon off;", config);
        Assert.Contains("access_log off;", config);
        Assert.Contains("listen 169.254.77.1:5000 backlog=512;", config);
        Assert.Contains("return 200 \"Hello, World!\";", config);
        Assert.Contains("return 200 '{\"message\":\"Hello, World!\"}';", config);
        Assert.Contains("return 200 \"nginx\";", config);
        Assert.Contains("pid /tmp/run/nginx-5000/nginx.pid;", config);
    }

    [Fact]
    public void TheCommandIsPinnedAndKeepsEveryFileInTheRunsDirectory()
    {
        string directory = Directory.CreateTempSubdirectory("iouring-bench-test-").FullName;
        try
        {
            var startInfo = NginxReference.Command("/usr/sbin/nginx", "0", NetworkPath.Loopback, 5000, directory);

            string own = Path.Combine(directory, "nginx-5000");
            Assert.Equal("taskset", startInfo.FileName);
            Assert.Equal(["-c", "0", "/usr/sbin/nginx", "-e", "stderr", "-p", own, "-c", Path.Combine(own, "nginx.conf")], startInfo.ArgumentList);
            Assert.Contains("listen 127.0.0.1:5000", File.ReadAllText(Path.Combine(own, "nginx.conf")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
