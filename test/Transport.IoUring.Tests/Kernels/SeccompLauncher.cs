using System;
using System.IO;
using System.Threading;

namespace Transport.IoUring.Tests.Kernels;

/// <summary>
/// A tiny launcher, compiled once per test run with <c>cc</c>, that runs a command under a seccomp
/// filter failing io_uring_setup, io_uring_enter and io_uring_register with a chosen errno — what
/// Docker's default seccomp profile does (EPERM) and what a kernel built without io_uring returns
/// (ENOSYS). The product itself compiles no native code; only this test does.
/// </summary>
internal static class SeccompLauncher
{
    private const string Source = """
        #include <errno.h>
        #include <stddef.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>
        #include <sys/prctl.h>
        #include <sys/syscall.h>
        #include <linux/filter.h>
        #include <linux/seccomp.h>

        /* seccomp-errno ERRNO COMMAND [ARGS...]; ERRNO 0 runs COMMAND without a filter */
        int main(int argc, char **argv)
        {
            if (argc < 3) { fprintf(stderr, "usage: %s errno command [args...]\n", argv[0]); return 2; }
            unsigned int err = (unsigned int)atoi(argv[1]) & SECCOMP_RET_DATA;
            struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
            };
            struct sock_fprog program = { (unsigned short)(sizeof(filter) / sizeof(filter[0])), filter };
            if (err == 0) { execvp(argv[2], argv + 2); perror("execvp"); return 127; } /* the control: no filter */
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("PR_SET_NO_NEW_PRIVS"); return 3; }
            if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) { perror("PR_SET_SECCOMP"); return 3; }
            execvp(argv[2], argv + 2);
            perror("execvp");
            return 127;
        }
        """;

    private static readonly Lazy<string> s_path = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The launcher's path (built on first use).</summary>
    public static string Path => s_path.Value;

    private static string Build()
    {
        string directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"iouring-seccomp-{Environment.ProcessId}");
        Directory.CreateDirectory(directory);
        string source = System.IO.Path.Combine(directory, "seccomp-errno.c");
        string binary = System.IO.Path.Combine(directory, "seccomp-errno");
        File.WriteAllText(source, Source);
        var result = ChildProcess.Run("cc", ["-std=gnu11", "-Wall", "-Werror", "-o", binary, source], TimeSpan.FromMinutes(2));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"The seccomp launcher did not compile (cc exit code {result.ExitCode}):\n{result.Stderr}");
        }

        return binary;
    }
}
