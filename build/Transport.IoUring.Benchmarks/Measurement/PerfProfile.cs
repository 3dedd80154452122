using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Transport.IoUring.Benchmarks.Running;

namespace Transport.IoUring.Benchmarks.Measurement;

/// <summary>
/// <c>--perf DIR</c>: a <c>perf record</c> of the server during a measured round, and the split of
/// its samples by the code that spent them (<see cref="SplitByCaller"/>: the kernel, this transport
/// or Kestrel's Sockets transport, TLS, Kestrel's HTTP/1.1 and core, Kestrel's HTTP/2, WebSockets,
/// pipes, the app and hosting, the runtime). Multiplied by the round's CPU-µs per request, the shares say how
/// many of those microseconds each part of the stack spends, which is what the issue-14 profiles
/// compare between transports. perf costs CPU itself: a profiled run is not for pooling.
/// </summary>
internal static partial class PerfProfile
{
    public const int Frequency = 2999;

    /// <summary>The categories, in the order tables show them.</summary>
    public static IReadOnlyList<string> Categories { get; } =
    [
        "kernel", "transport", "TLS", "Kestrel HTTP/1.1 + core", "Kestrel HTTP/2", "WebSockets", "pipes", "app + hosting", "runtime",
    ];

    /// <summary>
    /// The environment a .NET server needs for perf to name JIT-compiled frames: a perf map, and
    /// code not double-mapped (with W^X the JIT's code lives in an anonymous memfd that perf cannot
    /// match to the map).
    /// </summary>
    public static IReadOnlyDictionary<string, string> ServerEnvironment { get; } = new Dictionary<string, string>
    {
        ["DOTNET_PerfMapEnabled"] = "1",
        ["DOTNET_EnableWriteXorExecute"] = "0",
    };

    /// <summary>Starts <c>perf record</c> of <paramref name="pid"/> for <paramref name="seconds"/>, into <paramref name="dataFile"/>.</summary>
    public static Process StartRecording(int pid, string dataFile, int seconds)
    {
        var startInfo = new ProcessStartInfo("perf")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in new[]
                 {
                     "record", "-F", Frequency.ToString(CultureInfo.InvariantCulture), "-g", "-p", pid.ToString(CultureInfo.InvariantCulture),
                     "-o", dataFile, "--", "sleep", seconds.ToString(CultureInfo.InvariantCulture),
                 })
        {
            startInfo.ArgumentList.Add(arg);
        }

