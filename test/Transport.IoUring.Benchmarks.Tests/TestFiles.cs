using System;
using System.IO;

namespace Transport.IoUring.Benchmarks.Tests;

internal static class TestFiles
{
    public static string Read(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", name));

    public static TextReader Open(string name) => File.OpenText(Path.Combine(AppContext.BaseDirectory, "TestData", name));
}
