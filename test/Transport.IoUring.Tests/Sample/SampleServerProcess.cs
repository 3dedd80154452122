using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace Transport.IoUring.Tests.Sample;

/// <summary>What to start the sample server (samples/WebApp) with.</summary>
public sealed record SampleServerOptions
{
    /// <summary>The value of --transport: "iouring" or "sockets"; null passes no --transport (io_uring is the default).</summary>
    public string? Transport { get; init; }

    /// <summary>The value of --urls; null passes no --urls.</summary>
    public string? Urls { get; init; } = "http://127.0.0.1:0";

    /// <summary>Further command-line arguments.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Environment variables set for the process (e.g. Kestrel__Limits__MaxRequestBodySize).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// A command that execs the server (e.g. prlimit … setpriv …): the server keeps its PID, so
    /// SIGTERM still reaches it. Empty: dotnet is started directly.
    /// </summary>
    public IReadOnlyList<string> CommandPrefix { get; init; } = [];

    /// <summary>The sample's WebApp.dll to run; null: the one built next to the tests.</summary>
    public string? WebAppDll { get; init; }

    /// <summary>The dotnet host to run it with; null: the one running the tests.</summary>
    public string? Dotnet { get; init; }
}

/// <summary>
/// The sample server (samples/WebApp, as built next to this test assembly's configuration) running as
/// a separate process: started with `dotnet WebApp.dll`, its stdout and stderr captured line by line,
/// stopped with SIGTERM and killed only when it does not exit in time.
/// </summary>
public sealed class SampleServerProcess : IAsyncDisposable
{
    /// <summary>How long start-up may take on a busy machine.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a stopping process may take to exit (the host's shutdown timeout is 30 s).</summary>
    public static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    private const int SIGTERM = 15;
    private const string ListeningPrefix = "Now listening on: ";

