using System;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Transport.IoUring.MicroBenchmarks;

/// <summary>
/// Two network namespaces joined by a veth pair, for <c>send-zc --veth</c>: the sending socket lives
/// in one, the receiving socket in the other, so the probe's bytes cross a network device and a
/// second network stack instead of <c>lo</c>. Same scheme as the harness's VethNetwork: names carry
/// the probe's PID (<c>iouring-sendzc-PID-send</c>/<c>-recv</c>, veth <c>iouzPIDs</c>/<c>c</c>), the
/// veth ends are created inside the namespaces, never in the initial one, and the addresses are
/// link-local (169.254.78.0/30). Removed on Dispose, on Ctrl-C and at process exit.
/// </summary>
/// <remarks>
/// The sockets are opened by switching only the calling thread into a namespace (<c>setns</c>) and
/// back: a socket belongs to the namespace it was created in, whichever thread uses it later, so
/// the ring and the draining thread need no namespace of their own. Needs root.
/// </remarks>
internal sealed partial class ProbeVethPair : IDisposable
{
    private const int CloneNewNet = 0x40000000;
    private const int ORdOnly = 0, OCloExec = 0x80000;
    private const int PrefixLength = 30;

    private readonly object _lock = new();
    private readonly string _sendNamespace;
    private readonly string _receiveNamespace;
    private readonly string _sendLink;
    private readonly string _receiveLink;
    private bool _created;

    public ProbeVethPair()
    {
        string pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        _sendNamespace = $"iouring-sendzc-{pid}-send";
        _receiveNamespace = $"iouring-sendzc-{pid}-recv";
        _sendLink = $"iouz{pid}s";
        _receiveLink = $"iouz{pid}c";
    }

    public IPAddress SendAddress { get; } = IPAddress.Parse("169.254.78.1");

    public IPAddress ReceiveAddress { get; } = IPAddress.Parse("169.254.78.2");

    /// <summary>Builds the pair; on a failed step removes what was built and throws with the command's output.</summary>
    public void Create()
    {
        Console.CancelKeyPress += OnCancel;
        AppDomain.CurrentDomain.ProcessExit += OnExit;
        _created = true;
        string[][] commands =
        [
            ["netns", "add", _sendNamespace],
            ["netns", "add", _receiveNamespace],
            ["link", "add", _sendLink, "netns", _sendNamespace, "type", "veth", "peer", "name", _receiveLink, "netns", _receiveNamespace],
            ["-n", _sendNamespace, "addr", "add", $"{SendAddress}/{PrefixLength}", "dev", _sendLink],
            ["-n", _receiveNamespace, "addr", "add", $"{ReceiveAddress}/{PrefixLength}", "dev", _receiveLink],
            ["-n", _sendNamespace, "link", "set", _sendLink, "up"],
            ["-n", _receiveNamespace, "link", "set", _receiveLink, "up"],
        ];
        foreach (var command in commands)
        {
            var (exitCode, output) = RunIp(command);
            if (exitCode != 0)
            {
                Dispose();
                throw new InvalidOperationException($"`ip {string.Join(' ', command)}` failed ({exitCode}): {output.Trim()} (--veth needs root and iproute2)");
            }
        }
    }

    /// <summary>
    /// A connected pair across the veth: the sender in the sending namespace, the receiver (the
    /// accepted end) in the receiving one.
    /// </summary>
    public (Socket Sender, Socket Receiver) Connect()
    {
        int home = Open("/proc/thread-self/ns/net");
        try
        {
            Enter($"/run/netns/{_receiveNamespace}");
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(ReceiveAddress, 0));
            listener.Listen(1);

            Enter($"/run/netns/{_sendNamespace}");
            var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            sender.Connect(listener.LocalEndPoint!);
            return (sender, listener.Accept());
        }
        finally
        {
            if (SetNs(home, CloneNewNet) != 0)
            {
                throw new InvalidOperationException($"setns back to the initial namespace failed: errno {Marshal.GetLastPInvokeError()}");
            }

            _ = Close(home);
        }
    }

    /// <summary>The pair's settings that decide the receive path, for the report (<c>ip -d link</c>).</summary>
    public string Describe() => RunIp(["-n", _receiveNamespace, "-d", "-o", "link", "show", _receiveLink]).Output.Trim();

    /// <summary>Removes the pair; safe to call more than once and from any thread.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (!_created)
            {
                return;
            }

            _created = false;

            // The device first: a namespace outlives `ip netns del` while something still holds it.
            _ = RunIp(["-n", _sendNamespace, "link", "del", _sendLink]);
            _ = RunIp(["netns", "del", _receiveNamespace]);
            _ = RunIp(["netns", "del", _sendNamespace]);
        }

        Console.CancelKeyPress -= OnCancel;
        AppDomain.CurrentDomain.ProcessExit -= OnExit;
    }

    private void OnCancel(object? sender, ConsoleCancelEventArgs e) => Dispose();

    private void OnExit(object? sender, EventArgs e) => Dispose();

    private static void Enter(string path)
    {
        int fd = Open(path);
        try
        {
            if (SetNs(fd, CloneNewNet) != 0)
            {
                throw new InvalidOperationException($"setns({path}) failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static int Open(string path)
    {
        int fd = OpenFile(path, ORdOnly | OCloExec);
        return fd >= 0 ? fd : throw new InvalidOperationException($"open({path}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private static (int ExitCode, string Output) RunIp(string[] arguments)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
            return (-1, "timed out");
        }

        return (process.ExitCode, output);
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFile(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
