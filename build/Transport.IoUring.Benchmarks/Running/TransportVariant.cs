using System;
using System.Collections.Generic;
using System.Linq;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// A way to run the sample server: its <c>--transport</c> and the environment that goes with it.
/// </summary>
/// <param name="Name">The name used in --transports, tables and JSON.</param>
/// <param name="SampleTransport">The sample's <c>--transport</c> value ("nginx" for the nginx reference row, which runs no sample).</param>
/// <param name="Environment">Extra environment variables for the server process.</param>
internal sealed record TransportVariant(string Name, string SampleTransport, IReadOnlyDictionary<string, string> Environment, string Description)
{
    /// <summary>An io_uring row must be served by io_uring: the sample's /transport answers this.</summary>
    public bool ExpectsIoUring => SampleTransport == "iouring";

    /// <summary>The nginx reference row: a C server on epoll, not Kestrel.</summary>
    public bool IsNginx => SampleTransport == NginxReference.Name;

    /// <summary>What the server's /transport must answer for the row to be measured.</summary>
    public string ExpectedServedBy => IsNginx ? NginxReference.Name : ExpectsIoUring ? "io_uring" : "sockets";

    /// <summary>Whether this row runs <paramref name="scenario"/>: nginx serves only the static plaintext and json responses.</summary>
    public bool Serves(Scenario scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        return !IsNginx || scenario.IsStaticResponse;
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

    public static IReadOnlyList<TransportVariant> Select(IEnumerable<string>? names)
    {
        var list = (names ?? DefaultNames).Select(n => n.Trim()).Where(n => n.Length > 0).Distinct().ToList();
        if (list.Count == 0)
        {
            list = DefaultNames.ToList();
        }

        var unknown = list.Where(n => All.All(t => t.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown transport(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", All.Select(t => t.Name))}.");
        }

        return list.Select(n => All.First(t => t.Name == n)).ToList();
    }
}
