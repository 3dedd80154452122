using System;
using System.Globalization;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>
/// What a fuzz run does, from environment variables (docs/reliability.md, "Differential fuzzing"):
/// FUZZ_SEED (default: new each run), FUZZ_CASES (default <see cref="DefaultCases"/>),
/// FUZZ_SECONDS (default <see cref="DefaultSeconds"/>: the CI run), FUZZ_CASE (replay that one case only,
/// FUZZ_CASES times: default once; repeats show whether a difference depends on timing),
/// FUZZ_CANDIDATE=sockets (the servers under test run on Sockets too: a calibration run, which shows
/// what Sockets does differently from itself and so must pass).
/// </summary>
internal sealed record FuzzSettings(int Seed, bool SeedGiven, int? SingleCase, int Cases, TimeSpan Time, bool CalibrateOnSockets)
{
    public const int DefaultCases = 5000;

    /// <summary>
    /// The time for cases in the CI run; with the three servers' start and stop the test stays
    /// within a minute.
    /// </summary>
    public const int DefaultSeconds = 30;

    public static FuzzSettings FromEnvironment()
    {
        int? seed = Read("FUZZ_SEED");
        int? single = Read("FUZZ_CASE");
        return new FuzzSettings(
            seed ?? Random.Shared.Next(),
            seed is not null,
            single,
            Read("FUZZ_CASES") ?? (single is null ? DefaultCases : 1),
            TimeSpan.FromSeconds(Read("FUZZ_SECONDS") ?? DefaultSeconds),
            Environment.GetEnvironmentVariable("FUZZ_CANDIDATE") switch
            {
                null or "" or "iouring" => false,
                "sockets" => true,
                string other => throw new InvalidOperationException($"FUZZ_CANDIDATE={other}: use iouring (the default) or sockets."),
            });
    }

    /// <summary>The index of the <paramref name="n"/>th case of the run.</summary>
    public int CaseIndex(int n) => SingleCase ?? n;

    /// <summary>The command that replays <paramref name="index"/> of this seed (or the whole run, when null).</summary>
    public string ReplayCommand(int? index) =>
        $"FUZZ_SEED={Seed}{(index is int i ? $" FUZZ_CASE={i}" : "")}{(CalibrateOnSockets ? " FUZZ_CANDIDATE=sockets" : "")} dotnet test test/Transport.IoUring.Tests -c Release "
        + "--filter \"FullyQualifiedName~Fuzz.DifferentialFuzzTests\" --logger \"console;verbosity=detailed\"";

    private static int? Read(string name)
    {
        string? value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed) && parsed >= 0
            ? parsed
            : throw new InvalidOperationException($"{name}={value} is not a non-negative integer.");
    }
}
