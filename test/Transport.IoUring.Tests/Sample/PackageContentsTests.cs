using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using System.Xml.Linq;
using Xunit;

namespace Transport.IoUring.Tests.Sample;

/// <summary>
/// What a package page shows: the packed README stands on its own (no link or image a package page
/// cannot follow), the metadata is filled in, and the version comes from git, not the SDK's 1.0.0.
/// </summary>
public sealed partial class PackageContentsTests
{
    [Fact]
    public async Task ThePackedReadmeHasNoRelativeLinksAndTheMetadataAndVersionAreFilledIn()
    {
        string repository = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SampleServerProcess.FindWebAppDll())!, "..", "..", "..", "..", ".."));
        string output = Path.Combine(Path.GetTempPath(), $"iouring-pack-{Guid.NewGuid():N}");
        try
        {
            // The library is built already (the tests reference it); pack only adds the nuspec.
            var result = await ChildProcess.RunAsync("dotnet", ["pack", Path.Combine(repository, "src", "Transport.IoUring"), "-c", "Release", "--no-build", "-o", output], TimeSpan.FromMinutes(3));
            Assert.True(result.ExitCode == 0, result.Log);

            string package = Directory.GetFiles(output, "Transport.IoUring.*.nupkg").Single(f => !f.EndsWith(".snupkg", StringComparison.Ordinal));
            using var zip = ZipFile.OpenRead(package);
            var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName == "Transport.IoUring.nuspec").Open());
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            string Field(string name) => metadata.Element(ns + name)?.Value ?? "";

            Assert.Matches(@"^(\d+\.\d+\.\d+|\d+\.\d+\.\d+-dev\.\d+)(\+[0-9a-f]+)?$", Field("version"));
            Assert.NotEqual("1.0.0", Field("version"));
            Assert.True(Field("description").Length > 100, Field("description"));
            Assert.Contains("io_uring", Field("tags"), StringComparison.Ordinal);
            Assert.Equal("README.md", Field("readme"));
            Assert.Equal("MIT", Field("license"));

            using var reader = new StreamReader(zip.Entries.Single(e => e.FullName == "README.md").Open());
            string readme = await reader.ReadToEndAsync();
            Assert.Contains("dotnet add package Transport.IoUring", readme, StringComparison.Ordinal);
            var relative = MarkdownLink().Matches(readme).Select(m => m.Groups["target"].Value)
                .Where(t => !t.StartsWith("https://", StringComparison.Ordinal) && !t.StartsWith("http://", StringComparison.Ordinal))
                .ToArray();
            Assert.True(relative.Length == 0, "links a package page cannot follow: " + string.Join(", ", relative));
            Assert.DoesNotContain("<img", readme, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    // [text](target) and ![alt](target)
    [GeneratedRegex(@"!?\[[^\]]*\]\((?<target>[^)\s]+)[^)]*\)")]
    private static partial Regex MarkdownLink();
}
