using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Transport.IoUring.Benchmarks.LoadGenerators;
using Transport.IoUring.Benchmarks.Network;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// The command line of one load-generator run for a scenario, pinned with taskset to the client
/// cores, and how to read what it prints.
/// </summary>
internal sealed class LoadCommand
{
    private LoadCommand(ProcessStartInfo startInfo, Func<string, string, LoadResult> parse, string? logFile)
    {
        StartInfo = startInfo;
        _parse = parse;
        _logFile = logFile;
    }

    private readonly Func<string, string, LoadResult> _parse;
    private readonly string? _logFile;

    public ProcessStartInfo StartInfo { get; }

    public string Display => ChildProcesses.Describe(StartInfo);

    /// <summary>Reads the tool's output (and its log file, if any, which is then deleted).</summary>
    public LoadResult Parse(string stdout, string stderr)
    {
        try
        {
            return _parse(stdout, stderr);
        }
        finally
        {
            if (_logFile is not null && File.Exists(_logFile))
            {
                File.Delete(_logFile);
            }
        }
    }

    /// <summary>Files the tools read: POST bodies, the gRPC request and wrk's pipelining script; the run's TLS certificate.</summary>
    public sealed class Files
    {
        public required string Directory { get; init; }
        public string PipelineScript => Path.Combine(Directory, "pipeline.lua");
        public string GrpcRequestBody => Path.Combine(Directory, "grpc-request.bin");

        /// <summary>The TLS scenarios' certificate, made with the files.</summary>
        public required ServerCertificate Certificate { get; init; }

        /// <summary>A body of <paramref name="bytes"/> bytes ('a'), written on first use.</summary>
        public string Body(int bytes)
        {
            string path = Path.Combine(Directory, $"body-{bytes.ToString(CultureInfo.InvariantCulture)}.bin");
            if (!File.Exists(path))
            {
                var body = new byte[bytes];
                body.AsSpan().Fill((byte)'a');
                File.WriteAllBytes(path, body);
            }

            return path;
        }

        /// <summary>Writes the files into <paramref name="directory"/> (default: a directory of this process under /tmp).</summary>
        public static Files Create(IEnumerable<System.Net.IPAddress> serverAddresses, string? directory = null)
        {
            directory ??= Path.Combine(Path.GetTempPath(), $"iouring-bench-{Environment.ProcessId}");
            System.IO.Directory.CreateDirectory(directory);
            var files = new Files { Directory = directory, Certificate = ServerCertificate.Create(directory, serverAddresses) };
            File.WriteAllText(files.PipelineScript, WrkPipelineScript);
            File.WriteAllBytes(files.GrpcRequestBody, GrpcRequest.Encode());
            return files;
        }

        /// <summary>
        /// Deletes the file directories (certificate key included) of harness runs that were killed
        /// before they could: those whose PID is no longer a harness. Returns the directories deleted.
        /// </summary>
        public static IReadOnlyList<string> RemoveLeftovers(Func<int, bool> isLiveHarness, string? parent = null)
        {
            ArgumentNullException.ThrowIfNull(isLiveHarness);
            var removed = new List<string>();
            foreach (var directory in System.IO.Directory.EnumerateDirectories(parent ?? Path.GetTempPath(), "iouring-bench-*"))
            {
                string suffix = Path.GetFileName(directory)["iouring-bench-".Length..];
                if (int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && !isLiveHarness(pid))
                {
                    try
                    {
                        System.IO.Directory.Delete(directory, recursive: true);
                        removed.Add(directory);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                    }
                }
            }

            return removed;
        }

        public void Delete()
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>wrk's pipelining example: every write carries <c>depth</c> copies of the request.</summary>
    public const string WrkPipelineScript = """
        -- wrk pipelining: each write carries `depth` requests (the first script argument).
        init = function(args)
           local r = {}
           local depth = tonumber(args[1]) or 1
           for i = 1, depth do
              r[i] = wrk.format()
           end
           req = table.concat(r)
        end

        request = function()
           return req
        end

        """;

