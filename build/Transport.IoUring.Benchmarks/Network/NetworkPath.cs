using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net;

namespace Transport.IoUring.Benchmarks.Network;

/// <summary>
/// Where the bytes between load generator and server travel: loopback (the default), or a veth pair
/// between two network namespaces (<see cref="VethNetwork"/>), which adds a driver, GRO/GSO and
/// softirq processing that <c>lo</c> skips. Server and load-generator commands are wrapped so that
/// they run on their side; on loopback they run unchanged.
/// </summary>
internal sealed class NetworkPath
{
    private NetworkPath(string name, IPAddress serverAddress, string? serverNamespace, string? clientNamespace)
    {
        Name = name;
        ServerAddress = serverAddress;
        ServerNamespace = serverNamespace;
        ClientNamespace = clientNamespace;
    }

    public const string LoopbackName = "loopback";
    public const string VethName = "veth";

    public static NetworkPath Loopback { get; } = new(LoopbackName, IPAddress.Loopback, null, null);

    public static NetworkPath Veth(VethNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new(VethName, network.ServerAddress, network.ServerNamespace, network.ClientNamespace);
    }

    /// <summary>"loopback" or "veth", as in --network and the reports.</summary>
    public string Name { get; }

    /// <summary>The address the server listens on and the clients connect to.</summary>
    public IPAddress ServerAddress { get; }

    public string? ServerNamespace { get; }

    public string? ClientNamespace { get; }

    /// <summary>The address as it goes into a URL.</summary>
    public string UrlHost => ServerAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
        ? "[" + ServerAddress.ToString() + "]"
        : ServerAddress.ToString();

    public string Url(string scheme, int port) => string.Create(CultureInfo.InvariantCulture, $"{scheme}://{UrlHost}:{port}");

    /// <summary>Makes <paramref name="startInfo"/> run in the server's namespace.</summary>
    public ProcessStartInfo InServerNamespace(ProcessStartInfo startInfo) => Wrap(startInfo, ServerNamespace);

    /// <summary>Makes <paramref name="startInfo"/> run in the load generator's namespace.</summary>
    public ProcessStartInfo InClientNamespace(ProcessStartInfo startInfo) => Wrap(startInfo, ClientNamespace);

    /// <summary>
    /// <c>ip netns exec NS command ...</c>: ip enters the namespace and execs the command in its own
    /// process, so the PID the harness holds is the command's (CPU and memory are read from it, and
    /// SIGTERM reaches it).
    /// </summary>
    private static ProcessStartInfo Wrap(ProcessStartInfo startInfo, string? networkNamespace)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        if (networkNamespace is null)
        {
            return startInfo;
        }

        var arguments = startInfo.ArgumentList.ToList();
        startInfo.ArgumentList.Clear();
        foreach (var arg in new[] { "netns", "exec", networkNamespace, startInfo.FileName }.Concat(arguments))
        {
            startInfo.ArgumentList.Add(arg);
        }

        startInfo.FileName = "ip";
        return startInfo;
    }
}
