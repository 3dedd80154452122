using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;

namespace Transport.IoUring.Benchmarks.Network;

/// <summary>Runs a short administrative command (ip ...) to its end: its exit code and output.</summary>
internal interface ICommandRunner
{
    (int ExitCode, string Output) Run(IReadOnlyList<string> command);
}

/// <summary>
/// Runs the command as a process, synchronously: tear-down also runs from the process-exit handler,
/// where nothing asynchronous is waited for. Every command is bounded in time.
/// </summary>
internal sealed class ProcessCommandRunner(TimeSpan? limit = null) : ICommandRunner
{
    private readonly TimeSpan _limit = limit ?? TimeSpan.FromSeconds(20);

    public (int ExitCode, string Output) Run(IReadOnlyList<string> command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var startInfo = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in command.Skip(1))
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {command[0]}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(_limit))
        {
            process.Kill();
            process.WaitForExit();
            return (-1, $"{string.Join(' ', command)} did not finish within {_limit.TotalSeconds:0} s and was killed");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
