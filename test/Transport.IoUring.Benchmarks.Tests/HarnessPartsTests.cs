using System;
using System.IO;
using System.Linq;
using System.Text;
using Transport.IoUring.Benchmarks.LoadGenerators;
using Transport.IoUring.Benchmarks.Network;
using Transport.IoUring.Benchmarks.Running;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

public sealed class HarnessPartsTests
{
    [Theory]
    [InlineData("10s", 10)]
    [InlineData("10", 10)]
    [InlineData("1500ms", 2)]
    [InlineData("2m", 120)]
    [InlineData("0.5s", 1)]
    public void DurationsAreWholeSecondsRoundedUp(string text, int expected)
    {
        Assert.Equal(expected, HarnessSettings.ParseSeconds(text));
    }

    [Theory]
    [InlineData("ten")]
    [InlineData("5h")]
    [InlineData("-1s")]
    public void BadDurationsAreRejected(string text)
    {
        Assert.Throws<FormatException>(() => HarnessSettings.ParseSeconds(text));
    }

    [Theory]
    [InlineData(6, new[] { 2, 2, 2 })]
    [InlineData(5, new[] { 2, 2, 1 })]
    [InlineData(0, new int[0])]
    public void WarmupRunsInChunks(int seconds, int[] expected)
    {
        var settings = new HarnessSettings
        {
            Scenarios = Scenario.All, Transports = TransportVariant.All, DurationSeconds = 5, WarmupSeconds = seconds, Rounds = 3,
            ServerCpus = "0", ClientCpus = "1", OutputDirectory = "x", RepositoryRoot = "/",
        };

        Assert.Equal(expected, settings.WarmupChunks());
    }

    [Theory]
    [InlineData("1", new[] { 1 })]
    [InlineData("0,2", new[] { 0, 2 })]
    [InlineData("2-4", new[] { 2, 3, 4 })]
    [InlineData("0-1,3", new[] { 0, 1, 3 })]
    public void CpuListsAreParsedLikeTaskset(string list, int[] expected)
    {
        Assert.Equal(expected, CpuList.Parse(list));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("3-1")]
    public void BadCpuListsAreRejected(string list)
    {
        Assert.Throws<FormatException>(() => CpuList.Parse(list));
    }

    [Fact]
    public void ScenariosAreSelectedByNameInTheGivenOrder()
    {
        Assert.Equal(["churn", "json-64"], Scenario.Select(["churn", " json-64", "churn"]).Select(s => s.Name));
        Assert.Equal(Scenario.All, Scenario.Select(null));
        var error = Assert.Throws<ArgumentException>(() => Scenario.Select(["plaintext", "json-64"]));
        Assert.Contains("plaintext", error.Message);
    }

