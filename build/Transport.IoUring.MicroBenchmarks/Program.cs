using BenchmarkDotNet.Running;

namespace Transport.IoUring.MicroBenchmarks;

/// <summary>
/// dotnet run -c Release --project build/Transport.IoUring.MicroBenchmarks -- --filter '*'
/// (BenchmarkDotNet's own options: --job short, --inProcess, --list flat, ...).
/// <c>-- send-zc</c> runs <see cref="SendZeroCopyProbe"/> instead.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "send-zc")
        {
            return SendZeroCopyProbe.Run(args);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
