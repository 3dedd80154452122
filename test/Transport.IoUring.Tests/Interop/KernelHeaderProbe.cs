using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace Transport.IoUring.Tests.Interop;

/// <summary>
/// Compiles and runs a small C program against the machine's <c>&lt;linux/io_uring.h&gt;</c> and
/// libc headers and returns what it prints, so the C# interop declarations are checked against the
/// headers themselves rather than against numbers copied from them.
/// </summary>
internal static partial class KernelHeaderProbe
{
    /// <summary>A value the C program prints: <paramref name="Key"/> is ours, <paramref name="CExpression"/> is evaluated by the compiler.</summary>
    /// <summary>
    /// One value to print. With <paramref name="IfDefined"/> the value is printed only when the
    /// header defines that macro (constants newer than the installed header), and is absent otherwise.
    /// </summary>
    public sealed record Query(string Key, string CExpression, string? IfDefined = null);

    private const string Preamble = """
        #define _GNU_SOURCE
        #include <stddef.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <errno.h>
        #include <poll.h>
        #include <sys/socket.h>
        #include <sys/uio.h>
        #include <sys/mman.h>
        #include <sys/eventfd.h>
        #include <sys/resource.h>
        #include <sys/syscall.h>
        #include <netinet/in.h>
        #include <netinet/tcp.h>
        #include <linux/version.h>
        #include <linux/capability.h>
        #include <linux/time_types.h>
        #include <linux/io_uring.h>

        #if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
        #error "linux/io_uring.h is older than 6.1 and lacks constants the transport uses: install newer kernel headers (linux-libc-dev / kernel-headers)"
        #endif

        #define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
        #define P(key, value) printf("%s %lld\n", key, (long long)(value))

        int main(void)
        {
        """;

    /// <summary>
    /// Evaluates every query. A query's C expression may contain <c>{a|b}</c>: member names that
    /// differ between header versions (e.g. <c>resv2</c> became <c>user_addr</c> in 6.5); the first
    /// alternative the compiler accepts is used.
    /// </summary>
    public static IReadOnlyDictionary<string, long> Evaluate(IReadOnlyList<Query> queries)
    {
        var choice = new Dictionary<string, int>(); // "{a|b}" → index of the alternative in use
        string directory = Directory.CreateTempSubdirectory("iouring-interop-").FullName;
        try
        {
            string source = Path.Combine(directory, "probe.c");
            string binary = Path.Combine(directory, "probe");
            for (int attempt = 0; ; attempt++)
            {
                File.WriteAllText(source, Generate(queries, choice));
                var (exit, stdout, stderr) = Run("cc", ["-std=gnu11", "-Wall", "-Werror", "-o", binary, source], directory);
                if (exit == 0)
                {
                    break;
                }

                // Move every alternative the compiler rejected on to its next spelling and retry.
                var missing = MissingMember().Matches(stderr).Select(m => m.Groups[1].Value).ToHashSet();
                bool advanced = false;
                foreach (string group in AlternativeGroups(queries))
                {
                    string[] names = group.Trim('{', '}').Split('|');
                    int current = choice.GetValueOrDefault(group);
                    if (missing.Contains(names[current]) && current + 1 < names.Length)
                    {
                        choice[group] = current + 1;
                        advanced = true;
                    }
                }

                if (!advanced || attempt > 8)
                {
                    throw new InvalidOperationException($"The header probe did not compile (cc exit code {exit}):\n{stderr}\n--- probe.c ---\n{File.ReadAllText(source)}");
                }
            }

            var (runExit, output, runError) = Run(binary, [], directory);
            if (runExit != 0)
            {
                throw new InvalidOperationException($"The header probe exited with {runExit}: {runError}");
            }

            var values = new Dictionary<string, long>();
            foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                string[] parts = line.Split(' ');
                values.Add(parts[0], long.Parse(parts[1], CultureInfo.InvariantCulture));
            }

            return values;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static IEnumerable<string> AlternativeGroups(IReadOnlyList<Query> queries)
        => queries.SelectMany(q => Alternatives().Matches(q.CExpression).Select(m => m.Value)).Distinct();

    private static string Generate(IReadOnlyList<Query> queries, Dictionary<string, int> choice)
    {
        var c = new StringBuilder(Preamble);
        c.Append('\n');
        foreach (var q in queries)
        {
            if (q.Key.Any(char.IsWhiteSpace))
            {
                throw new ArgumentException($"query key '{q.Key}' contains whitespace");
            }

            string expression = Alternatives().Replace(q.CExpression, m => m.Value.Trim('{', '}').Split('|')[choice.GetValueOrDefault(m.Value)]);
            if (q.IfDefined is not null)
            {
                c.Append(CultureInfo.InvariantCulture, $"#ifdef {q.IfDefined}\n");
            }

            c.Append(CultureInfo.InvariantCulture, $"    P(\"{q.Key}\", {expression});\n");
            if (q.IfDefined is not null)
            {
                c.Append("#endif\n");
            }
        }

        c.Append("    return 0;\n}\n");
        return c.ToString();
    }

    private static ChildProcessResult Run(string program, string[] arguments, string workingDirectory)
    {
        try
        {
            return ChildProcess.Run(program, arguments, TimeSpan.FromMinutes(2), workingDirectory);
        }
        catch (Win32Exception ex) when (program == "cc")
        {
            throw new InvalidOperationException(
                "The interop layout tests compile a C program against <linux/io_uring.h> and need a C compiler named 'cc' on PATH " +
                "(e.g. apt-get install gcc). Starting it failed: " + ex.Message, ex);
        }
    }

    [GeneratedRegex(@"\{[A-Za-z_0-9]+(\|[A-Za-z_0-9]+)+\}")]
    private static partial Regex Alternatives();

    [GeneratedRegex(@"has no member named .([A-Za-z_0-9]+).")]
    private static partial Regex MissingMember();
}
