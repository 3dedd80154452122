using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Transport.IoUring.Benchmarks.LoadGenerators;
using Transport.IoUring.Benchmarks.Measurement;
using Transport.IoUring.Benchmarks.Network;
using Transport.IoUring.Benchmarks.Results;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>Where the runner says what it is doing.</summary>
internal interface IProgressSink
{
    /// <summary>A new step starts (shown as the current activity).</summary>
    void Step(string description);

    /// <summary>A step finished.</summary>
    void Advance();

    /// <summary>A line worth keeping on screen (a failure, a skipped transport).</summary>
    void Log(string line);
}

/// <summary>
/// Runs the scenarios: per scenario one server per transport, a warm-up, then the rounds
/// interleaved across transports so that drift of the machine hits all of them alike.
/// </summary>
internal sealed class BenchmarkRunner
{
    private static readonly TimeSpan ToolGrace = TimeSpan.FromSeconds(60);
    private const int IdleParallelism = 64;
    private static readonly TimeSpan IdleOpenLimit = TimeSpan.FromSeconds(90);

    private readonly HarnessSettings _settings;
    private readonly ToolSet _tools;
    private readonly LoadCommand.Files _files;
    private readonly NetworkPath _network;
    private readonly long _ticksPerSecond = ClockTicks.PerSecond;
    private int _profiledRounds;

    public BenchmarkRunner(HarnessSettings settings, ToolSet tools, LoadCommand.Files files, NetworkPath network)
    {
        _settings = settings;
        _tools = tools;
        _files = files;
        _network = network;
    }

    /// <summary>Steps of a scenario, for the progress bar.</summary>
    public int StepCount(Scenario scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        int transports = TransportsOf(scenario).Count;
        return scenario.Tool == LoadTool.Idle
            ? transports * 2
            : transports + transports * _settings.WarmupChunks().Count + transports * _settings.Rounds;
    }

