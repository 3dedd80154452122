using System;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Threading.Tasks;
using Transport.IoUring.Tests.Sample;
using Xunit;

namespace Transport.IoUring.Tests.Environments;

/// <summary>
/// The sample under a real seccomp filter that makes io_uring_setup fail, as Docker's default
/// profile does (EPERM) and as a kernel without io_uring does (ENOSYS). A tiny C launcher
/// (compiled here with cc) installs the filter and execs the sample.
/// </summary>
public sealed class SeccompFallbackTests
{
    private const string LauncherSource = """
        #include <errno.h>
        #include <stddef.h>
        #include <stdlib.h>
        #include <unistd.h>
        #include <sys/prctl.h>
        #include <sys/syscall.h>
        #include <linux/audit.h>
        #include <linux/filter.h>
        #include <linux/seccomp.h>
        #ifndef __NR_io_uring_setup
        #define __NR_io_uring_setup 425
        #endif
        #if defined(__x86_64__)
        #define ARCH AUDIT_ARCH_X86_64
        #elif defined(__aarch64__)
        #define ARCH AUDIT_ARCH_AARCH64
        #endif
        int main(int argc, char **argv) {
            int err = atoi(argv[1]);
            struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            };
            struct sock_fprog prog = { sizeof f / sizeof f[0], f };
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 126;
            if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return 126;
            execvp(argv[2], argv + 2);
            return 127;
        }
        """;

    private static readonly Lazy<string> s_launcher = new(Compile);

    [Theory]
    [InlineData(1, "EPERM")]
    [InlineData(38, "ENOSYS")]
    public async Task UnderASeccompFilterThatFailsIoUringSetupTheSampleServesOnSocketsWithOneWarning(int errno, string errnoName)
    {
        var options = new SampleServerOptions { CommandPrefix = [s_launcher.Value, errno.ToString(System.Globalization.CultureInfo.InvariantCulture)] };
        await using var server = await SampleServerProcess.StartAsync(options);

        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("sockets", await client.GetStringAsync("/transport"));
        Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));
        Assert.Single(server.Lines, l => l.Contains("falls back to the Sockets transport", StringComparison.Ordinal));
        Assert.Contains(server.Lines, l => l.Contains(errnoName, StringComparison.Ordinal));
    }

    private static string Compile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "iouring-seccomp-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string source = Path.Combine(dir, "launcher.c");
        string binary = Path.Combine(dir, "launcher");
        File.WriteAllText(source, LauncherSource);
        using var cc = Process.Start(new ProcessStartInfo("cc", ["-O1", "-o", binary, source]) { RedirectStandardError = true })!;
        string errors = cc.StandardError.ReadToEnd();
        Assert.True(cc.WaitForExit(60_000), "cc did not finish in 60 s");
        Assert.True(cc.ExitCode == 0, "cc failed: " + errors);
        return binary;
    }
}
