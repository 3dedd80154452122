using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Threading;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// The sample as a service account runs it: a copy of its build output (and, when the unprivileged
/// user cannot read the test run's dotnet, of the .NET runtime) in a world-readable temporary
/// directory, started through <c>prlimit</c> and <c>setpriv</c> as a user id of its own without
/// capabilities, so CAP_IPC_LOCK does not lift RLIMIT_MEMLOCK. Each start gets a fresh user id:
/// the kernel charges ring memory to the user over all of its processes, so a ring still being
/// freed, or another test run on the machine, must not share the charge.
/// </summary>
internal static partial class UnprivilegedSample
{
    private static readonly Lazy<(string WebAppDll, string Dotnet)> s_copy = new(Copy, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int s_nextUser = 200_000 + (Environment.ProcessId % 10_000) * 100;

    /// <summary>Options that start the copied sample unprivileged under <paramref name="memlockBytes"/> of RLIMIT_MEMLOCK.</summary>
    public static SampleServerOptions Options(long memlockBytes, IReadOnlyDictionary<string, string> environment)
        => Options(memlockBytes, environment, NewUserId());

    /// <summary>A user id no other start has used (in this test run).</summary>
    public static int NewUserId() => Interlocked.Increment(ref s_nextUser);

    /// <summary>The same, as the user <paramref name="userId"/> (processes of one user share the kernel's memlock charge).</summary>
    public static SampleServerOptions Options(long memlockBytes, IReadOnlyDictionary<string, string> environment, int userId)
    {
        var (webAppDll, dotnet) = s_copy.Value;
        string id = userId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new SampleServerOptions
        {
            WebAppDll = webAppDll,
            Dotnet = dotnet,
            Environment = environment,
            CommandPrefix =
            [
                "prlimit", $"--memlock={memlockBytes}:{memlockBytes}",
                "setpriv", $"--reuid={id}", $"--regid={id}", "--clear-groups", "--inh-caps=-all",
            ],
        };
    }

    /// <summary>Why the sample cannot run unprivileged here, or null when it can.</summary>
    public static string? WhyNot()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux";
        }

        return GetEuid() != 0 ? "needs root to run the sample as an unprivileged user (setpriv)" : null;
    }

    private static (string WebAppDll, string Dotnet) Copy()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The unprivileged sample runs on Linux only.");
        }

        // The test host does not always get to run ProcessExit: copies of runs that are gone are removed here.
        foreach (string stale in Directory.EnumerateDirectories(Path.GetTempPath(), "iouring-unprivileged-*"))
        {
            if (int.TryParse(Path.GetFileName(stale)["iouring-unprivileged-".Length..], out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                try
                {
                    Directory.Delete(stale, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        string root = Path.Combine(Path.GetTempPath(), $"iouring-unprivileged-{Environment.ProcessId}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        };

        string sampleDll = SampleServerProcess.FindWebAppDll();
        string app = Path.Combine(root, "app");
        CopyTree(Path.GetDirectoryName(sampleDll)!, app);

        string dotnet = SampleServerProcess.FindDotnet();
        if (!WorldCanRun(Path.GetFullPath(ResolveOnPath(dotnet))))
        {
            // The runtime the tests run on: dotnet, host/fxr and the two shared frameworks the sample uses.
            string netCore = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
            string aspNetCore = Path.GetDirectoryName(typeof(Microsoft.AspNetCore.Builder.WebApplication).Assembly.Location)!;
            string dotnetRoot = Path.GetFullPath(Path.Combine(netCore, "..", "..", ".."));
            string copy = Path.Combine(root, "dotnet");
            CopyTree(Path.Combine(dotnetRoot, "host"), Path.Combine(copy, "host"));
            CopyTree(netCore, Path.Combine(copy, "shared", "Microsoft.NETCore.App", Path.GetFileName(netCore)));
            CopyTree(aspNetCore, Path.Combine(copy, "shared", "Microsoft.AspNetCore.App", Path.GetFileName(aspNetCore)));
            File.Copy(Path.Combine(dotnetRoot, "dotnet"), Path.Combine(copy, "dotnet"));
            File.SetUnixFileMode(Path.Combine(copy, "dotnet"), (UnixFileMode)0b111_101_101);
            dotnet = Path.Combine(copy, "dotnet");
        }

        for (var dir = new DirectoryInfo(root); dir is not null; dir = dir.Parent)
        {
            if ((dir.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                throw new InvalidOperationException($"{dir.FullName} is not searchable by other users; set TMPDIR to a directory that is.");
            }
        }

        return (Path.Combine(app, Path.GetFileName(sampleDll)), dotnet);
    }

    [SupportedOSPlatform("linux")]
    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        File.SetUnixFileMode(to, (UnixFileMode)0b111_101_101);
        foreach (string file in Directory.EnumerateFiles(from))
        {
            string target = Path.Combine(to, Path.GetFileName(file));
            File.Copy(file, target);
            var mode = File.GetUnixFileMode(file);
            File.SetUnixFileMode(target, mode | UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        foreach (string directory in Directory.EnumerateDirectories(from))
        {
            CopyTree(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }

    private static string ResolveOnPath(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return program;
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return program;
    }

    // The host must be readable and executable by others, and so must every directory above its
    // real location and the runtime beside it (checked on the host's directory as a stand-in).
    [SupportedOSPlatform("linux")]
    private static bool WorldCanRun(string path)
    {
        var info = new FileInfo(path);
        string real = info.LinkTarget is null ? info.FullName : (info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName);
        if (!File.Exists(real) || (File.GetUnixFileMode(real) & (UnixFileMode.OtherRead | UnixFileMode.OtherExecute)) != (UnixFileMode.OtherRead | UnixFileMode.OtherExecute))
        {
            return false;
        }

        for (var dir = new DirectoryInfo(Path.GetDirectoryName(real)!); dir is not null; dir = dir.Parent)
        {
            if ((dir.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }

        return true;
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}
