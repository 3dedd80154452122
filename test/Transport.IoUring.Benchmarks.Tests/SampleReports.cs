using System;
using System.Collections.Generic;
using System.Linq;
using Transport.IoUring.Benchmarks.Results;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>Hand-made run reports with round figures, so expected table cells can be written down.</summary>
internal static class SampleReports
{
    public static RoundReport Round(int round, double rps, double? cpu, double? p50 = 500, double? p99 = 2000, bool disturbed = false) => new()
    {
        Round = round,
        Responses = (long)(rps * 5),
        ToolSeconds = 5,
        WindowSeconds = 5.2,
        RequestsPerSecond = rps,
        CpuMicrosecondsPerRequest = cpu,

        // The server's cores: a quarter of the server's own time again in softirq, and 1.2× it busy in all.
        SoftIrqMicrosecondsPerRequest = cpu * 0.25,
        ServerCoresMicrosecondsPerRequest = cpu * 1.2,
        P50Microseconds = p50,
        P99Microseconds = p99,
        ServerCpuPercent = 98,
        LoadGeneratorCpuPercent = 60,
        OtherCpuPercent = disturbed ? 14 : 3,
        Disturbed = disturbed,
        PeakRssKiB = 100 * 1024,
    };

    public static TransportReport Transport(string name, params RoundReport[] rounds) => new() { Name = name, Rounds = rounds.ToList() };

    public static ScenarioReport Plaintext() => new()
    {
        Name = "plaintext-64",
        Description = "GET /plaintext, 64 connections",
        Tool = "bombardier",
        Transports =
        [
            Transport("sockets", Round(1, 80_000, 12.0), Round(2, 84_000, 11.8), Round(3, 82_000, 12.2)),
            Transport("iouring", Round(1, 96_000, 10.0), Round(2, 100_000, 9.6, disturbed: true), Round(3, 98_000, 9.8)),
        ],
    };

    public static RunReport Run(double iouringFactor = 1.0)
    {
        var scenario = Plaintext();
        foreach (var round in scenario.Transports[1].Rounds)
        {
            round.RequestsPerSecond *= iouringFactor;
        }

        return new RunReport
        {
            StartedAt = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero),
            Machine = new MachineInfo { Host = "vm", Cores = 2, CpuModel = "AMD EPYC", Kernel = "6.18", DotnetRuntime = "10.0.12" },
            Settings = new RunSettings
            {
                Scenarios = ["plaintext-64", "idle-10k"],
                Transports = ["sockets", "iouring"],
                DurationSeconds = 5,
                WarmupSeconds = 6,
                Rounds = 3,
                ServerCpus = "0",
                ClientCpus = "1",
                ServerEnvironment = new Dictionary<string, string> { ["DOTNET_TC_CallCountingDelayMs"] = "0" },
                Tools = new Dictionary<string, string> { ["bombardier"] = "/usr/bin/bombardier" },
            },
            Scenarios =
            [
                scenario,
                new ScenarioReport
                {
                    Name = "idle-10k",
                    Description = "idle connections",
                    Tool = "built in",
                    Transports =
                    [
                        new TransportReport { Name = "sockets", Idle = new IdleReport { Requested = 10_000, Opened = 10_000, BaselineRssKiB = 75 * 1024, RssWithConnectionsKiB = 175 * 1024, PeakRssKiB = 176 * 1024, CpuMicrosecondsPerConnection = 100 } },
                        new TransportReport { Name = "iouring", Idle = new IdleReport { Requested = 10_000, Opened = 10_000, BaselineRssKiB = 77 * 1024, RssWithConnectionsKiB = 157 * 1024, PeakRssKiB = 158 * 1024, CpuMicrosecondsPerConnection = 80 } },
                    ],
                },
            ],
        };
    }
}