        return ChildProcesses.Start(startInfo);
    }

    /// <summary>Waits for the recording to end, reads it with <c>perf report</c> and returns the share of samples per category (null when perf failed).</summary>
    public static async Task<Dictionary<string, double>?> FinishAsync(Process recording, string dataFile, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recording);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            try
            {
                await recording.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await ChildProcesses.StopAsync(recording, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
        }

        ChildProcesses.Forget(recording);
        if (!File.Exists(dataFile))
        {
            return null;
        }

        // perf report's flat list by leaf frame, kept beside the data for reading by hand.
        var (reportExit, reportText, _) = await RunPerfAsync(["report", "-i", dataFile, "--no-children", "--sort", "dso,sym", "--stdio", "-g", "none", "--percent-limit", "0.05"], cancellationToken).ConfigureAwait(false);
        if (reportExit == 0)
        {
            await File.WriteAllTextAsync(Path.ChangeExtension(dataFile, ".report.txt"), reportText, cancellationToken).ConfigureAwait(false);
        }

        var (scriptExit, script, _) = await RunPerfAsync(["script", "-i", dataFile, "-F", "ip,sym,dso"], cancellationToken).ConfigureAwait(false);
        if (scriptExit != 0)
        {
            return null;
        }

        var shares = SplitByCaller(script);
        return shares.Count == 0 ? null : shares;
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunPerfAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("perf") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in arguments)
        {
            startInfo.ArgumentList.Add(arg);
        }

        return await ChildProcesses.RunAsync(startInfo, TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The share (0–1) of samples per category, from <c>perf script -F ip,sym,dso</c> of a
    /// recording with call chains. A sample whose leaf frame is in the kernel counts for the kernel.
    /// Otherwise it counts for the first frame, from the leaf towards the thread's start, whose code
    /// is not the runtime's: a memmove, a lock or an allocation is charged to the transport, pipe,
    /// TLS or Kestrel code that called it, and only what no such frame calls (the thread pool's own
    /// dispatch and waiting, the GC's threads) stays "runtime".
    /// </summary>
    public static Dictionary<string, double> SplitByCaller(string perfScript)
    {
        ArgumentNullException.ThrowIfNull(perfScript);
        var counts = new Dictionary<string, double>();
        string? category = null;
        bool inSample = false;
        int samples = 0;
        foreach (string raw in perfScript.Split('\n'))
        {
            var frame = ScriptFrame().Match(raw);
            if (!frame.Success)
            {
                // A blank line (or a sample header) ends the sample being read.
                if (inSample)
                {
                    counts[category ?? "runtime"] = counts.GetValueOrDefault(category ?? "runtime") + 1;
                    samples++;
                    inSample = false;
                    category = null;
                }

                continue;
            }

            string dso = frame.Groups["dso"].Value;
            string symbol = frame.Groups["symbol"].Value.Trim();
            bool kernel = dso.StartsWith("[kernel", StringComparison.Ordinal);
            if (!inSample)
            {
                inSample = true;
                category = kernel ? "kernel" : null;
            }

            if (category is null && !kernel)
            {
                string c = Categorize(dso, ".", symbol);
                if (c != "runtime")
                {
                    category = c;
                }
            }
        }

        if (inSample)
        {
            counts[category ?? "runtime"] = counts.GetValueOrDefault(category ?? "runtime") + 1;
            samples++;
        }

        return samples == 0 ? counts : counts.ToDictionary(kv => kv.Key, kv => kv.Value / samples);
    }

    /// <summary>Which part of the stack a sampled frame belongs to.</summary>
    public static string Categorize(string dso, string kind, string symbol)
    {
        ArgumentNullException.ThrowIfNull(dso);
        ArgumentNullException.ThrowIfNull(symbol);
        if (kind == "k" || dso.StartsWith("[kernel", StringComparison.Ordinal))
        {
            return "kernel";
        }

        string fileName = Path.GetFileName(dso);
        if (fileName.StartsWith("libssl", StringComparison.Ordinal) || fileName.StartsWith("libcrypto", StringComparison.Ordinal))
        {
            return "TLS";
        }

        // JIT frames name their assembly: "... [Assembly] Namespace.Type::Method(...)". Ready-to-run
        // code perf could not name is at least in its assembly's file.
        var owner = OwnerOf().Match(symbol);
        string assembly = owner.Success
            ? owner.Groups["assembly"].Value
            : fileName.EndsWith(".dll", StringComparison.Ordinal) ? fileName[..^4] : "";
        string type = owner.Success ? owner.Groups["type"].Value : "";
        return assembly switch
        {
            "Transport.IoUring" or "System.Net.Sockets" or "Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets" => "transport",
            "System.Net.Security" => "TLS",
            "System.Net.WebSockets" => "WebSockets",
            "System.IO.Pipelines" => "pipes",
            "Microsoft.AspNetCore.Server.Kestrel.Core" when type.Contains(".Http2.", StringComparison.Ordinal) || type.Contains("HPack", StringComparison.Ordinal)
                || type.Contains(".Http2", StringComparison.Ordinal) => "Kestrel HTTP/2",
            "Microsoft.AspNetCore.Server.Kestrel.Core" or "Microsoft.AspNetCore.Server.Kestrel" or "Microsoft.AspNetCore.Connections.Abstractions" => "Kestrel HTTP/1.1 + core",
            "System.Net.Http" when type.Contains("HPack", StringComparison.Ordinal) => "Kestrel HTTP/2", // Kestrel's HPack encoder is shared source from System.Net.Http
            _ when assembly.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || assembly.StartsWith("Microsoft.Extensions", StringComparison.Ordinal)
                || assembly.StartsWith("Grpc", StringComparison.Ordinal) || assembly.StartsWith("Google.Protobuf", StringComparison.Ordinal)
                || assembly is "WebApp" or "PlatformServer" => "app + hosting",
            _ => "runtime", // CoreCLR, CoreLib, the GC, libc, stubs, unnamed JIT frames
        };
    }

    // "\t    7fc2f4a5ca40 instance void [System.IO.Pipelines] ...::MoveNext()[OptimizedTier1] (/tmp/perf-16469.map)"
    [GeneratedRegex(@"^\s+[0-9a-f]+ (?<symbol>.*) \((?<dso>[^()]*(?:\([^()]*\))?[^()]*)\)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex ScriptFrame();

    [GeneratedRegex(@"\[(?<assembly>[A-Za-z0-9_.]+)\] (?<type>[^\s(]+?)::", RegexOptions.CultureInvariant)]
    private static partial Regex OwnerOf();
}