    [Fact]
    public void DefaultTransportsInterleaveSocketsIoUringSocketsInline()
    {
        Assert.Equal(["sockets", "iouring", "sockets-inline"], TransportVariant.Select(null).Select(t => t.Name));
        var inline = TransportVariant.Select(["sockets-inline"]).Single();
        Assert.Equal("sockets", inline.SampleTransport);
        Assert.Equal("1", inline.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
        Assert.Equal("true", inline.Environment["Sockets__UnsafePreferInlineScheduling"]);
        Assert.False(inline.ExpectsIoUring);
        Assert.True(TransportVariant.Select(["iouring"]).Single().ExpectsIoUring);
        Assert.Throws<ArgumentException>(() => TransportVariant.Select(["epoll"]));
    }

    [Fact]
    public void IoUringOptionRowsSetTheirOptionInTheTransportsConfigurationSection()
    {
        var inline = TransportVariant.Select(["iouring-inline"]).Single();

        Assert.Equal("true", inline.Environment["Kestrel__Transport__IoUring__UnsafePreferInlineScheduling"]);
        Assert.DoesNotContain(inline.Environment.Keys, key => key.StartsWith("IoUring__", System.StringComparison.Ordinal));
        Assert.Equal("PollAndReceive", TransportVariant.Select(["iouring-poll"]).Single().Environment["Kestrel__Transport__IoUring__ReceiveMode"]);
    }

    [Fact]
    public void EveryScenarioOfTheIssueExists()
    {
        string[] names = ["plaintext-64", "plaintext-256", "plaintext-1024", "plaintext-pipelined", "json-64", "plaintext-64-wrk", "json-64-wrk", "echo-4k", "download-1m", "churn", "h2c-100",
                           "https-64", "https-churn", "h2-tls-100", "grpc-unary", "websocket-echo", "upload-16m",
                           "platform-plaintext-wrk", "platform-pipelined", "platform-json", "idle-10k"];
        Assert.Equal(names, Scenario.All.Select(s => s.Name));
    }

    [Fact]
    public void NearestRankPercentiles()
    {
        double[] values = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];

        Assert.Equal(5, Percentiles.Of(values, 50));
        Assert.Equal(10, Percentiles.Of(values, 99));
        Assert.Equal(1, Percentiles.Of(values, 0));
        Assert.Throws<ArgumentException>(() => Percentiles.Of([], 50));
    }

    [Fact]
    public void ClientReportRoundTripsThroughItsJson()
    {
        var report = new ClientReport { Responses = 1000, Seconds = 2, Non2xx = 3, P50Microseconds = 150, P99Microseconds = 900 };
        report.ErrorDetails["ConnectionReset"] = 2;
        report.ErrorDetails["timeout"] = 1;

        var result = ClientReport.Parse("some log line\n" + report.ToJson() + "\n");

        Assert.Equal(1000, result.Responses);
        Assert.Equal(500, result.RequestsPerSecond);
        Assert.Equal(3, result.Non2xx);
        Assert.Equal(3, result.Errors);
        Assert.Equal(150, result.P50Microseconds);
        Assert.Throws<FormatException>(() => ClientReport.Parse("Unhandled exception"));
    }

    [Fact]
    public void ResponseLengthNeedsTheWholeHeadAndCountsTheBody()
    {
        var response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!");

        Assert.Null(IdleConnections.ResponseLength(response.AsSpan(0, 20)));
        Assert.Equal(response.Length, IdleConnections.ResponseLength(response));
        Assert.Throws<InvalidOperationException>(() => IdleConnections.ResponseLength("HTTP/1.1 400 Bad Request\r\n\r\n"u8));
    }

