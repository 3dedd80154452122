using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Transport.IoUring.Benchmarks.Measurement;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// One samples/WebApp process on one transport, pinned with <c>taskset</c>, listening on a free
/// loopback port: HTTP/1.1 through <c>--urls</c>, or one HTTP/2-only (h2c) endpoint through
/// configuration for the h2c scenario.
/// </summary>
internal sealed class SampleServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private const int KeptOutputLines = 40;

    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly object _outputLock = new();

    private SampleServer(Process process, TransportVariant transport, int port, bool http2Only)
    {
        _process = process;
        Transport = transport;
        Port = port;
        Http2Only = http2Only;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public TransportVariant Transport { get; }
    public int Port { get; }
    public bool Http2Only { get; }
    public int Pid => _process.Id;
    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);
    public string BaseUrl => $"http://127.0.0.1:{Port}";
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

    public static async Task<SampleServer> StartAsync(string sampleDll, TransportVariant transport, bool http2Only, string serverCpus, CancellationToken cancellationToken)
    {
        int port = FreePort();
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

        foreach (var (name, value) in CommonEnvironment.Concat(transport.Environment))
        {
            startInfo.Environment[name] = value;
        }

        if (http2Only)
        {
            // Endpoints from configuration replace --urls; Http2 alone means h2c with prior knowledge.
            startInfo.Environment["Kestrel__Endpoints__h2c__Url"] = $"http://127.0.0.1:{port}";
            startInfo.Environment["Kestrel__Endpoints__h2c__Protocols"] = "Http2";
        }
        else
        {
            startInfo.ArgumentList.Add("--urls");
            startInfo.ArgumentList.Add($"http://127.0.0.1:{port}");
        }

        var server = new SampleServer(ChildProcesses.Start(startInfo), transport, port, http2Only);
        try
        {
            await server.WaitUntilServingAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>What /transport answered once the server was up: "io_uring" or "sockets".</summary>
    public string ServedBy { get; private set; } = "";

    private async Task WaitUntilServingAsync(CancellationToken cancellationToken)
    {
        using var client = CreateClient();
        var deadline = DateTime.UtcNow + StartTimeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The {Transport.Name} server exited with code {_process.ExitCode} while starting: {LastOutput()}");
            }

            try
            {
                ServedBy = (await client.GetStringAsync(new Uri(BaseUrl + "/transport"), cancellationToken).ConfigureAwait(false)).Trim();
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = ex;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"The {Transport.Name} server did not answer /transport within {StartTimeout.TotalSeconds:0} s ({last?.Message}): {LastOutput()}");
    }

    /// <summary>An HttpClient that speaks what the endpoint speaks (h2c with prior knowledge when HTTP/2-only).</summary>
    public HttpClient CreateClient()
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        if (Http2Only)
        {
            client.DefaultRequestVersion = HttpVersion.Version20;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        return client;
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
