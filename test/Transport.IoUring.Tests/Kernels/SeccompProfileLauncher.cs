using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace Transport.IoUring.Tests.Kernels;

/// <summary>
/// Turns a Docker-format seccomp profile into a real seccomp filter around a command, as a
/// container runtime would: a launcher is generated from the profile and compiled with <c>cc</c>
/// (syscall names resolved by the C library's headers; a name this architecture lacks is skipped,
/// as runtimes do). Supported: <c>defaultAction</c> SCMP_ACT_ERRNO (with <c>defaultErrnoRet</c>) or
/// SCMP_ACT_ALLOW, and unconditional rules of action SCMP_ACT_ALLOW or SCMP_ACT_ERRNO; a rule with
/// argument conditions or includes/excludes is refused rather than loaded wrongly.
/// </summary>
internal static class SeccompProfileLauncher
{
    /// <summary>Compiles the launcher for <paramref name="profilePath"/>; returns its path. Run it as: launcher COMMAND [ARGS...].</summary>
    public static string Build(string profilePath)
    {
        using var profile = JsonDocument.Parse(File.ReadAllText(profilePath));
        var root = profile.RootElement;
        string defaultAction = root.GetProperty("defaultAction").GetString()!;
        int defaultErrno = root.TryGetProperty("defaultErrnoRet", out var e) ? e.GetInt32() : 1;

        var source = new StringBuilder("""
            #include <errno.h>
            #include <stddef.h>
            #include <stdio.h>
            #include <unistd.h>
            #include <sys/prctl.h>
            #include <sys/syscall.h>
            #include <linux/filter.h>
            #include <linux/seccomp.h>

            #define RULE(nr, ret) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (ret)),

            int main(int argc, char **argv)
            {
                if (argc < 2) { fprintf(stderr, "usage: %s command [args...]\n", argv[0]); return 2; }
                struct sock_filter filter[] = {
                    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),

            """);

        foreach (var rule in root.GetProperty("syscalls").EnumerateArray())
        {
            foreach (string constrained in new[] { "args", "includes", "excludes" })
            {
                if (rule.TryGetProperty(constrained, out var value) && value.ValueKind is JsonValueKind.Array or JsonValueKind.Object
                    && (value.ValueKind == JsonValueKind.Array ? value.GetArrayLength() > 0 : value.EnumerateObject().Any()))
                {
                    throw new NotSupportedException($"{profilePath}: a rule with \"{constrained}\" is not supported by this test launcher");
                }
            }

            string action = rule.GetProperty("action").GetString()!;
            string ret = action switch
            {
                "SCMP_ACT_ALLOW" => "SECCOMP_RET_ALLOW",
                "SCMP_ACT_ERRNO" => $"SECCOMP_RET_ERRNO | {(rule.TryGetProperty("errnoRet", out var r) ? r.GetInt32() : defaultErrno)}",
                _ => throw new NotSupportedException($"{profilePath}: action {action} is not supported by this test launcher"),
            };
            foreach (var name in rule.GetProperty("names").EnumerateArray())
            {
                string n = name.GetString()!;
                source.Append($"#ifdef __NR_{n}\n        RULE(__NR_{n}, {ret})\n#endif\n");
            }
        }

        string defaultRet = defaultAction switch
        {
            "SCMP_ACT_ALLOW" => "SECCOMP_RET_ALLOW",
            "SCMP_ACT_ERRNO" => $"SECCOMP_RET_ERRNO | {defaultErrno}",
            _ => throw new NotSupportedException($"{profilePath}: default action {defaultAction} is not supported by this test launcher"),
        };
        source.Append($$"""
                    BPF_STMT(BPF_RET | BPF_K, {{defaultRet}}),
                };
                struct sock_fprog program = { (unsigned short)(sizeof(filter) / sizeof(filter[0])), filter };
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("PR_SET_NO_NEW_PRIVS"); return 3; }
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) { perror("PR_SET_SECCOMP"); return 3; }
                execvp(argv[1], argv + 1);
                perror("execvp");
                return 127;
            }

            """);

        string directory = Path.Combine(Path.GetTempPath(), $"iouring-seccomp-profile-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        string c = Path.Combine(directory, "launcher.c");
        string binary = Path.Combine(directory, "launcher");
        File.WriteAllText(c, source.ToString());
        var result = ChildProcess.Run("cc", ["-std=gnu11", "-Wall", "-Werror", "-o", binary, c], TimeSpan.FromMinutes(2));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"The launcher for {profilePath} did not compile (cc exit code {result.ExitCode}):\n{result.Stderr}");
        }

        return binary;
    }
}
