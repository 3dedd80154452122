using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;

namespace Transport.IoUring.Tests.Interop;

/// <summary>Unsafe code, syscalls and kernel structs live in src/Transport.IoUring/Interop and nowhere else.</summary>
public sealed class InteropBoundaryTests
{
    [Fact]
    public void NoSourceFileOutsideInteropUsesUnsafeCode()
    {
        string library = Path.Combine(FindRepositoryRoot(), "src", "Transport.IoUring");
        string interop = Path.Combine(library, "Interop") + Path.DirectorySeparatorChar;

        var offenders = Directory.EnumerateFiles(library, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(interop) && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"\bunsafe\b|\[LibraryImport|\[DllImport|\bfixed\s*\("))
            .Select(f => Path.GetRelativePath(library, f))
            .ToArray();

        Assert.True(offenders.Length == 0, "unsafe code or P/Invoke outside Interop/: " + string.Join(", ", offenders));
    }

    [Fact]
    public void InteropHoldsTheUnsafeCode()
    {
        string interop = Path.Combine(FindRepositoryRoot(), "src", "Transport.IoUring", "Interop");
        Assert.Contains(Directory.EnumerateFiles(interop, "*.cs"), f => Regex.IsMatch(File.ReadAllText(f), @"\bunsafe\b"));
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(System.AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Transport.IoUring.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        return dir!.FullName;
    }
}
