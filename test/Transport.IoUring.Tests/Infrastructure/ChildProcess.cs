using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading.Tasks;

namespace Transport.IoUring.Tests;

/// <summary>What a program run to its end printed, and how it exited.</summary>
internal sealed record ChildProcessResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>stdout then stderr, for assertion messages.</summary>
    public string Log => Stdout + Stderr;
}

/// <summary>
/// Runs a helper program (a compiler, a build script, a published app) to its end with its output
/// captured. One that outlives its time limit is killed with its children, and the run throws.
/// </summary>
internal static class ChildProcess
{
    public static async Task<ChildProcessResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within {timeout.TotalSeconds:0} s");
        }

        return new ChildProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>The same, for callers that cannot await (lazily built test fixtures).</summary>
    public static ChildProcessResult Run(string program, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null) =>
        RunAsync(program, arguments, timeout, workingDirectory).GetAwaiter().GetResult();
}