    private readonly Process _process;
    private readonly List<string> _lines = new();
    private readonly Task _exited;
    private TaskCompletionSource _outputChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SampleServerProcess(Process process, string commandLine)
    {
        _process = process;
        CommandLine = commandLine;
        _process.OutputDataReceived += (_, e) => OnLine("", e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine("stderr: ", e.Data);
        _process.Start();
        Pid = _process.Id;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // Completes once the process has exited and both output streams are read to the end.
        _exited = _process.WaitForExitAsync();
    }

    /// <summary>The process id.</summary>
    public int Pid { get; }

    /// <summary>The command line the process was started with (for messages).</summary>
    public string CommandLine { get; }

    /// <summary>The first address the server listens on, e.g. http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress => ListeningAddresses.FirstOrDefault()
        ?? throw new InvalidOperationException($"The sample server has not said it listens anywhere.{Describe()}");

    /// <summary>Every address from a "Now listening on:" line so far.</summary>
    public IReadOnlyList<Uri> ListeningAddresses => Lines
        .Select(l => l.Trim())
        .Where(l => l.StartsWith(ListeningPrefix, StringComparison.Ordinal))
        .Select(l => new Uri(l[ListeningPrefix.Length..].Trim()))
        .ToArray();

    /// <summary>The lines captured so far (stderr lines prefixed "stderr: ").</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToArray();
            }
        }
    }

    /// <summary>The output captured so far.</summary>
    public string Output => string.Join('\n', Lines);

    public bool HasExited => _exited.IsCompleted;

    /// <summary>Starts the sample and waits (bounded) until it has started listening.</summary>
    public static async Task<SampleServerProcess> StartAsync(SampleServerOptions? options = null)
    {
        var server = Launch(options);
        try
        {
            await server.WaitForStartedAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the sample without waiting for anything (for processes expected to fail).</summary>
    public static SampleServerProcess Launch(SampleServerOptions? options = null)
    {
        options ??= new SampleServerOptions();
        string webAppDll = options.WebAppDll ?? FindWebAppDll();
        string dotnet = options.Dotnet ?? FindDotnet();
        var startInfo = new ProcessStartInfo(options.CommandPrefix.Count > 0 ? options.CommandPrefix[0] : dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,

            // The content root is the working directory: the sample's appsettings.json is read from there.
            WorkingDirectory = Path.GetDirectoryName(webAppDll)!,
        };
        if (options.CommandPrefix.Count > 0)
        {
            foreach (string part in options.CommandPrefix.Skip(1))
            {
                startInfo.ArgumentList.Add(part);
            }

            startInfo.ArgumentList.Add(dotnet);
        }

        startInfo.ArgumentList.Add(webAppDll);
        if (options.Transport is not null)
        {
            startInfo.ArgumentList.Add("--transport");
            startInfo.ArgumentList.Add(options.Transport);
        }

        if (options.Urls is not null)
        {
            startInfo.ArgumentList.Add("--urls");
            startInfo.ArgumentList.Add(options.Urls);
        }

        foreach (string argument in options.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // Settings inherited from whoever runs the tests must not leak into the sample's configuration.
        foreach (string name in startInfo.Environment.Keys.ToArray())
        {
            if (name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("Kestrel__", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("IoUring__", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("Metrics__", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)
                || name.Equals("DOTNET_URLS", StringComparison.OrdinalIgnoreCase)
                || name.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase))
            {
                startInfo.Environment.Remove(name);
            }
        }

        foreach (var (name, value) in options.Environment)
        {
            startInfo.Environment[name] = value;
        }

        string commandLine = string.Join(' ', options.Environment.Select(e => $"{e.Key}={e.Value}"))
            + (options.Environment.Count == 0 ? "" : " ")
            + startInfo.FileName + " " + string.Join(' ', startInfo.ArgumentList);
        return new SampleServerProcess(new Process { StartInfo = startInfo }, commandLine);
    }

    /// <summary>
    /// Waits (bounded) until the sample says "Application started." — after all its "Now listening on:"
    /// lines — and checks it listens somewhere.
    /// </summary>
    public async Task WaitForStartedAsync()
    {
        await WaitForOutputAsync("Application started.", StartTimeout);
        if (ListeningAddresses.Count == 0)
        {
            throw new InvalidOperationException($"The sample server started without a \"{ListeningPrefix}\" line.{Describe()}");
        }
    }

    /// <summary>Waits until a line containing <paramref name="text"/> is printed; throws with the output when it is not in time.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_lines)
            {
                if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
                {
                    return;
                }

                changed = _outputChanged.Task;
            }

            if (_exited.IsCompleted)
            {
                throw new InvalidOperationException(
                    $"The sample server exited with code {_process.ExitCode} without printing \"{text}\".{Describe()}");
            }

            try
            {
                await Task.WhenAny(changed, _exited).WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"The sample server did not print \"{text}\" within {timeout.TotalSeconds:0} s.{Describe()}");
            }
        }
    }

    /// <summary>Waits (bounded) for the process to exit and its output to be read; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _exited.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The sample server did not exit within {timeout.TotalSeconds:0} s.{Describe()}");
        }

        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM, as systemd or docker stop would.</summary>
    public void SendSigterm()
    {
        if (!HasExited && Kill(Pid, SIGTERM) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            const int ESRCH = 3;
            if (errno != ESRCH)
            {
                throw new InvalidOperationException($"kill({Pid}, SIGTERM) failed with errno {errno}.");
            }
        }
    }

    /// <summary>Stops the process: SIGTERM, a bounded wait, and SIGKILL only if it does not exit.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!HasExited)
            {
                SendSigterm();
                try
                {
                    await _exited.WaitAsync(TimeSpan.FromSeconds(30));
                }
                catch (TimeoutException)
                {
                    // The last resort.
                    _process.Kill(entireProcessTree: true);
                    await _exited.WaitAsync(TimeSpan.FromSeconds(30));
                }
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>
    /// Distinct ports that were free a moment ago on 127.0.0.1 (for configuration that cannot say port 0);
    /// nothing reserves them. They are taken below the kernel's ephemeral range
    /// (net.ipv4.ip_local_port_range), never from it: servers bind with SO_REUSEPORT, so a port that
    /// another test's server got from a bind to port 0, or that a client connection is using, could
    /// otherwise be bound a second time, and connections would be split between two test servers (a
    /// SYN that reaches the other one while it closes is refused).
    /// </summary>
    public static int[] GetFreeTcpPorts(int count)
    {
        int ephemeralLow = EphemeralPortRangeStart();
        int low = Math.Min(10_000, ephemeralLow / 2);
        var ports = new List<int>(count);
        for (int attempt = 0; ports.Count < count; attempt++)
        {
            if (attempt > 10_000)
            {
                throw new InvalidOperationException($"No {count} free TCP ports found on 127.0.0.1 in [{low}, {ephemeralLow}).");
            }

            int port = Random.Shared.Next(low, ephemeralLow);
            if (ports.Contains(port))
            {
                continue;
            }

            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
                ports.Add(port);
            }
            catch (SocketException)
            {
                // In use: try another.
            }
        }

        return ports.ToArray();
    }

    private static int EphemeralPortRangeStart()
    {
        try
        {
            string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return Math.Max(2048, int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return 32768; // Linux's default
        }
    }

    /// <summary>The command line, exit state and captured output, for failure messages.</summary>
    public string Describe()
    {
        string state = _exited.IsCompleted ? $"exited with code {_process.ExitCode}" : "running";
        return $"\nSample server (pid {Pid}, {state}): {CommandLine}\n--- output ---\n{Output}\n--- end of output ---";
    }

    private void OnLine(string prefix, string? line)
    {
        if (line is null)
        {
            return;
        }

        TaskCompletionSource changed;
        lock (_lines)
        {
            _lines.Add(prefix + line);
            changed = _outputChanged;
            _outputChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    internal static string FindWebAppDll()
    {
        // The sample is built by the test project's ProjectReference, in the test assembly's configuration.
        var testAssembly = typeof(SampleServerProcess).Assembly;
        string configuration = testAssembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var outputDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string targetFramework = outputDirectory.Name.StartsWith("net", StringComparison.Ordinal) ? outputDirectory.Name : "net10.0";

        var root = outputDirectory;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Transport.IoUring.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException($"No directory above {AppContext.BaseDirectory} holds Transport.IoUring.sln.");
        }

        string dll = Path.Combine(root.FullName, "samples", "WebApp", "bin", configuration, targetFramework, "WebApp.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"The sample is not built: {dll} does not exist.");
        }

        return dll;
    }

    internal static string FindDotnet()
    {
        string? hostPath = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath))
        {
            return hostPath;
        }

        string? processPath = System.Environment.ProcessPath;
        if (processPath is not null && Path.GetFileName(processPath) == "dotnet")
        {
            return processPath;
        }

        string? root = System.Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, "dotnet")))
        {
            return Path.Combine(root, "dotnet");
        }

        return "dotnet";
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
