using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;

namespace Transport.IoUring.Benchmarks.Results;

/// <summary>Everything one harness run measured: the raw figures written as JSON beside the tables.</summary>
internal sealed class RunReport
{
    public int SchemaVersion { get; set; } = 1;
    public DateTimeOffset StartedAt { get; set; }
    public double ElapsedSeconds { get; set; }
    public MachineInfo Machine { get; set; } = new();
    public RunSettings Settings { get; set; } = new();
    public List<ScenarioReport> Scenarios { get; set; } = new();
    public List<string> Notes { get; set; } = new();

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    public static RunReport FromJson(string json)
        => JsonSerializer.Deserialize<RunReport>(json, s_json) ?? throw new FormatException("The JSON holds null, not a run report.");

    public static async Task<RunReport> LoadAsync(string path)
        => FromJson(await File.ReadAllTextAsync(path).ConfigureAwait(false));
}

internal sealed class MachineInfo
{
    public string Host { get; set; } = "";
    public int Cores { get; set; }
    public string CpuModel { get; set; } = "";
    public string Kernel { get; set; } = "";
    public string Os { get; set; } = "";
    public string DotnetRuntime { get; set; } = "";
    public long ClockTicksPerSecond { get; set; }
    public long OpenFilesLimit { get; set; }
}

internal sealed class RunSettings
{
    public List<string> Scenarios { get; set; } = new();
    public List<string> Transports { get; set; } = new();
    public double DurationSeconds { get; set; }
    public double WarmupSeconds { get; set; }
    public int Rounds { get; set; }
    public string ServerCpus { get; set; } = "";
    public string ClientCpus { get; set; } = "";
    /// <summary>"loopback" or "veth" (files written before --network existed: loopback).</summary>
    public string Network { get; set; } = "loopback";
    public Dictionary<string, string> ServerEnvironment { get; set; } = new();
    public Dictionary<string, string> Tools { get; set; } = new();
    /// <summary>The directory of the iouring-baseline row's WebApp.dll (--baseline), else null.</summary>
    public string? Baseline { get; set; }
    /// <summary>The baseline WebApp.dll's informational version (with the commit it was built from, when the build knew it).</summary>
    public string? BaselineVersion { get; set; }
    /// <summary>The same for this repository's WebApp.dll.</summary>
    public string? SampleVersion { get; set; }
}

internal sealed class ScenarioReport
{
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    public string Tool { get; set; } = "";
    /// <summary>The load command of the first measured round, for reproducing it by hand.</summary>
    public string? ExampleCommand { get; set; }
    public string? SkippedReason { get; set; }
    /// <summary>Bytes of each request's body where the scenario's figure is throughput (upload-16m), else null.</summary>
    public long? RequestBodyBytes { get; set; }
    public List<TransportReport> Transports { get; set; } = new();
}

internal sealed class TransportReport
{
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    public string? FailureReason { get; set; }
    /// <summary>What the sample's /transport answered.</summary>
    public string? ServedBy { get; set; }
    /// <summary>The transport's start-up log line, if it printed one.</summary>
    public string? ServerStartLine { get; set; }
    public int? ServerExitCode { get; set; }
    public List<WarmupChunk> Warmup { get; set; } = new();
    public List<RoundReport> Rounds { get; set; } = new();
    public IdleReport? Idle { get; set; }

    [JsonIgnore]
    public bool Failed => FailureReason is not null;
}

internal sealed class WarmupChunk
{
    public double Seconds { get; set; }
    public double RequestsPerSecond { get; set; }
    public double? CpuMicrosecondsPerRequest { get; set; }
}

internal sealed class RoundReport
{
    public int Round { get; set; }
    public long Responses { get; set; }
    public double ToolSeconds { get; set; }
    public double WindowSeconds { get; set; }
    public double RequestsPerSecond { get; set; }
    public long ServerCpuTicks { get; set; }
    public long LoadGeneratorCpuTicks { get; set; }
    public long MachineBusyTicks { get; set; }
    /// <summary>Softirq ticks of the server's cores (the <c>cpuN</c> lines of /proc/stat) over the window.</summary>
    public long ServerCoresSoftIrqTicks { get; set; }
    /// <summary>Busy ticks of the server's cores over the window: the server, softirq charged to no one, and anything else run there.</summary>
    public long ServerCoresBusyTicks { get; set; }
    public double? CpuMicrosecondsPerRequest { get; set; }
    /// <summary><see cref="ServerCoresSoftIrqTicks"/> per response, in µs (null in files written before it was measured).</summary>
    public double? SoftIrqMicrosecondsPerRequest { get; set; }
    /// <summary><see cref="ServerCoresBusyTicks"/> per response, in µs.</summary>
    public double? ServerCoresMicrosecondsPerRequest { get; set; }
    public double ServerCpuPercent { get; set; }
    public double LoadGeneratorCpuPercent { get; set; }
    public double OtherCpuPercent { get; set; }
    public bool Disturbed { get; set; }
    public double? P50Microseconds { get; set; }
    public double? P99Microseconds { get; set; }
    public long Errors { get; set; }
    public long Non2xx { get; set; }
    public Dictionary<string, long> ErrorDetails { get; set; } = new();
    public long PeakRssKiB { get; set; }
    /// <summary>With --perf: the share of the server's perf samples per code category (Measurement/PerfProfile.cs).</summary>
    public Dictionary<string, double>? ProfileShares { get; set; }
    public string? FailureReason { get; set; }
}

/// <summary>The idle-connections scenario's figures.</summary>
internal sealed class IdleReport
{
    public int Requested { get; set; }
    public int Opened { get; set; }
    public int Failed { get; set; }
    public double OpenSeconds { get; set; }
    public long BaselineRssKiB { get; set; }
    public long RssWithConnectionsKiB { get; set; }
    public long PeakRssKiB { get; set; }
    public long ServerCpuTicks { get; set; }
    public double? CpuMicrosecondsPerConnection { get; set; }
    public Dictionary<string, long> ErrorDetails { get; set; } = new();
    public string? Note { get; set; }

    [JsonIgnore]
    public double? KiBPerConnection => Opened > 0 ? (double)(RssWithConnectionsKiB - BaselineRssKiB) / Opened : null;
}
