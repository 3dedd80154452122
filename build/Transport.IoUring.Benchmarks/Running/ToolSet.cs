using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// The external programs the harness runs, found on PATH (bombardier also by --bombardier or in
/// ../shared/tools beside the repository). The harness installs nothing: a missing tool skips
/// the scenarios that need it, with an install hint.
/// </summary>
internal sealed class ToolSet
{
    public string? Bombardier { get; init; }
    public string? Wrk { get; init; }
    public string? H2Load { get; init; }
    public string? Taskset { get; init; }

    /// <summary>The nginx binary, for the nginx reference row only.</summary>
    public string? Nginx { get; init; }

    public const string NginxInstallHint = "nginx not found and could not be installed: install it (Debian/Ubuntu: apt-get install nginx)";

    public static ToolSet Locate(string? bombardierOption, string repositoryRoot)
    {
        string? bombardier = null;
        if (!string.IsNullOrEmpty(bombardierOption))
        {
            bombardier = File.Exists(bombardierOption) ? Path.GetFullPath(bombardierOption) : FindOnPath(bombardierOption);
        }
        else
        {
            bombardier = FindOnPath("bombardier");
            // On this project's machines bombardier ships in shared/tools beside the repositories.
            foreach (var candidate in new[] { Path.Combine(repositoryRoot, "..", "shared", "tools", "bombardier"), "/work/shared/tools/bombardier" })
            {
                if (bombardier is null && File.Exists(candidate))
                {
                    bombardier = Path.GetFullPath(candidate);
                }
            }
        }

        return new ToolSet
        {
            Bombardier = bombardier,
            Wrk = FindOnPath("wrk"),
            H2Load = FindOnPath("h2load"),
            Taskset = FindOnPath("taskset"),
            Nginx = FindOnPath("nginx") ?? (File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null),
        };
    }

    public static string InstallHint(LoadTool tool) => tool switch
    {
        LoadTool.Bombardier => "bombardier not found: put it on PATH or pass --bombardier PATH (go install github.com/codesenberg/bombardier@latest, or the release binary)",
        LoadTool.Wrk => "wrk not found: install it (Debian/Ubuntu: apt-get install wrk)",
        LoadTool.H2Load => "h2load not found: install it (Debian/Ubuntu: apt-get install nghttp2-client)",
        _ => "",
    };

    /// <summary>The program a scenario needs, or null when it is missing (the built-in clients need none).</summary>
    public string? PathFor(LoadTool tool) => tool switch
    {
        LoadTool.Bombardier => Bombardier,
        LoadTool.Wrk => Wrk,
        LoadTool.H2Load => H2Load,
        _ => "(built in)",
    };

    public Dictionary<string, string> Describe() => new()
    {
        ["bombardier"] = Bombardier ?? "missing",
        ["wrk"] = Wrk ?? "missing",
        ["h2load"] = H2Load ?? "missing",
        ["nginx"] = Nginx ?? "missing",
    };

    public static string? FindOnPath(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(name) ? Path.GetFullPath(name) : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
    }
}
