using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Transport.IoUring.Benchmarks.Running;

/// <summary>
/// Every process the harness starts goes through here, so that each one can be ended by its PID
/// when the harness stops for any reason: normal end, Ctrl+C, SIGTERM or an exception.
/// </summary>
internal static partial class ChildProcesses
{
    private const int SIGTERM = 15;
    private static readonly ConcurrentDictionary<int, Process> s_running = new();

    public static Process Start(ProcessStartInfo startInfo)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {startInfo.FileName}.");
        s_running[process.Id] = process;
        return process;
    }

    /// <summary>Forgets a process that has exited (it no longer needs ending).</summary>
    public static void Forget(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        s_running.TryRemove(process.Id, out _);
    }

    /// <summary>Sends SIGTERM, waits up to <paramref name="grace"/>, then SIGKILL. Returns the exit code.</summary>
    public static async Task<int?> StopAsync(Process process, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(process);
        try
        {
            if (!process.HasExited)
            {
                _ = Kill(process.Id, SIGTERM);
                using var timeout = new CancellationTokenSource(grace);
                try
                {
                    await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: false);
                    await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                    return null;
                }
            }

            return process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
        finally
        {
            Forget(process);
        }
    }

    /// <summary>Ends every process still running, by PID (SIGKILL). Safe to call from any thread, more than once.</summary>
    /// <remarks>
    /// A signal can arrive while a tool run is ending: its process may then be killed, forgotten and
    /// disposed between the snapshot here and the kill. A disposed <see cref="Process"/> answers
    /// nothing (not even its Id), so entries are keyed by the PID taken at start, and a process that
    /// cannot be asked is skipped: it has ended already. One such entry must not stop the others
    /// from being ended.
    /// </remarks>
    public static void KillAll()
    {
        foreach (var (pid, process) in s_running)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: false);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone, or disposed by its runner once it had ended.
            }

            s_running.TryRemove(pid, out _);
        }
    }

    public static IReadOnlyCollection<int> RunningIds => s_running.Keys.ToArray();

    /// <summary>Runs a command to its end (bounded by <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(ProcessStartInfo startInfo, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.UseShellExecute = false;
        var process = Start(startInfo);
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: false);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                throw new TimeoutException($"{Describe(startInfo)} did not finish within {timeout.TotalSeconds:0} s and was killed.");
            }

            return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
        finally
        {
            Forget(process);
            process.Dispose();
        }
    }

    public static string Describe(ProcessStartInfo startInfo)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        var text = new StringBuilder(startInfo.FileName);
        foreach (var arg in startInfo.ArgumentList)
        {
            text.Append(' ').Append(Quote(arg));
        }

        return text.ToString();
    }

    private static string Quote(string arg)
        => arg.Length > 0 && arg.AsSpan().IndexOfAny(" \t'\"&?*;|<>$()") < 0 ? arg : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
