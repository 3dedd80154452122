using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>What one harness run does, from the command line.</summary>
internal sealed class HarnessSettings
{
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultWarmup = TimeSpan.FromSeconds(6);
    public const int DefaultRounds = 3;

    /// <summary>Warm-up runs in chunks of this length, each measured, to show that CPU per request settled.</summary>
    public const int WarmupChunkSeconds = 2;

    public required IReadOnlyList<Scenario> Scenarios { get; init; }
    public required IReadOnlyList<TransportVariant> Transports { get; init; }
    public required int DurationSeconds { get; init; }
    public required int WarmupSeconds { get; init; }
    public required int Rounds { get; init; }
    public required string ServerCpus { get; init; }
    public required string ClientCpus { get; init; }
    public required string OutputDirectory { get; init; }
    public required string RepositoryRoot { get; init; }
    public string? BombardierPath { get; init; }

    /// <summary>With --perf DIR: each measured round is recorded with perf into DIR, and split by code (Measurement/PerfProfile.cs).</summary>
    public string? PerfDirectory { get; init; }

    /// <summary>"loopback" (default) or "veth": where the bytes between load generator and server travel.</summary>
    public string Network { get; init; } = Transport.IoUring.Benchmarks.Network.NetworkPath.LoopbackName;

    public string SampleDll => Path.Combine(RepositoryRoot, "samples", "WebApp", "bin", "Release", "net10.0", "WebApp.dll");

    /// <summary>The platform server's build (build/PlatformServer), which the platform scenarios run.</summary>
    public string PlatformDll => Path.Combine(RepositoryRoot, "build", "PlatformServer", "bin", "Release", "net10.0", "PlatformServer.dll");

    /// <summary>The server a row runs in a scenario: the platform server, or the row's WebApp.dll.</summary>
    public string ServerDllFor(TransportVariant transport, Scenario scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(transport);
        if (scenario.App == ServerApp.Platform)
        {
            return transport.PlatformDllInSampleDirectory ?? PlatformDll;
        }

        return SampleDllFor(transport);
    }

    /// <summary>The WebApp.dll a row runs: this repository's build, or the baseline row's own.</summary>
    public string SampleDllFor(TransportVariant transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return transport.SampleDirectory is { } directory ? Path.Combine(directory, "WebApp.dll") : SampleDll;
    }

    /// <summary>The warm-up chunk lengths: e.g. 6 s → 2, 2, 2; 5 s → 2, 2, 1.</summary>
    public IReadOnlyList<int> WarmupChunks()
    {
        var chunks = new List<int>();
        for (int left = WarmupSeconds; left > 0; left -= WarmupChunkSeconds)
        {
            chunks.Add(Math.Min(WarmupChunkSeconds, left));
        }

        return chunks;
    }

    /// <summary>
    /// Parses a duration: "10s", "1500ms", "2m", or plain seconds ("10"). The tools take whole
    /// seconds, so the result is rounded up to whole seconds.
    /// </summary>
    public static int ParseSeconds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = Regex.Match(text.Trim(), @"^(?<value>\d+(?:\.\d+)?)(?<unit>ms|s|m)?$", RegexOptions.CultureInvariant);
        if (!match.Success)
        {
            throw new FormatException($"Not a duration: '{text}' (use e.g. 10s, 1500ms, 2m)");
        }

        double value = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        double seconds = match.Groups["unit"].Value switch
        {
            "ms" => value / 1000,
            "m" => value * 60,
            _ => value,
        };
        return (int)Math.Ceiling(seconds);
    }

    /// <summary>The repository root: the nearest directory above <paramref name="start"/> holding Transport.IoUring.sln.</summary>
    public static string? FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Transport.IoUring.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
