using System;
using System.IO;
using System.Net;
using System.Net.Sockets;

namespace Transport.IoUring.Benchmarks.Network;

/// <summary>
/// Where the harness's own clients may send load: loopback, or a link-local address when the client
/// runs inside a network namespace other than the initial one (the veth network the harness made),
/// so that a mistyped URL never loads a real network.
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
            ? $"{address} is link-local but this process runs in the initial network namespace; --network veth runs the clients in their own."
            : $"{address} is neither loopback nor link-local; load goes to loopback or to the harness's veth network only.";
    }

    /// <summary>Whether this process's network namespace differs from init's (PID 1).</summary>
    private static bool InOwnNetworkNamespace()
    {
        try
        {
            var own = new FileInfo("/proc/self/ns/net").LinkTarget;
            var init = new FileInfo("/proc/1/ns/net").LinkTarget;
            return own is not null && init is not null && own != init;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