    [Fact]
    public void LoadCommandsArePinnedAndBounded()
    {
        var tools = new ToolSet { Bombardier = "/b/bombardier", Wrk = "/w/wrk", H2Load = "/h/h2load", Taskset = "/usr/bin/taskset" };
        string directory = Directory.CreateTempSubdirectory("iouring-bench-test-").FullName;
        try
        {
            var files = LoadCommand.Files.Create([System.Net.IPAddress.Loopback], directory);
            string Command(string scenario, string baseUrl = "http://127.0.0.1:5000", NetworkPath? network = null)
                => LoadCommand.Create(Scenario.Select([scenario]).Single(), tools, baseUrl, 5, "1", files, network).Display;

            Assert.Equal("/usr/bin/taskset -c 1 /b/bombardier -c 64 -d 5s -l -p r -o json http://127.0.0.1:5000/plaintext", Command("plaintext-64"));
            Assert.Equal($"/usr/bin/taskset -c 1 /b/bombardier -c 64 -d 5s -l -p r -o json -m POST -f {files.Body(4096)} -H 'Content-Type: application/octet-stream' http://127.0.0.1:5000/echo", Command("echo-4k"));
            Assert.Equal($"/usr/bin/taskset -c 1 /w/wrk -t 1 -c 256 -d 5s --latency -s {files.PipelineScript} http://127.0.0.1:5000/plaintext -- 16", Command("plaintext-pipelined"));
            Assert.Matches(@"^/usr/bin/taskset -c 1 /h/h2load -c 16 -m 100 -t 1 -D 5 --log-file=\S+ http://127.0.0.1:5000/plaintext$", Command("h2c-100"));
            Assert.Contains(" churn-client --url http://127.0.0.1:5000/plaintext --connections 32 --duration 5", Command("churn"));
            Assert.Contains("'http://127.0.0.1:5000/download?size=1048576'", Command("download-1m"));

            Assert.Equal("/usr/bin/taskset -c 1 /w/wrk -t 1 -c 64 -d 5s --latency https://127.0.0.1:5001/plaintext", Command("https-64", "https://127.0.0.1:5001"));
            Assert.Equal("/usr/bin/taskset -c 1 /w/wrk -t 1 -c 32 -d 5s --latency -H 'Connection: close' https://127.0.0.1:5001/plaintext", Command("https-churn", "https://127.0.0.1:5001"));
            Assert.Matches(@"^/usr/bin/taskset -c 1 /h/h2load -c 16 -m 100 -t 1 -D 5 --log-file=\S+ https://127.0.0.1:5001/plaintext$", Command("h2-tls-100", "https://127.0.0.1:5001"));
            Assert.Matches($@"^/usr/bin/taskset -c 1 /h/h2load -c 16 -m 100 -t 1 -D 5 --log-file=\S+ -d {files.GrpcRequestBody} -H 'content-type: application/grpc' -H 'te: trailers' http://127.0.0.1:5000/benchmarks.Echo/Say$", Command("grpc-unary"));
            Assert.Equal(GrpcRequest.Encode(), File.ReadAllBytes(files.GrpcRequestBody));
            Assert.EndsWith(" websocket-client --url ws://127.0.0.1:5000/ws --connections 64 --duration 5 --message-bytes 32", Command("websocket-echo"));
            Assert.Equal($"/usr/bin/taskset -c 1 /b/bombardier -c 16 -d 5s -l -p r -o json -m POST -f {files.Body(16 * 1024 * 1024)} -H 'Content-Type: application/octet-stream' http://127.0.0.1:5000/upload", Command("upload-16m"));
            Assert.Equal(16 * 1024 * 1024, new FileInfo(files.Body(16 * 1024 * 1024)).Length);

            var veth = NetworkPath.Veth(new VethNetwork(99, new ProcessCommandRunner()));
            Assert.Equal("ip netns exec iouring-bench-99-client /usr/bin/taskset -c 1 /w/wrk -t 1 -c 64 -d 5s --latency https://169.254.77.1:5001/plaintext", Command("https-64", "https://169.254.77.1:5001", veth));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void FilesOfKilledRunsAreRemovedAndThoseOfLiveRunsKept()
    {
        string parent = Directory.CreateTempSubdirectory("iouring-bench-test-").FullName;
        try
        {
            foreach (var name in new[] { "iouring-bench-123", "iouring-bench-456", "iouring-bench-x", "other-789" })
            {
                Directory.CreateDirectory(Path.Combine(parent, name));
                File.WriteAllText(Path.Combine(parent, name, "server-key.pem"), "key");
            }

            var removed = LoadCommand.Files.RemoveLeftovers(pid => pid == 456, parent);

            Assert.Equal([Path.Combine(parent, "iouring-bench-123")], removed);
            Assert.Equal(["iouring-bench-456", "iouring-bench-x", "other-789"], Directory.GetDirectories(parent).Select(Path.GetFileName).Order());
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public void WrkPipelineScriptBuildsDepthRequestsPerWrite()
    {
        Assert.Contains("for i = 1, depth do", LoadCommand.WrkPipelineScript);
        Assert.Contains("req = table.concat(r)", LoadCommand.WrkPipelineScript);
        Assert.StartsWith("-- wrk pipelining", LoadCommand.WrkPipelineScript);
    }
}
