using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// A way to run the sample server: its <c>--transport</c> and the environment that goes with it.
/// </summary>
/// <param name="Name">The name used in --transports, tables and JSON.</param>
/// <param name="SampleTransport">The sample's <c>--transport</c> value ("nginx" for the nginx reference row, which runs no sample).</param>
/// <param name="Environment">Extra environment variables for the server process.</param>
/// <param name="SampleDirectory">Where the row's WebApp.dll is, when not this repository's build (the baseline row).</param>
internal sealed record TransportVariant(string Name, string SampleTransport, IReadOnlyDictionary<string, string> Environment, string Description, string? SampleDirectory = null)
{
    /// <summary>The row that runs a WebApp built from another commit (<c>--baseline PATH</c>), exactly like the "iouring" row.</summary>
    public const string BaselineName = "iouring-baseline";

    /// <summary>The row the baseline row repeats with older code: its ratio row is iouring / iouring-baseline.</summary>
    public const string BaselineOf = "iouring";

    /// <summary>
    /// The "iouring" row (same sample transport and environment) on the WebApp.dll in
    /// <paramref name="directory"/>; that build's transport options are never set, so it does not
    /// matter which configuration section the older sample reads them from.
    /// </summary>
    public static TransportVariant Baseline(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string full = Path.GetFullPath(directory);
        if (!File.Exists(Path.Combine(full, "WebApp.dll")))
        {
            throw new ArgumentException($"--baseline {directory}: {Path.Combine(full, "WebApp.dll")} is missing. Build the other commit's sample and pass its output directory, " +
                                        "e.g. git worktree add /tmp/before COMMIT && dotnet build -c Release /tmp/before/samples/WebApp, then --baseline /tmp/before/samples/WebApp/bin/Release/net10.0.");
        }

        var current = All.First(t => t.Name == BaselineOf);
        return current with
        {
            Name = BaselineName,
            Description = $"this transport, defaults, as built from another commit: {full}",
            SampleDirectory = full,
        };
    }

    /// <summary>The platform server's file name; a baseline directory that holds it (built from the same commit, copied beside WebApp.dll) serves the platform scenarios too.</summary>
    public const string PlatformDllName = "PlatformServer.dll";

    /// <summary>Where the baseline row's platform server would be (null for rows on this repository's build).</summary>
    public string? PlatformDllInSampleDirectory => SampleDirectory is null ? null : Path.Combine(SampleDirectory, PlatformDllName);

    /// <summary>The row with TechEmpower's Sockets settings.</summary>
    public const string SocketsTechEmpowerName = "sockets-te";

    /// <summary>An io_uring row must be served by io_uring: the sample's /transport answers this.</summary>
    public bool ExpectsIoUring => SampleTransport == "iouring";

    /// <summary>The nginx reference row: a C server on epoll, not Kestrel.</summary>
    public bool IsNginx => SampleTransport == NginxReference.Name;

    /// <summary>What the server's /transport must answer for the row to be measured.</summary>
    public string ExpectedServedBy => IsNginx ? NginxReference.Name : ExpectsIoUring ? "io_uring" : "sockets";

    /// <summary>
    /// Whether this row runs <paramref name="scenario"/>: nginx serves only the static plaintext and
    /// json responses; the baseline row the sample's scenarios, and the platform scenarios when its
    /// directory also holds that commit's PlatformServer.dll.
    /// </summary>
    public bool Serves(Scenario scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        if (IsNginx)
        {
            return scenario.IsStaticResponse;
        }

        return PlatformDllInSampleDirectory is not { } platformDll || scenario.App == ServerApp.Sample || File.Exists(platformDll);
    }

    public static IReadOnlyList<TransportVariant> All { get; } =
    [
        new("sockets", "sockets", new Dictionary<string, string>(), "Kestrel's Sockets transport, defaults"),
        new("iouring", "iouring", new Dictionary<string, string>(), "this transport, defaults"),
        // Sockets tuned for speed: socket completions run on the epoll thread instead of being
        // queued to the thread pool, and Kestrel runs the app's continuations there too.
        new("sockets-inline", "sockets", new Dictionary<string, string>
            {
                ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1",
                ["Sockets__UnsafePreferInlineScheduling"] = "true",
            },
            "Sockets with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 and SocketTransportOptions.UnsafePreferInlineScheduling=true"),
        // Sockets as TechEmpower's platform entry runs it (docs/benchmarks.md, "sockets-te"): inline
        // socket completions (its Dockerfiles' environment), and in code UnsafePreferInlineScheduling
        // and WaitForDataBeforeAllocatingBuffer = false.
        new(SocketsTechEmpowerName, "sockets", new Dictionary<string, string>
            {
                ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1",
                ["Sockets__UnsafePreferInlineScheduling"] = "true",
                ["Sockets__WaitForDataBeforeAllocatingBuffer"] = "false",
            },
            "Sockets as TechEmpower's platform entry sets it: DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1, UnsafePreferInlineScheduling=true, WaitForDataBeforeAllocatingBuffer=false"),
        new("iouring-inline", "iouring", IoUringOption("UnsafePreferInlineScheduling", "true"),
            "this transport with Kestrel:Transport:IoUring:UnsafePreferInlineScheduling=true"),
        new("iouring-poll", "iouring", IoUringOption("ReceiveMode", "PollAndReceive"),
            "this transport with Kestrel:Transport:IoUring:ReceiveMode=PollAndReceive"),
        new(NginxReference.Name, NginxReference.Name, new Dictionary<string, string>(),
            "nginx, one process (master_process off), epoll, keep-alive, the same static responses: a reference for the plaintext and json scenarios"),
    ];

