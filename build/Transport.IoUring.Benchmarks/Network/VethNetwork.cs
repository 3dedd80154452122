using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text.RegularExpressions;

namespace Transport.IoUring.Benchmarks.Network;

/// <summary>
/// Two network namespaces joined by a veth pair, for <c>--network veth</c>: the server runs in one,
/// the load generator in the other, and their bytes cross a network device instead of <c>lo</c>.
/// </summary>
/// <remarks>
/// Names carry the harness's PID (<c>iouring-bench-PID-server</c>, veth <c>ioubPIDs</c>), so that
/// two harnesses do not meet and a later run can tell the leftovers of a killed one (its PID no
/// longer a harness) from a live run's. The veth ends are created inside the namespaces, never in
/// the initial one, so deleting the namespaces removes everything; addresses are link-local
/// (169.254.77.0/30) and exist only inside the two namespaces.
/// </remarks>
internal sealed partial class VethNetwork : IDisposable
{
    public const string NamespacePrefix = "iouring-bench-";
    private const string LinkPrefix = "ioub";
    private const int PrefixLength = 30;

    private readonly ICommandRunner _runner;
    private readonly object _lock = new();
    private bool _created;

    public VethNetwork(int ownerPid, ICommandRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        OwnerPid = ownerPid;
        _runner = runner;
        string pid = ownerPid.ToString(CultureInfo.InvariantCulture);
        ServerNamespace = $"{NamespacePrefix}{pid}-server";
        ClientNamespace = $"{NamespacePrefix}{pid}-client";
        ServerLink = $"{LinkPrefix}{pid}s";
        ClientLink = $"{LinkPrefix}{pid}c";
    }

    public int OwnerPid { get; }
    public string ServerNamespace { get; }
    public string ClientNamespace { get; }

    /// <summary>The veth end in the server's namespace (at most 15 characters, the kernel's IFNAMSIZ - 1).</summary>
    public string ServerLink { get; }

    public string ClientLink { get; }

    public IPAddress ServerAddress { get; } = IPAddress.Parse("169.254.77.1");

    public IPAddress ClientAddress { get; } = IPAddress.Parse("169.254.77.2");

    /// <summary>The commands that build the network, in order.</summary>
    public IReadOnlyList<string[]> SetUpCommands() =>
    [
        ["ip", "netns", "add", ServerNamespace],
        ["ip", "netns", "add", ClientNamespace],
        ["ip", "link", "add", ServerLink, "netns", ServerNamespace, "type", "veth", "peer", "name", ClientLink, "netns", ClientNamespace],
        ["ip", "-n", ServerNamespace, "addr", "add", $"{ServerAddress}/{PrefixLength}", "dev", ServerLink],
        ["ip", "-n", ClientNamespace, "addr", "add", $"{ClientAddress}/{PrefixLength}", "dev", ClientLink],
        ["ip", "-n", ServerNamespace, "link", "set", "lo", "up"],
        ["ip", "-n", ClientNamespace, "link", "set", "lo", "up"],
        ["ip", "-n", ServerNamespace, "link", "set", ServerLink, "up"],
        ["ip", "-n", ClientNamespace, "link", "set", ClientLink, "up"],
    ];

    /// <summary>
    /// The commands that remove it, to be run after every process inside has been ended. The veth
    /// pair is deleted first: a namespace outlives <c>ip netns del</c> while a process still holds
    /// it, and the device must not live on with it.
    /// </summary>
    public IReadOnlyList<string[]> TearDownCommands() => TearDownCommands(ServerNamespace, ClientNamespace, ServerLink);

    private static IReadOnlyList<string[]> TearDownCommands(string serverNamespace, string clientNamespace, string serverLink) =>
    [
        ["ip", "-n", serverNamespace, "link", "del", serverLink],
        ["ip", "netns", "del", clientNamespace],
        ["ip", "netns", "del", serverNamespace],
    ];

    /// <summary>
    /// Builds the network. If a step fails, what was built is removed again and the error names the
    /// command and what it printed.
    /// </summary>
    public void Create()
    {
        _created = true;
        foreach (var command in SetUpCommands())
        {
            var (exitCode, output) = _runner.Run(command);
            if (exitCode != 0)
            {
                Dispose();
                throw new InvalidOperationException($"`{string.Join(' ', command)}` failed ({exitCode}): {output.Trim()} (--network veth needs root and iproute2)");
            }
        }
    }

    /// <summary>Removes the network; safe to call more than once and from any thread.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (!_created)
            {
                return;
            }

            _created = false;
            foreach (var command in TearDownCommands())
            {
                // Each step runs whatever the one before did: a half-built network has some parts only.
                _ = _runner.Run(command);
            }
        }
    }

    /// <summary>
    /// Removes the namespaces a killed harness left behind: those named by this harness's scheme
    /// whose owner PID is no longer a harness process. Processes still inside one (a server whose
    /// harness was SIGKILLed) are ended by PID first. Returns the namespaces removed.
    /// </summary>
    public static IReadOnlyList<string> RemoveLeftovers(ICommandRunner runner, Func<int, bool> isLiveHarness)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(isLiveHarness);
        var (exitCode, output) = runner.Run(["ip", "netns", "list"]);
        if (exitCode != 0)
        {
            return [];
        }

        var removed = new List<string>();
        foreach (var (name, pid, _) in ParseNamespaces(output))
        {
            if (isLiveHarness(pid))
            {
                continue;
            }

            var (pidsExit, pids) = runner.Run(["ip", "netns", "pids", name]);
            if (pidsExit == 0)
            {
                foreach (var line in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    {
                        _ = runner.Run(["kill", "-KILL", line]);
                    }
                }
            }

            if (name.EndsWith("-server", StringComparison.Ordinal))
            {
                _ = runner.Run(["ip", "-n", name, "link", "del", LinkPrefix + pid.ToString(CultureInfo.InvariantCulture) + "s"]);
            }

            _ = runner.Run(["ip", "netns", "del", name]);
            removed.Add(name);
        }

        return removed;
    }

    /// <summary>
    /// The harness's namespaces in <c>ip netns list</c> output ("name" or "name (id: N)" per line):
    /// name, owner PID and side ("server" or "client"). Other namespaces are not ours and are skipped.
    /// </summary>
    public static IReadOnlyList<(string Name, int OwnerPid, string Side)> ParseNamespaces(string ipNetnsList)
    {
        ArgumentNullException.ThrowIfNull(ipNetnsList);
        var result = new List<(string, int, string)>();
        foreach (var line in ipNetnsList.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var match = OwnNamespace().Match(line);
            if (match.Success && int.TryParse(match.Groups["pid"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                result.Add((match.Groups["name"].Value, pid, match.Groups["side"].Value));
            }
        }

        return result;
    }

    [GeneratedRegex(@"^(?<name>iouring-bench-(?<pid>\d{1,7})-(?<side>server|client))(?:\s|$)", RegexOptions.CultureInvariant)]
    private static partial Regex OwnNamespace();
}
