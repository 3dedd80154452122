using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Spectre.Console;
using Transport.IoUring.Benchmarks.Measurement;
using Transport.IoUring.Benchmarks.Network;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Results;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>A whole run: checks, scenarios with live progress, then the table, JSON and charts.</summary>
internal static class HarnessRun
{
    /// <summary>The veth network of the run in progress, removed by whatever ends the process.</summary>
    public static VethNetwork? ActiveNetwork { get; private set; }

    /// <summary>
    /// A WebApp.dll's informational version: the SDK appends the commit it was built from
    /// ("1.0.0+7dac83b..."), which tells the two builds of a baseline run apart in the report.
    /// </summary>
    private static string? SampleVersion(string dll)
    {
        string? version = FileVersionInfo.GetVersionInfo(dll).ProductVersion;
        return string.IsNullOrWhiteSpace(version) ? null : version;
    }

    public static async Task<int> RunAsync(HarnessSettings settings, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        bool interactive = console.Profile.Capabilities.Interactive;
        var startedAt = DateTimeOffset.UtcNow;
        var stopwatch = Stopwatch.StartNew();

        if (!File.Exists(settings.SampleDll))
        {
            console.MarkupLine($"[red]The sample is not built:[/] {Markup.Escape(settings.SampleDll)} is missing. Build it with [bold]dotnet build -c Release samples/WebApp[/] (dotnet run of the harness builds it too).");
            return 1;
        }

        if (settings.Scenarios.Any(s => s.App == ServerApp.Platform) && !File.Exists(settings.PlatformDll))
        {
            console.MarkupLine($"[red]The platform server is not built:[/] {Markup.Escape(settings.PlatformDll)} is missing. Build it with [bold]dotnet build -c Release build/PlatformServer[/] (dotnet run of the harness builds it too).");
            return 1;
        }

        var tools = ToolSet.Locate(settings.BombardierPath, settings.RepositoryRoot);
        if (tools.Nginx is null && settings.Transports.Any(t => t.IsNginx))
        {
            console.MarkupLine("nginx is not installed; installing it with apt-get for the nginx reference row");
            var (installed, output) = NginxReference.Install();
            if (!installed)
            {
                console.MarkupLine($"[yellow]{Markup.Escape(ToolSet.NginxInstallHint)}: {Markup.Escape(output.Trim())}[/]");
            }

            tools = ToolSet.Locate(settings.BombardierPath, settings.RepositoryRoot);
        }

        if (settings.PerfDirectory is not null)
        {
            Directory.CreateDirectory(settings.PerfDirectory);
            // The servers inherit these: perf can then name JIT-compiled frames (PerfProfile).
            foreach (var (name, value) in PerfProfile.ServerEnvironment)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }

        if (tools.Taskset is null)
        {
            console.MarkupLine("[red]taskset not found[/]: it pins the server and the load generator to their cores (Debian/Ubuntu: apt-get install util-linux).");
            return 1;
        }

        var report = new RunReport
        {
            StartedAt = startedAt,
            Machine = MachineProbe.Describe(),
            Settings = new RunSettings
            {
                Scenarios = settings.Scenarios.Select(s => s.Name).ToList(),
                Transports = settings.Transports.Select(t => t.Name).ToList(),
                DurationSeconds = settings.DurationSeconds,
                WarmupSeconds = settings.WarmupSeconds,
                Rounds = settings.Rounds,
                ServerCpus = settings.ServerCpus,
                ClientCpus = settings.ClientCpus,
                Network = settings.Network,
                ServerEnvironment = BenchmarkServer.CommonEnvironment.ToDictionary(kv => kv.Key, kv => kv.Value),
                Tools = tools.Describe(),
                Baseline = settings.Transports.FirstOrDefault(t => t.Name == TransportVariant.BaselineName)?.SampleDirectory,
            },
        };
        if (report.Settings.Baseline is not null)
        {
            report.Settings.BaselineVersion = SampleVersion(Path.Combine(report.Settings.Baseline, "WebApp.dll"));
            report.Settings.SampleVersion = SampleVersion(settings.SampleDll);
        }

        var m = report.Machine;
        console.MarkupLine($"[bold]Transport.IoUring benchmarks[/] on {Markup.Escape(m.Host)}: {m.Cores} cores ({Markup.Escape(m.CpuModel)}), Linux {Markup.Escape(m.Kernel)}, .NET {Markup.Escape(m.DotnetRuntime)}");
        console.MarkupLine($"server on CPU {Markup.Escape(settings.ServerCpus)}, load generator on CPU {Markup.Escape(settings.ClientCpus)}; " +
                           $"warm-up {settings.WarmupSeconds} s, {settings.Rounds} x {settings.DurationSeconds} s per transport; transports {Markup.Escape(string.Join(", ", report.Settings.Transports))}");
        if (CpuList.Parse(settings.ServerCpus).Intersect(CpuList.Parse(settings.ClientCpus)).Any())
        {
            report.Notes.Add($"server CPUs ({settings.ServerCpus}) and client CPUs ({settings.ClientCpus}) overlap: the load generator competes with the server");
            console.MarkupLine($"[yellow]{Markup.Escape(report.Notes[^1])}[/]");
        }

        if (MachineProbe.LoadAverage() is double load)
        {
            report.Notes.Add($"load average at start: {load.ToString("0.00", CultureInfo.InvariantCulture)}");
            if (load >= 0.5)
            {
                console.MarkupLine($"[yellow]The machine is busy (load average {load:0.00}): figures will be disturbed; see the 'other CPU' column.[/]");
            }
        }

        foreach (var tool in new[] { LoadTool.Bombardier, LoadTool.Wrk, LoadTool.H2Load })
        {
            if (tools.PathFor(tool) is null && settings.Scenarios.Any(s => s.Tool == tool))
            {
                console.MarkupLine($"[yellow]{Markup.Escape(ToolSet.InstallHint(tool))}[/]; its scenarios are skipped.");
            }
        }

        Directory.CreateDirectory(settings.OutputDirectory);
        string stem = Path.Combine(settings.OutputDirectory, $"{startedAt.ToLocalTime():yyyy-MM-dd-HHmm}-{SafeName(m.Host)}");
        VethNetwork? veth = null;
        var network = NetworkPath.Loopback;
        if (settings.Network == NetworkPath.VethName)
        {
            var commandRunner = new ProcessCommandRunner();
            foreach (var leftover in VethNetwork.RemoveLeftovers(commandRunner, HarnessProcess.IsLive))
            {
                console.MarkupLine($"[yellow]removed {Markup.Escape(leftover)}, left by an earlier run that was killed[/]");
            }

            veth = new VethNetwork(Environment.ProcessId, commandRunner);
            try
            {
                veth.Create();
            }
            catch (InvalidOperationException ex)
            {
                console.MarkupLine($"[red]{Markup.Escape(ex.Message)}[/]");
                return 1;
            }

            // Also removed when the process exits by a signal the finally below does not see.
            ActiveNetwork = veth;
            network = NetworkPath.Veth(veth);
            report.Notes.Add($"network: veth pair {veth.ServerLink} ({veth.ServerAddress}, namespace {veth.ServerNamespace}, server) - {veth.ClientLink} ({veth.ClientAddress}, namespace {veth.ClientNamespace}, load generator)");
            console.MarkupLine(Markup.Escape(report.Notes[^1]));
        }

        foreach (var leftover in LoadCommand.Files.RemoveLeftovers(HarnessProcess.IsLive))
        {
            console.MarkupLine($"[yellow]removed {Markup.Escape(leftover)}, left by an earlier run that was killed[/]");
        }

        var files = LoadCommand.Files.Create([network.ServerAddress]);
        var runner = new BenchmarkRunner(settings, tools, files, network);
        bool interrupted = false;
        try
        {
            foreach (var scenario in settings.Scenarios)
            {
                ScenarioReport? scenarioReport = null;
                await console.Progress()
                    .AutoClear(interactive)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                    .StartAsync(async context =>
                    {
                        var task = context.AddTask(Markup.Escape(scenario.Name), maxValue: runner.StepCount(scenario));
                        var sink = new SpectreProgressSink(console, task, scenario.Name, interactive);
                        scenarioReport = await runner.RunScenarioAsync(scenario, sink, cancellationToken).ConfigureAwait(false);
                        task.Value = task.MaxValue;
                    }).ConfigureAwait(false);

                report.Scenarios.Add(scenarioReport!);
                // Plain Console: markdown must not be wrapped at the terminal width.
                Console.WriteLine();
                Console.WriteLine(MarkdownReport.RenderScenario(scenarioReport!));
                report.ElapsedSeconds = stopwatch.Elapsed.TotalSeconds;
                await File.WriteAllTextAsync(stem + ".json", report.ToJson(), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            interrupted = true;
            report.Notes.Add("interrupted: the scenarios after the last one listed did not run");
            console.MarkupLine("[yellow]Interrupted; writing what was measured.[/]");
        }
        finally
        {
            // Processes first: a namespace outlives its deletion while a process is inside it.
            ChildProcesses.KillAll();
            files.Delete();
            veth?.Dispose();
            ActiveNetwork = null;
        }

        report.ElapsedSeconds = stopwatch.Elapsed.TotalSeconds;
        await File.WriteAllTextAsync(stem + ".json", report.ToJson(), CancellationToken.None).ConfigureAwait(false);
        string markdown = MarkdownReport.RenderRun(report);
        await File.WriteAllTextAsync(stem + ".md", markdown, CancellationToken.None).ConfigureAwait(false);
        var charts = report.Scenarios.Count > 0 ? ChartRenderer.Render(report, stem) : [];
        if (settings.PerfDirectory is not null)
        {
            await File.WriteAllTextAsync(stem + "-profile.md", ProfileTable.Render(report), CancellationToken.None).ConfigureAwait(false);
        }

        Console.WriteLine();
        Console.WriteLine(MarkdownReport.RenderHeadline(report));
        console.MarkupLine($"Written: {Markup.Escape(stem)}.md, .json{string.Concat(charts.Select(c => ", " + Markup.Escape(Path.GetFileName(c))))} ({stopwatch.Elapsed.TotalMinutes:0.0} min)");
        bool anyFailed = report.Scenarios.Any(s => s.Transports.Any(t => t.Failed));
        return interrupted ? 130 : anyFailed ? 3 : 0;
    }

    private static string SafeName(string host) => new(host.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());

    private sealed class SpectreProgressSink(IAnsiConsole console, ProgressTask task, string scenario, bool interactive) : IProgressSink
    {
        public void Step(string description)
        {
            task.Description = Markup.Escape($"{scenario}: {description}");
            if (!interactive)
            {
                console.WriteLine($"{DateTime.Now:HH:mm:ss} {scenario}: {description}");
            }
        }

        public void Advance() => task.Increment(1);

        public void Log(string line) => console.MarkupLine($"[yellow]{Markup.Escape(line)}[/]");
    }
}