    public async Task<ScenarioReport> RunScenarioAsync(Scenario scenario, IProgressSink progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(progress);
        var report = new ScenarioReport
        {
            Name = scenario.Name,
            Description = scenario.Description,
            Tool = ToolName(scenario.Tool),
            RequestBodyBytes = scenario.ReportsBytes ? scenario.BodyBytes : null,
        };
        if (_tools.PathFor(scenario.Tool) is null)
        {
            report.SkippedReason = ToolSet.InstallHint(scenario.Tool);
            progress.Log($"{scenario.Name} skipped: {report.SkippedReason}");
            return report;
        }

        if (scenario.Tool == LoadTool.Idle && _network.ClientNamespace is not null)
        {
            // Its connections are opened by the harness itself, which lives in neither namespace.
            report.SkippedReason = "measures server memory with connections the harness opens itself; runs on loopback only";
            progress.Log($"{scenario.Name} skipped: {report.SkippedReason}");
            return report;
        }

        if (scenario.Tool == LoadTool.Idle)
        {
            await RunIdleAsync(scenario, report, progress, cancellationToken).ConfigureAwait(false);
            return report;
        }

        var servers = new List<(TransportReport Report, BenchmarkServer Server)>();
        try
        {
            foreach (var transport in TransportsOf(scenario))
            {
                progress.Step($"starting the {transport.Name} server");
                var transportReport = new TransportReport { Name = transport.Name, Description = transport.Description };
                report.Transports.Add(transportReport);
                var server = await StartServerAsync(transport, scenario, transportReport, progress, cancellationToken).ConfigureAwait(false);
                if (server is not null && scenario.Grpc && await server.CheckGrpcAsync(_settings.ClientCpus, _files.Certificate, cancellationToken).ConfigureAwait(false) is { } grpcProblem)
                {
                    // h2load counts HTTP statuses only; a call failing in its gRPC trailers would pass as a 200.
                    transportReport.FailureReason = grpcProblem;
                    progress.Log($"{transport.Name}: {grpcProblem}");
                    transportReport.ServerExitCode = await server.StopAsync().ConfigureAwait(false);
                    await server.DisposeAsync().ConfigureAwait(false);
                    server = null;
                }

                if (server is not null)
                {
                    servers.Add((transportReport, server));
                }

                progress.Advance();
            }

            // Warm-up: in chunks, each measured, so the JSON shows CPU per request settling.
            foreach (var (transportReport, server) in servers)
            {
                foreach (int seconds in _settings.WarmupChunks())
                {
                    progress.Step($"warming up {transportReport.Name}");
                    if (!transportReport.Failed)
                    {
                        var chunk = await MeasureAsync(scenario, server, seconds, scenarioReport: null, cancellationToken).ConfigureAwait(false);
                        transportReport.Warmup.Add(new WarmupChunk
                        {
                            Seconds = seconds,
                            RequestsPerSecond = chunk.RequestsPerSecond,
                            CpuMicrosecondsPerRequest = chunk.CpuMicrosecondsPerRequest,
                        });
                        CheckServerAlive(transportReport, server, progress);
                    }

                    progress.Advance();
                }
            }

            for (int round = 1; round <= _settings.Rounds; round++)
            {
                foreach (var (transportReport, server) in servers)
                {
                    progress.Step($"round {round}/{_settings.Rounds}: {transportReport.Name}");
                    if (!transportReport.Failed)
                    {
                        var result = await MeasureAsync(scenario, server, _settings.DurationSeconds, report, cancellationToken).ConfigureAwait(false);
                        result.Round = round;
                        transportReport.Rounds.Add(result);
                        if (result.FailureReason is not null)
                        {
                            progress.Log($"{scenario.Name} {transportReport.Name} round {round}: {result.FailureReason}");
                        }

                        CheckServerAlive(transportReport, server, progress);
                    }

                    progress.Advance();
                }
            }

            foreach (var (transportReport, _) in servers)
            {
                if (!transportReport.Failed && transportReport.Rounds.All(r => r.FailureReason is not null))
                {
                    transportReport.FailureReason = "every round failed: " + transportReport.Rounds.FirstOrDefault()?.FailureReason;
                }
            }
        }
        finally
        {
            foreach (var (transportReport, server) in servers)
            {
                transportReport.ServerExitCode = await server.StopAsync().ConfigureAwait(false);
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        return report;
    }

    /// <summary>The rows that run <paramref name="scenario"/> (the nginx reference only where it serves the same response).</summary>
    private List<TransportVariant> TransportsOf(Scenario scenario) => _settings.Transports.Where(t => t.Serves(scenario)).ToList();

    private async Task<BenchmarkServer?> StartServerAsync(TransportVariant transport, Scenario scenario, TransportReport transportReport, IProgressSink progress, CancellationToken cancellationToken)
    {
        BenchmarkServer server;
        try
        {
            server = await BenchmarkServer.StartAsync(_settings.ServerDllFor(transport, scenario), transport, scenario.Endpoint, _settings.ServerCpus, _settings.ClientCpus, _network, _tools, _files, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            transportReport.FailureReason = ex.Message;
            progress.Log($"{transport.Name}: {ex.Message}");
            return null;
        }

        transportReport.ServedBy = server.ServedBy;
        transportReport.ServerStartLine = server.StartLine;
        string expected = transport.ExpectedServedBy;
        if (server.ServedBy != expected)
        {
            // A row that silently ran on another transport would be a lie in the table.
            transportReport.FailureReason = $"/transport answered '{server.ServedBy}', not '{expected}': {server.LastOutput()}";
            progress.Log($"{transport.Name}: {transportReport.FailureReason}");
            transportReport.ServerExitCode = await server.StopAsync().ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
            return null;
        }

        return server;
    }

    private static void CheckServerAlive(TransportReport transportReport, BenchmarkServer server, IProgressSink progress)
    {
        if (server.HasExited && !transportReport.Failed)
        {
            transportReport.FailureReason = $"the server exited during the measurement: {server.LastOutput()}";
            progress.Log($"{transportReport.Name}: {transportReport.FailureReason}");
        }
    }

    /// <summary>One bounded load-generator run against one server, with the CPU and memory around it.</summary>
    private async Task<RoundReport> MeasureAsync(Scenario scenario, BenchmarkServer server, int seconds, ScenarioReport? scenarioReport, CancellationToken cancellationToken)
    {
        var command = LoadCommand.Create(scenario, _tools, server.BaseUrl, seconds, _settings.ClientCpus, _files, _network);
        if (scenarioReport is not null)
        {
            // The first measured round's command, not a warm-up chunk's.
            scenarioReport.ExampleCommand ??= command.Display;
        }

        string? perfData = scenarioReport is null || _settings.PerfDirectory is null
            ? null
            : Path.Combine(_settings.PerfDirectory, $"{scenario.Name}-{server.Transport.Name}-{++_profiledRounds:000}.data");
        using var perf = perfData is null ? null : PerfProfile.StartRecording(server.Pid, perfData, seconds);
        var serverBefore = server.ReadCpu();
        var selfBefore = ProcessCpuTimes.ReadSelf();
        var serverCores = CpuList.Parse(_settings.ServerCpus);
        string procStatBefore = File.ReadAllText("/proc/stat");
        long start = Stopwatch.GetTimestamp();

        (int ExitCode, string Stdout, string Stderr) run;
        try
        {
            run = await ChildProcesses.RunAsync(command.StartInfo, TimeSpan.FromSeconds(seconds) + ToolGrace, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            return new RoundReport { FailureReason = ex.Message };
        }

        double window = Stopwatch.GetElapsedTime(start).TotalSeconds;
        string procStatAfter = File.ReadAllText("/proc/stat");
        // The tool has been reaped by now, so its CPU time is in our cutime + cstime.
        var selfAfter = ProcessCpuTimes.ReadSelf();
        var serverAfter = server.ReadCpu();
        var memory = server.ReadMemory();

        var round = new RoundReport { WindowSeconds = window, PeakRssKiB = memory?.PeakResidentKiB ?? 0 };
        if (serverBefore is null || serverAfter is null)
        {
            round.FailureReason = "the server process is gone";
            return round;
        }

        LoadResult result;
        try
        {
            result = command.Parse(run.Stdout, run.Stderr);
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or System.IO.IOException)
        {
            round.FailureReason = $"{command.Display} exited with {run.ExitCode}; output not understood ({ex.Message}): {Tail(run.Stdout + run.Stderr)}";
            return round;
        }

        round.Responses = result.Responses;
        round.ToolSeconds = result.Seconds;
        round.RequestsPerSecond = result.RequestsPerSecond;
        round.ServerCpuTicks = serverAfter.Value.Own - serverBefore.Value.Own;
        round.LoadGeneratorCpuTicks = selfAfter.WaitedChildren - selfBefore.WaitedChildren;
        round.MachineBusyTicks = (SystemCpuTimes.Parse(procStatAfter) - SystemCpuTimes.Parse(procStatBefore)).Busy;
        var coresDelta = SystemCpuTimes.ParseCores(procStatAfter, serverCores) - SystemCpuTimes.ParseCores(procStatBefore, serverCores);
        round.ServerCoresSoftIrqTicks = coresDelta.SoftIrq;
        round.ServerCoresBusyTicks = coresDelta.Busy;
        round.CpuMicrosecondsPerRequest = CpuAccounting.MicrosecondsPerRequest(round.ServerCpuTicks, result.Responses, _ticksPerSecond);
        round.SoftIrqMicrosecondsPerRequest = CpuAccounting.SoftIrqMicrosecondsPerRequest(round.ServerCoresSoftIrqTicks, result.Responses, _ticksPerSecond);
        round.ServerCoresMicrosecondsPerRequest = CpuAccounting.MicrosecondsPerRequest(round.ServerCoresBusyTicks, result.Responses, _ticksPerSecond);
        round.ServerCpuPercent = CpuAccounting.Seconds(round.ServerCpuTicks, _ticksPerSecond) / window * 100;
        round.LoadGeneratorCpuPercent = CpuAccounting.Seconds(round.LoadGeneratorCpuTicks, _ticksPerSecond) / window * 100;
        round.OtherCpuPercent = CpuAccounting.OtherCpuPercent(round.MachineBusyTicks, round.ServerCpuTicks, round.LoadGeneratorCpuTicks, window, _ticksPerSecond);
        round.Disturbed = round.OtherCpuPercent > CpuAccounting.DisturbedThresholdPercent;
        round.P50Microseconds = result.P50Microseconds;
        round.P99Microseconds = result.P99Microseconds;
        if (perf is not null)
        {
            round.ProfileShares = await PerfProfile.FinishAsync(perf, perfData!, cancellationToken).ConfigureAwait(false);
        }

        round.Errors = result.Errors;
        round.Non2xx = result.Non2xx;
        round.ErrorDetails = new Dictionary<string, long>(result.ErrorDetails);
        if (result.Responses == 0)
        {
            round.FailureReason = $"no responses (exit code {run.ExitCode}; errors: {string.Join(", ", result.ErrorDetails.Select(kv => $"{kv.Key} x{kv.Value}"))})";
        }

        return round;
    }

    private async Task RunIdleAsync(Scenario scenario, ScenarioReport report, IProgressSink progress, CancellationToken cancellationToken)
    {
        int count = scenario.Connections;
        string? note = null;
        long limit = IdleConnections.OpenFilesLimit() ?? long.MaxValue;
        // The harness holds one fd per connection, and so does the server (it inherits this limit).
        const int Spare = 512;
        if (limit < count + Spare)
        {
            count = (int)Math.Max(0, limit - Spare);
            note = $"The open-files limit (ulimit -n) is {limit}: only {count} connections were opened instead of {scenario.Connections}. Raise it (ulimit -n {scenario.Connections + Spare * 2}) to open all.";
            progress.Log(note);
        }

        report.ExampleCommand = $"(built in) {count} connections, {IdleParallelism} at a time, each after one GET {scenario.Path}";
        foreach (var transport in TransportsOf(scenario))
        {
            var transportReport = new TransportReport { Name = transport.Name, Description = transport.Description };
            report.Transports.Add(transportReport);
            progress.Step($"starting the {transport.Name} server");
            var server = await StartServerAsync(transport, scenario, transportReport, progress, cancellationToken).ConfigureAwait(false);
            progress.Advance();
            if (server is null)
            {
                progress.Advance();
                continue;
            }

            try
            {
                progress.Step($"{transport.Name}: opening {count:N0} idle connections");

                // A few connections first, so that code paths and pools exist in the baseline.
                using (var warm = new IdleConnections())
                {
                    await warm.OpenAsync(server.EndPoint, scenario.Path, 256, IdleParallelism, IdleOpenLimit, cancellationToken).ConfigureAwait(false);
                }

                await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
                long baseline = server.ReadMemory()?.ResidentKiB ?? 0;
                var cpuBefore = server.ReadCpu();
                var stopwatch = Stopwatch.StartNew();
                using var idle = new IdleConnections();
                await idle.OpenAsync(server.EndPoint, scenario.Path, count, IdleParallelism, IdleOpenLimit, cancellationToken).ConfigureAwait(false);
                double openSeconds = stopwatch.Elapsed.TotalSeconds;
                await Task.Delay(2000, cancellationToken).ConfigureAwait(false); // let the server finish and settle
                var memory = server.ReadMemory();
                var cpuAfter = server.ReadCpu();
                long cpuTicks = cpuBefore is { } b && cpuAfter is { } a ? a.Own - b.Own : 0;
                transportReport.Idle = new IdleReport
                {
                    Requested = count,
                    Opened = idle.Open,
                    Failed = idle.Failed,
                    OpenSeconds = openSeconds,
                    BaselineRssKiB = baseline,
                    RssWithConnectionsKiB = memory?.ResidentKiB ?? 0,
                    PeakRssKiB = memory?.PeakResidentKiB ?? 0,
                    ServerCpuTicks = cpuTicks,
                    CpuMicrosecondsPerConnection = CpuAccounting.MicrosecondsPerRequest(cpuTicks, idle.Open, _ticksPerSecond),
                    ErrorDetails = idle.Errors,
                    Note = note,
                };
                if (idle.Open == 0)
                {
                    transportReport.FailureReason = "no connection could be opened: " + string.Join(", ", idle.Errors.Select(kv => $"{kv.Key} x{kv.Value}"));
                }

                CheckServerAlive(transportReport, server, progress);
            }
            finally
            {
                transportReport.ServerExitCode = await server.StopAsync().ConfigureAwait(false);
                await server.DisposeAsync().ConfigureAwait(false);
                progress.Advance();
            }
        }
    }

    public static string ToolName(LoadTool tool) => tool switch
    {
        LoadTool.Bombardier => "bombardier",
        LoadTool.Wrk => "wrk",
        LoadTool.H2Load => "h2load",
        LoadTool.Churn => "churn-client (built in)",
        LoadTool.Idle => "built in",
        LoadTool.WebSocket => "websocket-client (built in)",
        _ => tool.ToString(),
    };

    private static string Tail(string text) => text.Length <= 400 ? text.Trim() : "…" + text[^400..].Trim();
}
