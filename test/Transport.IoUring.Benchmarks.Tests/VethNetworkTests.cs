using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Transport.IoUring.Benchmarks.Network;
using Transport.IoUring.Benchmarks.Running;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>
/// The commands --network veth runs, checked without running them (CI creates no namespace): names,
/// addresses, order, and what happens when a step fails or a killed run left namespaces behind.
/// </summary>
public sealed class VethNetworkTests
{
    /// <summary>Records commands; answers each with what <see cref="Answer"/> says (exit 0, no output by default).</summary>
    private sealed class RecordingRunner : ICommandRunner
    {
        public List<string> Commands { get; } = new();

        public Func<string, (int, string)> Answer { get; init; } = _ => (0, "");

        public (int ExitCode, string Output) Run(IReadOnlyList<string> command)
        {
            string line = string.Join(' ', command);
            Commands.Add(line);
            return Answer(line);
        }
    }

    [Fact]
    public void NamesCarryTheOwnerPidAndLinkNamesFitTheKernelsLimit()
    {
        var network = new VethNetwork(4194304, new RecordingRunner());

        Assert.Equal("iouring-bench-4194304-server", network.ServerNamespace);
        Assert.Equal("iouring-bench-4194304-client", network.ClientNamespace);
        Assert.Equal("ioub4194304s", network.ServerLink);
        Assert.Equal("ioub4194304c", network.ClientLink);
        Assert.True(network.ServerLink.Length <= 15, "IFNAMSIZ is 16 with the terminating NUL");
    }

    [Fact]
    public void SetUpCreatesBothEndsInsideTheNamespacesWithLinkLocalAddresses()
    {
        var runner = new RecordingRunner();
        var network = new VethNetwork(1234, runner);

        network.Create();

        Assert.Equal(
        [
            "ip netns add iouring-bench-1234-server",
            "ip netns add iouring-bench-1234-client",
            "ip link add ioub1234s netns iouring-bench-1234-server type veth peer name ioub1234c netns iouring-bench-1234-client",
            "ip -n iouring-bench-1234-server addr add 169.254.77.1/30 dev ioub1234s",
            "ip -n iouring-bench-1234-client addr add 169.254.77.2/30 dev ioub1234c",
            "ip -n iouring-bench-1234-server link set lo up",
            "ip -n iouring-bench-1234-client link set lo up",
            "ip -n iouring-bench-1234-server link set ioub1234s up",
            "ip -n iouring-bench-1234-client link set ioub1234c up",
        ], runner.Commands);
        Assert.Equal("169.254.77.1", network.ServerAddress.ToString());
    }

    [Fact]
    public void TearDownDeletesTheLinkThenTheNamespacesOnceOnly()
    {
        var runner = new RecordingRunner();
        var network = new VethNetwork(1234, runner);
        network.Create();
        runner.Commands.Clear();

        network.Dispose();
        network.Dispose();

        Assert.Equal(
        [
            "ip -n iouring-bench-1234-server link del ioub1234s",
            "ip netns del iouring-bench-1234-client",
            "ip netns del iouring-bench-1234-server",
        ], runner.Commands);
    }

    [Fact]
    public void NothingIsTornDownThatWasNeverCreated()
    {
        var runner = new RecordingRunner();

        new VethNetwork(1234, runner).Dispose();

        Assert.Empty(runner.Commands);
    }

    [Fact]
    public void AFailedStepRemovesWhatWasBuiltAndNamesTheCommand()
    {
        var runner = new RecordingRunner { Answer = line => line.StartsWith("ip link add", StringComparison.Ordinal) ? (2, "RTNETLINK answers: Operation not permitted") : (0, "") };
        var network = new VethNetwork(1234, runner);

        var error = Assert.Throws<InvalidOperationException>(network.Create);

        Assert.Contains("ip link add ioub1234s", error.Message);
        Assert.Contains("Operation not permitted", error.Message);
        Assert.Equal(
        [
            "ip netns add iouring-bench-1234-server",
            "ip netns add iouring-bench-1234-client",
            "ip link add ioub1234s netns iouring-bench-1234-server type veth peer name ioub1234c netns iouring-bench-1234-client",
            "ip -n iouring-bench-1234-server link del ioub1234s",
            "ip netns del iouring-bench-1234-client",
            "ip netns del iouring-bench-1234-server",
        ], runner.Commands);
    }

