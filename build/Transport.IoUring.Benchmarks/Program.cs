using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Net;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Transport.IoUring.Benchmarks.LoadGenerators;
using Transport.IoUring.Benchmarks.Network;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Results;
using Transport.IoUring.Benchmarks.Running;

namespace Transport.IoUring.Benchmarks;

/// <summary>
/// dotnet run -c Release --project build/Transport.IoUring.Benchmarks -- [options]; see docs/benchmarks.md.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Whatever ends the harness, the servers and load generators it started end with it, and then
        // the veth network they ran in is removed.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            ChildProcesses.KillAll();
            HarnessRun.ActiveNetwork?.Dispose();
        };
        using var cancellation = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);

        try
        {
            var root = BuildCommand();
            var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null };
            return await root.Parse(args).InvokeAsync(configuration, cancellation.Token).ConfigureAwait(false);
        }
        finally
        {
            ChildProcesses.KillAll();
        }

        void OnSignal(PosixSignalContext context)
        {
            // Stop measuring and let the finally blocks end the child processes by their PIDs.
            context.Cancel = true;
            cancellation.Cancel();
            ChildProcesses.KillAll();
        }
    }

    internal static RootCommand BuildCommand()
    {
        var scenarios = new Option<string?>("--scenarios") { Description = $"Comma-separated scenarios (default: all): {string.Join(", ", Scenario.All.Select(s => s.Name))}" };
        var duration = new Option<string>("--duration") { Description = "Length of one measured round per transport", DefaultValueFactory = _ => "5s" };
        var warmup = new Option<string>("--warmup") { Description = "Warm-up per transport and scenario before the rounds", DefaultValueFactory = _ => "6s" };
        var rounds = new Option<int>("--rounds") { Description = "Measured rounds per transport, interleaved across transports", DefaultValueFactory = _ => HarnessSettings.DefaultRounds };
        var transports = new Option<string>("--transports") { Description = $"Comma-separated transports, in interleaving order: {string.Join(", ", TransportVariant.All.Select(t => t.Name))}, and {TransportVariant.BaselineName} with --baseline", DefaultValueFactory = _ => string.Join(",", TransportVariant.DefaultNames) };
        var serverCpus = new Option<string>("--server-cpus") { Description = "taskset CPU list for the server", DefaultValueFactory = _ => "0" };
        var clientCpus = new Option<string>("--client-cpus") { Description = "taskset CPU list for the load generator", DefaultValueFactory = _ => "1" };
        var bombardier = new Option<string?>("--bombardier") { Description = "Path of the bombardier binary (default: PATH, then ../shared/tools/bombardier)" };
        var network = new Option<string>("--network") { Description = "loopback, or veth: server and load generator in two network namespaces joined by a veth pair (needs root)", DefaultValueFactory = _ => NetworkPath.LoopbackName };
        var baseline = new Option<string?>("--baseline") { Description = $"Directory of a samples/WebApp built from another commit (WebApp.dll and its dependencies): adds the {TransportVariant.BaselineName} row, run like {TransportVariant.BaselineOf}, and the ratio {TransportVariant.BaselineOf} / {TransportVariant.BaselineName}" };
        var output = new Option<string>("--out") { Description = "Directory for the .md, .json and .png results", DefaultValueFactory = _ => "results" };
        var compare = new Option<string[]>("--compare") { Description = "Compare two result files: --compare A.json B.json", Arity = new ArgumentArity(2, 2), AllowMultipleArgumentsPerToken = true };
        var perf = new Option<string?>("--perf") { Description = "Record each measured round of the server with perf record -F 2999 -g into this directory, and write RESULT-profile.md: CPU-us per request split by code (kernel, transport, TLS, Kestrel HTTP/1.1 and HTTP/2, pipes, app, runtime). perf's cost is in those rounds: do not pool them with unprofiled runs" };
        var pool = new Option<string[]>("--pool") { Description = "Pool the paired rounds of several result files (runs of the same code): --pool A.json B.json ...", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };

        var root = new RootCommand("Benchmarks samples/WebApp on Kestrel's Sockets transport and on io_uring, side by side.")
        {
            scenarios, duration, warmup, rounds, transports, serverCpus, clientCpus, bombardier, network, baseline, output, compare, pool, perf,
        };

        root.SetAction(async (parseResult, cancellationToken) =>
        {
            if (parseResult.GetValue(compare) is { Length: 2 } files)
            {
                return await CompareAsync(files[0], files[1]).ConfigureAwait(false);
            }

            if (parseResult.GetValue(pool) is { Length: > 0 } pooled)
            {
                return await PoolAsync(pooled).ConfigureAwait(false);
            }

            HarnessSettings settings;
            try
            {
                string root = HarnessSettings.FindRepositoryRoot(AppContext.BaseDirectory)
                    ?? HarnessSettings.FindRepositoryRoot(Directory.GetCurrentDirectory())
                    ?? throw new ArgumentException("Cannot find the repository (Transport.IoUring.sln) above the harness or the current directory.");
                settings = new HarnessSettings
                {
                    Scenarios = Scenario.Select(parseResult.GetValue(scenarios)?.Split(',')),
                    Transports = TransportVariant.Select(parseResult.GetValue(transports)!.Split(','), parseResult.GetValue(baseline)),
                    DurationSeconds = Math.Max(1, HarnessSettings.ParseSeconds(parseResult.GetValue(duration)!)),
                    WarmupSeconds = HarnessSettings.ParseSeconds(parseResult.GetValue(warmup)!),
                    Rounds = Math.Max(1, parseResult.GetValue(rounds)),
                    ServerCpus = Validated(parseResult.GetValue(serverCpus)!),
                    ClientCpus = Validated(parseResult.GetValue(clientCpus)!),
                    OutputDirectory = Path.GetFullPath(parseResult.GetValue(output)!),
                    RepositoryRoot = root,
                    BombardierPath = parseResult.GetValue(bombardier),
                    PerfDirectory = parseResult.GetValue(perf) is { } perfDirectory ? Path.GetFullPath(perfDirectory) : null,
                    Network = parseResult.GetValue(network) switch
                    {
                        NetworkPath.LoopbackName => NetworkPath.LoopbackName,
                        NetworkPath.VethName => NetworkPath.VethName,
                        var other => throw new ArgumentException($"Unknown network '{other}': use loopback or veth."),
                    },
                };
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }

            return await HarnessRun.RunAsync(settings, cancellationToken).ConfigureAwait(false);
        });

        root.Subcommands.Add(BuildChurnCommand());
        root.Subcommands.Add(BuildWebSocketCommand());
        root.Subcommands.Add(BuildProbeCommand());
        return root;
    }

    private static string Validated(string cpus)
    {
        _ = CpuList.Parse(cpus);
        return cpus;
    }

    /// <summary>The churn scenario's load generator, run by the harness as its own pinned process.</summary>
    private static Command BuildChurnCommand()
    {
        var url = new Option<string>("--url") { Required = true, Description = "http://127.0.0.1:PORT/path" };
        var connections = new Option<int>("--connections") { DefaultValueFactory = _ => 32, Description = "Concurrent connect/request/close loops" };
        var duration = new Option<string>("--duration") { DefaultValueFactory = _ => "5", Description = "Seconds" };
        var certificate = new Option<string?>("--certificate-sha256") { Description = "For https URLs: the SHA-256 of the only certificate accepted" };
        var command = new Command(LoadCommand.ChurnCommandName, "A new connection per request, for the churn scenario; prints one JSON object.")
        {
            url, connections, duration, certificate,
        };
        command.Hidden = true;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var uri = new Uri(parseResult.GetValue(url)!);
            if (LoadTarget.Check(uri) is { } refusal)
            {
                Console.Error.WriteLine("churn-client: " + refusal);
                return 2;
            }

            var address = IPAddress.Parse(uri.Host);

            var client = new ChurnClient
            {
                EndPoint = new IPEndPoint(address, uri.Port),
                Path = uri.PathAndQuery,
                Concurrency = Math.Max(1, parseResult.GetValue(connections)),
                Duration = TimeSpan.FromSeconds(HarnessSettings.ParseSeconds(parseResult.GetValue(duration)!)),
                TlsCertificateSha256 = uri.Scheme == Uri.UriSchemeHttps
                    ? parseResult.GetValue(certificate) ?? throw new ArgumentException("An https URL needs --certificate-sha256.")
                    : null,
            };
            var report = await client.RunAsync(cancellationToken).ConfigureAwait(false);
            Console.WriteLine(report.ToJson());
            return 0;
        });
        return command;
    }

    /// <summary>The websocket-echo scenario's load generator, run by the harness as its own pinned process.</summary>
    private static Command BuildWebSocketCommand()
    {
        var url = new Option<string>("--url") { Required = true, Description = "ws://127.0.0.1:PORT/ws" };
        var connections = new Option<int>("--connections") { DefaultValueFactory = _ => 64, Description = "WebSocket connections, one message in flight on each" };
        var duration = new Option<string>("--duration") { DefaultValueFactory = _ => "5", Description = "Seconds" };
        var messageBytes = new Option<int>("--message-bytes") { DefaultValueFactory = _ => 32, Description = "Bytes per binary message (at least 16)" };
        var command = new Command(LoadCommand.WebSocketCommandName, "WebSocket echo loops, for the websocket-echo scenario; prints one JSON object.")
        {
            url, connections, duration, messageBytes,
        };
        command.Hidden = true;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var uri = new Uri(parseResult.GetValue(url)!);
            if (LoadTarget.Check(uri) is { } refusal)
            {
                Console.Error.WriteLine("websocket-client: " + refusal);
                return 2;
            }

            var client = new WebSocketEchoClient
            {
                Url = uri,
                Connections = Math.Max(1, parseResult.GetValue(connections)),
                MessageBytes = Math.Max(16, parseResult.GetValue(messageBytes)),
                Duration = TimeSpan.FromSeconds(HarnessSettings.ParseSeconds(parseResult.GetValue(duration)!)),
            };
            var report = await client.RunAsync(cancellationToken).ConfigureAwait(false);
            Console.WriteLine(report.ToJson());
            return 0;
        });
        return command;
    }

    /// <summary>Asks a starting server which transport serves it; run by the harness on the load generator's side.</summary>
    private static Command BuildProbeCommand()
    {
        var url = new Option<string>("--url") { Required = true, Description = "The server's base URL" };
        var endpoint = new Option<ServerEndpoint>("--endpoint") { DefaultValueFactory = _ => ServerEndpoint.Http, Description = "Http, H2c or Https" };
        var certificate = new Option<string?>("--certificate-sha256") { Description = "For Https: the SHA-256 of the only certificate accepted" };
        var grpc = new Option<bool>("--grpc") { Description = "Also make one grpc-unary call and check its echo and grpc-status" };
        var wait = new Option<string>("--wait") { DefaultValueFactory = _ => "3", Description = "Seconds to keep trying" };
        var command = new Command(ServerProbe.CommandName, "Prints what /transport answers (exit 0), 1 when nothing answered, 2 when the answer is wrong.")
        {
            url, endpoint, certificate, grpc, wait,
        };
        command.Hidden = true;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var uri = new Uri(parseResult.GetValue(url)!);
            if (LoadTarget.Check(uri) is { } refusal)
            {
                Console.Error.WriteLine("probe: " + refusal);
                return ServerProbe.Wrong;
            }

            var (exitCode, message) = await ServerProbe.RunAsync(uri, parseResult.GetValue(endpoint), parseResult.GetValue(certificate), parseResult.GetValue(grpc),
                TimeSpan.FromSeconds(HarnessSettings.ParseSeconds(parseResult.GetValue(wait)!)), cancellationToken).ConfigureAwait(false);
            (exitCode == ServerProbe.Answered ? Console.Out : Console.Error).WriteLine(message);
            return exitCode;
        });
        return command;
    }

    private static Task<int> CompareAsync(string pathA, string pathB)
        => RenderResultFilesAsync([pathA, pathB], "compare", (runs, names) => RunComparison.Render(runs[0], runs[1], names[0], names[1]));

    private static Task<int> PoolAsync(string[] paths)
        => RenderResultFilesAsync(paths, "pool", RunPool.Render);

    /// <summary>Loads result files and prints what <paramref name="render"/> makes of them; 2 when one cannot be read.</summary>
    private static async Task<int> RenderResultFilesAsync(string[] paths, string verb, Func<List<RunReport>, List<string>, string> render)
    {
        try
        {
            var runs = new List<RunReport>();
            foreach (string path in paths)
            {
                runs.Add(await RunReport.LoadAsync(path).ConfigureAwait(false));
            }

            Console.WriteLine(render(runs, paths.Select(p => Path.GetFileName(p)).ToList()));
            return 0;
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException or FormatException)
        {
            Console.Error.WriteLine($"Cannot {verb}: {ex.Message}");
            return 2;
        }
    }
}
