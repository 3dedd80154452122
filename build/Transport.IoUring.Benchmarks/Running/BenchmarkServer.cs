using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Transport.IoUring.Benchmarks.Measurement;
using Transport.IoUring.Benchmarks.Network;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// One server process of a row, pinned with <c>taskset</c>, listening on a free port of the network
/// path's server address: samples/WebApp (or, in the platform scenarios, build/PlatformServer, which
/// takes the same <c>--transport</c>, <c>--urls</c> and environment) on one transport (HTTP/1.1 through <c>--urls</c>, or one
/// endpoint through Kestrel's configuration for h2c and for TLS 1.3 with the run's certificate), or
/// nginx for the reference row.
/// </summary>
internal sealed class BenchmarkServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    // Each probe tries this long, so a server that exits while starting is noticed within it.
    private static readonly TimeSpan ProbeAttempt = TimeSpan.FromSeconds(3);
    private const int KeptOutputLines = 40;

    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly object _outputLock = new();

    private BenchmarkServer(Process process, TransportVariant transport, int port, ServerEndpoint endpoint, NetworkPath network)
    {
        _process = process;
        Pid = process.Id;
        Transport = transport;
        Port = port;
        Endpoint = endpoint;
        Network = network;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public TransportVariant Transport { get; }
    public int Port { get; }
    public ServerEndpoint Endpoint { get; }
    public NetworkPath Network { get; }
    public int Pid { get; }
    public IPEndPoint EndPoint => new(Network.ServerAddress, Port);
    public string BaseUrl => Network.Url(Endpoint == ServerEndpoint.Https ? "https" : "http", Port);
    public bool HasExited => _process.HasExited;

    /// <summary>The transport's start-up line ("Kestrel is serving ... on io_uring ..."), if printed.</summary>
    public string? StartLine { get; private set; }

    /// <summary>The environment every server gets, whatever its transport.</summary>
    public static IReadOnlyDictionary<string, string> CommonEnvironment { get; } = new Dictionary<string, string>
    {
        // Tiered JIT promotes hot methods at once instead of after 100 ms of call counting, so a
        // few seconds of warm-up reach optimised code (otherwise ~25 s pinned to one core).
        ["DOTNET_TC_CallCountingDelayMs"] = "0",
        ["Logging__LogLevel__Default"] = "Warning",

        // While any logging is on, ASP.NET Core's hosting starts an Activity and a log scope for
        // every request (for log correlation): 3–4 % of the server's CPU on pipelined plaintext in
        // a perf profile, the same on both transports. TechEmpower's entries log nothing; neither
        // does hosting here. The transport's own warnings still print.
        ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "None",
    };

    // Inherited variables that would change what the sample does; the harness sets its own.
    private static readonly string[] s_clearedPrefixes = ["ASPNETCORE_", "DOTNET_SYSTEM_NET_SOCKETS_", "IoUring__", "Kestrel__", "Logging__", "Sockets__"];

    public static async Task<BenchmarkServer> StartAsync(string sampleDll, TransportVariant transport, ServerEndpoint endpoint, string serverCpus, string clientCpus,
        NetworkPath network, ToolSet tools, LoadCommand.Files files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentNullException.ThrowIfNull(files);
        int port = FreePort();
        var startInfo = transport.IsNginx
            ? NginxReference.Command(tools.Nginx ?? throw new InvalidOperationException(ToolSet.NginxInstallHint), serverCpus, network, port, files.Directory)
            : SampleCommand(sampleDll, transport, endpoint, serverCpus, network, port, files.Certificate);
        var server = new BenchmarkServer(ChildProcesses.Start(network.InServerNamespace(startInfo)), transport, port, endpoint, network);
        try
        {
            await server.WaitUntilServingAsync(clientCpus, files.Certificate, cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>samples/WebApp on the row's transport, pinned, with the environment every row gets and the endpoint's.</summary>
    internal static ProcessStartInfo SampleCommand(string sampleDll, TransportVariant transport, ServerEndpoint endpoint, string serverCpus, NetworkPath network, int port, ServerCertificate certificate)
    {
        var startInfo = new ProcessStartInfo("taskset")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // The sample reads appsettings.json from its content root, the working directory.
            WorkingDirectory = Path.GetDirectoryName(sampleDll)!,
        };
        foreach (var arg in new[] { "-c", serverCpus, "dotnet", sampleDll, "--transport", transport.SampleTransport })
        {
            startInfo.ArgumentList.Add(arg);
        }

        foreach (var name in startInfo.Environment.Keys.ToList())
        {
            if (s_clearedPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
            {
                startInfo.Environment.Remove(name);
            }
        }

        foreach (var (name, value) in CommonEnvironment.Concat(transport.Environment).Concat(EndpointEnvironment(endpoint, network, port, certificate)))
        {
            startInfo.Environment[name] = value;
        }

        if (endpoint == ServerEndpoint.Http)
        {
            startInfo.ArgumentList.Add("--urls");
            startInfo.ArgumentList.Add(network.Url("http", port));
        }

        return startInfo;
    }

    /// <summary>
    /// Kestrel endpoint configuration for h2c and TLS (endpoints from configuration replace
    /// --urls): HTTP/2 alone means h2c with prior knowledge; the TLS endpoint takes TLS 1.3 only and
    /// offers h2 and http/1.1 by ALPN, so wrk (no ALPN) gets HTTP/1.1 and h2load HTTP/2.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> EndpointEnvironment(ServerEndpoint endpoint, NetworkPath network, int port, ServerCertificate? certificate)
    {
        ArgumentNullException.ThrowIfNull(network);
        return endpoint switch
        {
            ServerEndpoint.Http => [],
            ServerEndpoint.H2c =>
            [
                new("Kestrel__Endpoints__h2c__Url", network.Url("http", port)),
                new("Kestrel__Endpoints__h2c__Protocols", "Http2"),
            ],
            ServerEndpoint.Https =>
            [
                new("Kestrel__Endpoints__https__Url", network.Url("https", port)),
                new("Kestrel__Endpoints__https__Protocols", "Http1AndHttp2"),
                new("Kestrel__Endpoints__https__SslProtocols__0", "Tls13"),
                new("Kestrel__Endpoints__https__Certificate__Path", (certificate ?? throw new ArgumentNullException(nameof(certificate))).CertificatePath),
                new("Kestrel__Endpoints__https__Certificate__KeyPath", certificate.KeyPath),
            ],
            _ => throw new ArgumentOutOfRangeException(nameof(endpoint), endpoint, null),
        };
    }

    /// <summary>What /transport answered once the server was up: "io_uring" or "sockets".</summary>
    public string ServedBy { get; private set; } = "";

    /// <summary>
    /// Probes from the load generator's side (its namespace on veth), in the endpoint's protocol,
    /// until the server answers, exits, or the start timeout is over.
    /// </summary>
    private async Task WaitUntilServingAsync(string clientCpus, ServerCertificate? certificate, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The {Transport.Name} server exited with code {_process.ExitCode} while starting: {LastOutput()}");
            }

            var probe = ProbeCommand(clientCpus, certificate, grpc: false);
            var (exitCode, stdout, stderr) = await ChildProcesses.RunAsync(probe, ProbeAttempt + TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            switch (exitCode)
            {
                case ServerProbe.Answered:
                    ServedBy = stdout.Trim();
                    return;
                case ServerProbe.Unreachable:
                    last = stderr.Trim();
                    break;
                default:
                    throw new InvalidOperationException($"The {Transport.Name} server's probe failed ({exitCode}): {(stderr + stdout).Trim()}");
            }
        }

        throw new TimeoutException($"The {Transport.Name} server did not answer /transport within {StartTimeout.TotalSeconds:0} s ({last}): {LastOutput()}");
    }

    /// <summary>
    /// One gRPC call with the scenario's request bytes: null when the method echoed them with
    /// grpc-status 0, else what went wrong.
    /// </summary>
    public async Task<string?> CheckGrpcAsync(string clientCpus, ServerCertificate? certificate, CancellationToken cancellationToken)
    {
        var (exitCode, stdout, stderr) = await ChildProcesses.RunAsync(ProbeCommand(clientCpus, certificate, grpc: true), ProbeAttempt + TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        return exitCode == ServerProbe.Answered ? null : $"gRPC check failed ({exitCode}): {(stderr + stdout).Trim()}";
    }

    private ProcessStartInfo ProbeCommand(string clientCpus, ServerCertificate? certificate, bool grpc)
    {
        var startInfo = new ProcessStartInfo("taskset") { UseShellExecute = false };
        var args = new List<string>
        {
            "-c", clientCpus, "dotnet", typeof(BenchmarkServer).Assembly.Location, ServerProbe.CommandName,
            "--url", BaseUrl, "--endpoint", Endpoint.ToString(), "--wait", ((int)ProbeAttempt.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (certificate is not null && Endpoint == ServerEndpoint.Https)
        {
            args.AddRange(["--certificate-sha256", certificate.Sha256Hex]);
        }

        if (grpc)
        {
            args.Add("--grpc");
        }

        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        return Network.InClientNamespace(startInfo);
    }

    public ProcessCpuTimes? ReadCpu() => ProcessCpuTimes.TryRead(Pid);

    public ProcessMemory? ReadMemory() => ProcessMemory.TryRead(Pid);

    public string LastOutput()
    {
        lock (_outputLock)
        {
            return _output.Count == 0 ? "(no output)" : string.Join(" | ", _output);
        }
    }

    /// <summary>Stops the server (SIGTERM, then SIGKILL after 10 s) and returns its exit code (null if killed).</summary>
    public Task<int?> StopAsync() => ChildProcesses.StopAsync(_process, TimeSpan.FromSeconds(10));

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputLock)
        {
            if (StartLine is null && line.Contains("Kestrel is serving", StringComparison.Ordinal))
            {
                StartLine = line.Trim();
            }

            _output.Enqueue(line.Trim());
            while (_output.Count > KeptOutputLines)
            {
                _output.Dequeue();
            }
        }
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
