using BenchmarkDotNet.Running;

namespace Transport.IoUring.MicroBenchmarks;

/// <summary>
/// dotnet run -c Release --project build/Transport.IoUring.MicroBenchmarks -- --filter '*'
/// (BenchmarkDotNet's own options: --job short, --inProcess, --list flat, ...).
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