    public static IReadOnlyList<string> DefaultNames { get; } = ["sockets", "iouring", "sockets-inline"];

    /// <summary>
    /// One transport option for the sample, under both configuration sections it has read: "IoUring"
    /// and "Kestrel:Transport:IoUring" (where the sample's binding is moving), so that the row keeps
    /// its option whichever of the two the sample under test reads.
    /// </summary>
    private static Dictionary<string, string> IoUringOption(string name, string value) => new()
    {
        ["Kestrel__Transport__IoUring__" + name] = value,
    };

    /// <summary>
    /// The rows named, in order. With <paramref name="baselineDirectory"/> (<c>--baseline</c>) the
    /// iouring-baseline row is available, and joins right after "iouring" (or last) when not named,
    /// so that its rounds pair with the current code's.
    /// </summary>
    public static IReadOnlyList<TransportVariant> Select(IEnumerable<string>? names, string? baselineDirectory = null)
    {
        var list = (names ?? DefaultNames).Select(n => n.Trim()).Where(n => n.Length > 0).Distinct().ToList();
        if (list.Count == 0)
        {
            list = DefaultNames.ToList();
        }

        var baseline = baselineDirectory is null ? null : Baseline(baselineDirectory);
        bool namesBaseline = list.Any(n => RowOf(n) == BaselineName); // with or without a setting
        if (baseline is null && namesBaseline)
        {
            throw new ArgumentException($"The {BaselineName} row runs a WebApp built from another commit: give its directory with --baseline PATH (see docs/benchmarks.md).");
        }

        if (baseline is not null && !namesBaseline)
        {
            int at = list.IndexOf(BaselineOf);
            list.Insert(at < 0 ? list.Count : at + 1, BaselineName);
        }

        var unknown = list.Select(RowOf).Where(n => n != BaselineName && !n.StartsWith(WithoutPrefix, StringComparison.Ordinal) && All.All(t => t.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown transport(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", All.Select(t => t.Name))}, {WithoutPrefix}FEATURE[+FEATURE...], and {BaselineName} with --baseline PATH; any of them may add {EnvironmentSeparator}VARIABLE=VALUE.");
        }

        TransportVariant Resolve(string n) => n == BaselineName ? baseline! : n.StartsWith(WithoutPrefix, StringComparison.Ordinal) ? Without(n) : All.First(t => t.Name == n);
        return list.Select(n => n.Contains(EnvironmentSeparator, StringComparison.Ordinal) ? WithEnvironment(Resolve(RowOf(n)), n) : Resolve(n)).ToList();
    }

    /// <summary>Rows "ROW@VARIABLE=VALUE[@VARIABLE=VALUE...]": ROW with more environment variables for its server.</summary>
    public const char EnvironmentSeparator = '@';

    /// <summary>The row a name builds on: the part before the first <see cref="EnvironmentSeparator"/>.</summary>
    public static string RowOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int at = name.IndexOf(EnvironmentSeparator, StringComparison.Ordinal);
        return at < 0 ? name : name[..at];
    }

    /// <summary>
    /// <paramref name="row"/> with the variables <paramref name="name"/> lists after its row
    /// (<c>sockets@DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0</c>): a runtime or configuration
    /// setting A/B measured on both transports in one run, rounds interleaved. Each such row is
    /// paired with its row and, like any row, with the rows of the other transport.
    /// </summary>
    public static TransportVariant WithEnvironment(TransportVariant row, string name)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(name);
        string[] parts = name.Split(EnvironmentSeparator);
        if (parts[0] != row.Name)
        {
            throw new ArgumentException($"{name} does not build on the row {row.Name}.");
        }

        var environment = new Dictionary<string, string>(row.Environment);
        foreach (string assignment in parts.Skip(1))
        {
            int eq = assignment.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || assignment[..eq].Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_')))
            {
                throw new ArgumentException($"{name}: after {EnvironmentSeparator} comes VARIABLE=VALUE (letters, digits and '_' before the '='), not '{assignment}'.");
            }

            environment[assignment[..eq]] = assignment[(eq + 1)..];
        }

        if (row.IsNginx)
        {
            throw new ArgumentException($"{name}: the nginx row runs no .NET server; environment variables do not apply to it.");
        }

        return row with
        {
            Name = name,
            Environment = environment,
            Description = $"{row.Description}, with {string.Join(", ", parts.Skip(1))}",
        };
    }

    /// <summary>Rows "iouring-without-FEATURE[+FEATURE...]": the iouring row with those kernel features switched off.</summary>
    public const string WithoutPrefix = "iouring-without-";

    /// <summary>
    /// The "iouring" row with <c>DisabledKernelFeatures</c> set to the features the name lists
    /// (<c>iouring-without-ReceiveBundle+IncrementalBuffers</c>): the same build with and without a
    /// kernel path, interleaved in one run. The server checks the names (an unknown one fails its start).
    /// </summary>
    public static TransportVariant Without(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string features = name[WithoutPrefix.Length..].Replace('+', ',');
        if (features.Length == 0 || features.Split(',').Any(f => f.Length == 0))
        {
            throw new ArgumentException($"{name}: name the kernel features after {WithoutPrefix}, joined by '+' (e.g. {WithoutPrefix}ReceiveBundle+IncrementalBuffers).");
        }

        return new TransportVariant(name, "iouring", IoUringOption("DisabledKernelFeatures", features),
            $"this transport with Kestrel:Transport:IoUring:DisabledKernelFeatures={features}");
    }
}
