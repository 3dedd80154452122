using System;
using System.Net;
using System.Net.Sockets;

namespace Transport.IoUring.Benchmarks.Network;

/// <summary>
/// Where the harness's own clients may send load: loopback, or a link-local address when the client
/// runs inside a namespace of the veth network the harness made, so that a mistyped URL never loads
/// a real network.
/// </summary>
internal static class LoadTarget
{
    /// <summary>Null when <paramref name="url"/> may be loaded, else why not.</summary>
    public static string? Check(Uri url) => Check(url, InOwnNetworkNamespace());

    public static string? Check(Uri url, bool inOwnNetworkNamespace)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!IPAddress.TryParse(url.Host.Trim('[', ']'), out var address))
        {
            return $"'{url.Host}' is not an IP address; load goes to loopback or to the harness's veth network only.";
        }

        if (IPAddress.IsLoopback(address))
        {
            return null;
        }

        bool linkLocal = address.AddressFamily == AddressFamily.InterNetwork
            ? address.GetAddressBytes() is [169, 254, _, _]
            : address.IsIPv6LinkLocal;
        if (linkLocal && inOwnNetworkNamespace)
        {
            return null;
        }

        return linkLocal
            ? $"{address} is link-local but this process runs outside the harness's veth namespaces, where --network veth runs the clients."
            : $"{address} is neither loopback nor link-local; load goes to loopback or to the harness's veth network only.";
    }

    /// <summary>
    /// Whether this process runs in a namespace of the harness's veth network: <c>ip netns identify</c>
    /// names the namespace this process is in (PID 1's, to compare with, may not be readable).
    /// </summary>
    private static bool InOwnNetworkNamespace()
    {
        try
        {
            var (exitCode, output) = new ProcessCommandRunner().Run(["ip", "netns", "identify"]);
            return exitCode == 0 && VethNetwork.ParseNamespaces(output).Count == 1;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no ip: not in a namespace of ours either
        }
    }
}
