using System;
using System.Collections.Generic;
using System.Linq;

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
    int StreamsPerConnection = 1)
{
    public bool Http2Only => Tool == LoadTool.H2Load;

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
        new("h2c-100", "HTTP/2 without TLS (prior knowledge), GET /plaintext, 16 connections x 100 streams", LoadTool.H2Load, "/plaintext", 16, StreamsPerConnection: 100),
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
