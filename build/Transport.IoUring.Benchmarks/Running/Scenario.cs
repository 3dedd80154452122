using System;
using System.Collections.Generic;
using System.Linq;
using Transport.IoUring.Benchmarks.LoadGenerators;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>The program that loads the server in a scenario.</summary>
internal enum LoadTool
{
    Bombardier,
    Wrk,
    H2Load,
    /// <summary>The harness's own connect/request/close loop (<c>churn-client</c>).</summary>
    Churn,
    /// <summary>The harness itself opens idle keep-alive connections and reads server memory.</summary>
    Idle,
    /// <summary>The harness's own WebSocket echo loop (<c>websocket-client</c>).</summary>
    WebSocket,
}

/// <summary>What the sample listens with in a scenario.</summary>
internal enum ServerEndpoint
{
    /// <summary>HTTP/1.1 (and HTTP/2 upgrade-less clients get HTTP/1.1) on plain TCP, through <c>--urls</c>.</summary>
    Http,
    /// <summary>HTTP/2 only, without TLS (prior knowledge).</summary>
    H2c,
    /// <summary>TLS 1.3 with the run's self-signed certificate; HTTP/1.1 or HTTP/2 as ALPN decides.</summary>
    Https,
}

/// <summary>Which server program a scenario runs on each transport row.</summary>
internal enum ServerApp
{
    /// <summary>samples/WebApp: Kestrel's HTTP stack and ASP.NET Core's pipeline.</summary>
    Sample,

    /// <summary>
    /// build/PlatformServer: a TechEmpower "platform"-style responder on Kestrel's connection pipes,
    /// with no HTTP stack above the transport (docs/benchmarks.md, "The platform server").
    /// </summary>
    Platform,
}

/// <summary>One benchmark scenario: what is requested, how, and by how many connections.</summary>
internal sealed record Scenario(
    string Name,
    string Description,
    LoadTool Tool,
    string Path,
    int Connections,
    string Method = "GET",
    int BodyBytes = 0,
    int PipelineDepth = 1,
    int StreamsPerConnection = 1,
    ServerEndpoint Endpoint = ServerEndpoint.Http,
    bool Grpc = false,
    bool CloseEachConnection = false,
    ServerApp App = ServerApp.Sample)
{
    /// <summary>GET /plaintext or /json over plain HTTP/1.1: answered by a static response, which nginx can serve too.</summary>
    public bool IsStaticResponse => Endpoint == ServerEndpoint.Http && Method == "GET" && Path is ("/plaintext" or "/json")
        && Tool is (LoadTool.Bombardier or LoadTool.Wrk);

    /// <summary>Throughput in bytes matters more than requests: the tables add MB/s and CPU per MB.</summary>
    public bool ReportsBytes => BodyBytes >= 1024 * 1024;

    public static IReadOnlyList<Scenario> All { get; } =
    [
        new("plaintext-64", "GET /plaintext, 64 connections", LoadTool.Bombardier, "/plaintext", 64),
        new("plaintext-256", "GET /plaintext, 256 connections", LoadTool.Bombardier, "/plaintext", 256),
        new("plaintext-1024", "GET /plaintext, 1,024 connections", LoadTool.Bombardier, "/plaintext", 1024),
        new("plaintext-pipelined", "GET /plaintext, 256 connections, 16 requests per write", LoadTool.Wrk, "/plaintext", 256, PipelineDepth: 16),
        new("json-64", "GET /json, 64 connections", LoadTool.Bombardier, "/json", 64),

        // The same two with wrk, which costs the load generator's core about a third less per
        // request than bombardier: on two cores bombardier saturates its core before a fast server
        // does (client-bound), wrk leaves the server as the bottleneck.
        new("plaintext-64-wrk", "GET /plaintext, 64 connections, wrk (server-bound where bombardier is client-bound)", LoadTool.Wrk, "/plaintext", 64),
        new("json-64-wrk", "GET /json, 64 connections, wrk (server-bound where bombardier is client-bound)", LoadTool.Wrk, "/json", 64),
        new("echo-4k", "POST /echo with a 4 KiB body, 64 connections", LoadTool.Bombardier, "/echo", 64, Method: "POST", BodyBytes: 4096),
        new("download-1m", "GET /download?size=1048576 (1 MiB responses), 16 connections", LoadTool.Bombardier, "/download?size=1048576", 16),
        new("churn", "a new connection per request (GET /plaintext, Connection: close), 32 concurrent", LoadTool.Churn, "/plaintext", 32),
        new("h2c-100", "HTTP/2 without TLS (prior knowledge), GET /plaintext, 16 connections x 100 streams", LoadTool.H2Load, "/plaintext", 16, StreamsPerConnection: 100, Endpoint: ServerEndpoint.H2c),
        new("https-64", "GET /plaintext over TLS 1.3, keep-alive, 64 connections, wrk", LoadTool.Wrk, "/plaintext", 64, Endpoint: ServerEndpoint.Https),
        new("https-churn", "a new TLS 1.3 connection per request (handshake, GET /plaintext, Connection: close), 32 concurrent, wrk", LoadTool.Wrk, "/plaintext", 32, Endpoint: ServerEndpoint.Https, CloseEachConnection: true),
        new("h2-tls-100", "HTTP/2 over TLS 1.3 (ALPN h2), GET /plaintext, 16 connections x 100 streams", LoadTool.H2Load, "/plaintext", 16, StreamsPerConnection: 100, Endpoint: ServerEndpoint.Https),
        new("grpc-unary", "unary gRPC call /benchmarks.Echo/Say with a 13-byte payload over h2c, 16 connections x 100 streams, h2load", LoadTool.H2Load, GrpcRequest.Path, 16, Method: "POST", StreamsPerConnection: 100, Endpoint: ServerEndpoint.H2c, Grpc: true),
        new("websocket-echo", "64 WebSocket connections on /ws, each echoing 32-byte binary messages one at a time", LoadTool.WebSocket, "/ws", 64, BodyBytes: 32),
        new("upload-16m", "POST /upload (a sink) with 16 MiB bodies, 16 connections", LoadTool.Bombardier, "/upload", 16, Method: "POST", BodyBytes: 16 * 1024 * 1024),

        // TechEmpower's platform tests on the platform server (wrk, as TechEmpower's own runs use),
        // where the transport's share of the CPU per request is largest.
        new("platform-plaintext-wrk", "platform server: GET /plaintext, 64 connections, wrk", LoadTool.Wrk, "/plaintext", 64, App: ServerApp.Platform),
        new("platform-pipelined", "platform server: GET /plaintext, 256 connections, 16 requests per write, wrk", LoadTool.Wrk, "/plaintext", 256, PipelineDepth: 16, App: ServerApp.Platform),
        new("platform-json", "platform server: GET /json (serialized per request), 64 connections, wrk", LoadTool.Wrk, "/json", 64, App: ServerApp.Platform),
        new("idle-10k", "10,000 idle keep-alive connections after one request each: server memory", LoadTool.Idle, "/plaintext", 10_000),
    ];

    /// <summary>Scenarios by name in the order given; throws naming the unknown ones.</summary>
    public static IReadOnlyList<Scenario> Select(IEnumerable<string>? names)
    {
        if (names is null)
        {
            return All;
        }

        var list = names.Select(n => n.Trim()).Where(n => n.Length > 0).ToList();
        if (list.Count == 0)
        {
            return All;
        }

        var unknown = list.Where(n => All.All(s => s.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown scenario(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", All.Select(s => s.Name))}.");
        }

        return list.Distinct().Select(n => All.First(s => s.Name == n)).ToList();
    }
}