    [Fact]
    public void OnlyTheHarnesssOwnNamespacesAreRecognised()
    {
        const string list = """
            iouring-bench-77-server (id: 1)
            iouring-bench-77-client (id: 0)
            iouring-bench-12-server
            someone-elses
            iouring-bench-x-server
            iouring-bench-5-server-extra
            """;

        var parsed = VethNetwork.ParseNamespaces(list);

        Assert.Equal(
        [
            ("iouring-bench-77-server", 77, "server"),
            ("iouring-bench-77-client", 77, "client"),
            ("iouring-bench-12-server", 12, "server"),
        ], parsed);
    }

    [Fact]
    public void LeftoversOfDeadHarnessesAreRemovedWithTheProcessesInsideAndLiveOnesKept()
    {
        var runner = new RecordingRunner
        {
            Answer = line => line switch
            {
                "ip netns list" => (0, "iouring-bench-77-server (id: 1)\niouring-bench-77-client (id: 0)\niouring-bench-88-server\nother\n"),
                "ip netns pids iouring-bench-77-server" => (0, "4242\n"),
                _ => (0, ""),
            },
        };

        var removed = VethNetwork.RemoveLeftovers(runner, pid => pid == 88);

        Assert.Equal(["iouring-bench-77-server", "iouring-bench-77-client"], removed);
        Assert.Equal(
        [
            "ip netns list",
            "ip netns pids iouring-bench-77-server",
            "kill -KILL 4242",
            "ip -n iouring-bench-77-server link del ioub77s",
            "ip netns del iouring-bench-77-server",
            "ip netns pids iouring-bench-77-client",
            "ip netns del iouring-bench-77-client",
        ], runner.Commands);
    }

    [Fact]
    public void AnOwnerPidThatIsGoneOrAnotherProgramIsNotALiveHarness()
    {
        Assert.False(HarnessProcess.IsLive(int.MaxValue));
        Assert.False(HarnessProcess.IsLive(1)); // init
    }

    [Fact]
    public void CommandsOnVethRunThroughIpNetnsExecOnTheirSide()
    {
        var path = NetworkPath.Veth(new VethNetwork(1234, new RecordingRunner()));

        var server = path.InServerNamespace(Start("taskset", "-c", "0", "dotnet", "WebApp.dll"));
        var client = path.InClientNamespace(Start("taskset", "-c", "1", "wrk", "https://169.254.77.1:5000/plaintext"));

        Assert.Equal("ip netns exec iouring-bench-1234-server taskset -c 0 dotnet WebApp.dll", Describe(server));
        Assert.Equal("ip netns exec iouring-bench-1234-client taskset -c 1 wrk https://169.254.77.1:5000/plaintext", Describe(client));
        Assert.Equal("https://169.254.77.1:443", path.Url("https", 443));
    }

    [Fact]
    public void CommandsOnLoopbackRunUnchanged()
    {
        var path = NetworkPath.Loopback;

        Assert.Equal("taskset -c 1 wrk", Describe(path.InClientNamespace(Start("taskset", "-c", "1", "wrk"))));
        Assert.Equal("http://127.0.0.1:80", path.Url("http", 80));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000/x", false, true)]
    [InlineData("http://[::1]:5000/x", false, true)]
    [InlineData("http://169.254.77.1:5000/x", true, true)]
    [InlineData("http://169.254.77.1:5000/x", false, false)]
    [InlineData("http://10.0.0.1:5000/x", true, false)]
    [InlineData("http://example.com:5000/x", true, false)]
    public void BuiltInClientsLoadLoopbackOrTheirOwnVethNetworkOnly(string url, bool inOwnNamespace, bool allowed)
    {
        Assert.Equal(allowed, LoadTarget.Check(new Uri(url), inOwnNamespace) is null);
    }

    private static ProcessStartInfo Start(string file, params string[] args)
    {
        var startInfo = new ProcessStartInfo(file);
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        return startInfo;
    }

    private static string Describe(ProcessStartInfo startInfo) => string.Join(' ', new[] { startInfo.FileName }.Concat(startInfo.ArgumentList));
}
