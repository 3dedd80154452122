using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Transport.IoUring.Benchmarks.Network;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// The nginx reference row (<c>--transports …,nginx</c>): a C server on epoll answering the same
/// static /plaintext and /json responses, pinned like the sample, so that a run shows the distance
/// between Kestrel on either transport and a server with almost nothing above the kernel. One
/// process (<c>master_process off</c>, one worker's work in the process whose CPU is read), no
/// access log, keep-alive without a request limit, TCP_NODELAY as Kestrel has it.
/// </summary>
internal static class NginxReference
{
    public const string Name = "nginx";

    /// <summary>
    /// The configuration for one server on <paramref name="address"/>:<paramref name="port"/>;
    /// every path nginx writes (pid, temp files) lies in <paramref name="directory"/>.
    /// </summary>
    public static string Config(string address, int port, string directory) => string.Create(CultureInfo.InvariantCulture, $$"""
        # Written by the benchmark harness (build/Transport.IoUring.Benchmarks) for one run; see docs/benchmarks.md.
        daemon off;
        master_process off;
        worker_processes 1;
        error_log stderr warn;
        pid {{directory}}/nginx.pid;

        events {
            worker_connections 16384;
        }

        http {
            access_log off;
            server_tokens off;
            keepalive_requests 1000000000;
            keepalive_timeout 65s;
            tcp_nodelay on;
            client_body_temp_path {{directory}}/client_body;
            proxy_temp_path {{directory}}/proxy;
            fastcgi_temp_path {{directory}}/fastcgi;
            uwsgi_temp_path {{directory}}/uwsgi;
            scgi_temp_path {{directory}}/scgi;

            server {
                listen {{address}}:{{port}} backlog=512;

                location = /plaintext {
                    default_type text/plain;
                    return 200 "Hello, World!";
                }

                location = /json {
                    default_type application/json;
                    return 200 '{"message":"Hello, World!"}';
                }

                # The harness asks every server which transport serves it.
                location = /transport {
                    default_type text/plain;
                    return 200 "nginx";
                }
            }
        }

        """);

    /// <summary>Writes the configuration into its own directory under <paramref name="filesDirectory"/> and returns the pinned command.</summary>
    public static ProcessStartInfo Command(string nginx, string serverCpus, NetworkPath network, int port, string filesDirectory)
    {
        ArgumentNullException.ThrowIfNull(network);
        string directory = Path.Combine(filesDirectory, "nginx-" + port.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(directory);
        string config = Path.Combine(directory, "nginx.conf");
        File.WriteAllText(config, Config(network.ServerAddress.ToString(), port, directory));
        var startInfo = new ProcessStartInfo("taskset")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        // -e stderr: nginx opens its default error log before it reads the configuration.
        foreach (var arg in new[] { "-c", serverCpus, nginx, "-e", "stderr", "-p", directory, "-c", config })
        {
            startInfo.ArgumentList.Add(arg);
        }

        return startInfo;
    }

    /// <summary>Installs nginx with apt when it is missing (Debian's package starts no service where policy-rc.d forbids it).</summary>
    public static (bool Installed, string Output) Install()
    {
        var runner = new ProcessCommandRunner(TimeSpan.FromMinutes(5));
        var (exitCode, output) = runner.Run(["apt-get", "install", "-y", "-q", "nginx"]);
        if (exitCode != 0)
        {
            var update = runner.Run(["apt-get", "update", "-q"]);
            (exitCode, output) = runner.Run(["apt-get", "install", "-y", "-q", "nginx"]);
            output = update.Output + output;
        }

        return (exitCode == 0, output);
    }
}