    public static LoadCommand Create(Scenario scenario, ToolSet tools, string baseUrl, int seconds, string clientCpus, Files files, NetworkPath? network = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(files);
        string url = baseUrl + scenario.Path;
        string threads = CpuList.Count(clientCpus).ToString(CultureInfo.InvariantCulture);
        string duration = seconds.ToString(CultureInfo.InvariantCulture);
        var args = new List<string> { "-c", clientCpus };
        string? logFile = null;
        Func<string, string, LoadResult> parse;
        switch (scenario.Tool)
        {
            case LoadTool.Bombardier:
                args.AddRange([tools.Bombardier!, "-c", Int(scenario.Connections), "-d", duration + "s", "-l", "-p", "r", "-o", "json"]);
                if (scenario.Method != "GET")
                {
                    args.AddRange(["-m", scenario.Method]);
                }

                if (scenario.BodyBytes > 0)
                {
                    // bombardier reads the file once and sends it from memory with a Content-Length.
                    args.AddRange(["-f", files.Body(scenario.BodyBytes), "-H", "Content-Type: application/octet-stream"]);
                }

                args.Add(url);
                parse = (stdout, _) => BombardierOutputParser.Parse(stdout);
                break;

            case LoadTool.Wrk:
                args.AddRange([tools.Wrk!, "-t", threads, "-c", Int(scenario.Connections), "-d", duration + "s", "--latency"]);
                if (scenario.CloseEachConnection)
                {
                    // wrk reconnects (a new TLS handshake) when a response says Connection: close.
                    args.AddRange(["-H", "Connection: close"]);
                }

                bool pipelined = scenario.PipelineDepth > 1;
                if (pipelined)
                {
                    args.AddRange(["-s", files.PipelineScript, url, "--", Int(scenario.PipelineDepth)]);
                }
                else
                {
                    args.Add(url);
                }

                parse = (stdout, _) => WrkOutputParser.Parse(stdout, pipelined);
                break;

            case LoadTool.H2Load:
                logFile = Path.Combine(files.Directory, $"h2load-{Guid.NewGuid():N}.log");
                args.AddRange([tools.H2Load!, "-c", Int(scenario.Connections), "-m", Int(scenario.StreamsPerConnection), "-t", threads,
                               "-D", duration, "--log-file=" + logFile]);
                if (scenario.Grpc)
                {
                    // -d makes every request a POST of these bytes: the recorded gRPC call.
                    args.AddRange(["-d", files.GrpcRequestBody]);
                    foreach (var header in GrpcRequest.Headers)
                    {
                        args.AddRange(["-H", header]);
                    }
                }

                args.Add(url);
                string log = logFile;
                parse = (stdout, _) =>
                {
                    List<double>? latencies = null;
                    if (File.Exists(log))
                    {
                        using var reader = File.OpenText(log);
                        latencies = H2LoadOutputParser.ParseLog(reader);
                    }

                    return H2LoadOutputParser.Parse(stdout, latencies);
                };
                break;

            case LoadTool.Churn:
                args.AddRange(["dotnet", typeof(LoadCommand).Assembly.Location, ChurnCommandName,
                               "--url", url, "--connections", Int(scenario.Connections), "--duration", duration]);
                if (scenario.Endpoint == ServerEndpoint.Https)
                {
                    args.AddRange(["--certificate-sha256", files.Certificate.Sha256Hex]);
                }
                parse = (stdout, _) => ClientReport.Parse(stdout);
                break;

            case LoadTool.WebSocket:
                args.AddRange(["dotnet", typeof(LoadCommand).Assembly.Location, WebSocketCommandName,
                               "--url", "ws" + url[url.IndexOf(':', StringComparison.Ordinal)..], "--connections", Int(scenario.Connections),
                               "--duration", duration, "--message-bytes", Int(scenario.BodyBytes)]);
                parse = (stdout, _) => ClientReport.Parse(stdout);
                break;

            default:
                throw new NotSupportedException($"{scenario.Tool} runs no external command.");
        }

        var startInfo = new ProcessStartInfo(tools.Taskset ?? "taskset") { UseShellExecute = false };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        if (scenario.Tool is LoadTool.Churn or LoadTool.WebSocket)
        {
            startInfo.Environment["DOTNET_TC_CallCountingDelayMs"] = "0";
        }

        return new LoadCommand((network ?? NetworkPath.Loopback).InClientNamespace(startInfo), parse, logFile);
    }

    public const string ChurnCommandName = "churn-client";
    public const string WebSocketCommandName = "websocket-client";

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>taskset-style CPU lists: "1", "0,2", "2-3".</summary>
internal static class CpuList
{
    public static IReadOnlyList<int> Parse(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var cpus = new SortedSet<int>();
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-');
            if (range.Length is < 1 or > 2 || !int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out int from))
            {
                throw new FormatException($"Not a CPU list: '{list}'");
            }

            int to = from;
            if (range.Length == 2 && (!int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out to) || to < from))
            {
                throw new FormatException($"Not a CPU list: '{list}'");
            }

            for (int cpu = from; cpu <= to; cpu++)
            {
                cpus.Add(cpu);
            }
        }

        if (cpus.Count == 0)
        {
            throw new FormatException($"Not a CPU list: '{list}'");
        }

        return cpus.ToList();
    }

    public static int Count(string list) => Parse(list).Count;
}
