using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

/// <summary>Tests that count the process's file descriptors run alone, after every parallel test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideResourcesCollection
{
    public const string Name = "HTTP/1.1 process-wide resources";
}

[Collection(ProcessWideResourcesCollection.Name)]
public partial class ResourceLeakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ServingFiveHundredConnectionsThenDisposingTheServerLeavesNoFileDescriptorsOrRingsBehind()
    {
        // Warm-up: the runtime opens some descriptors on first use (socket engine, random source)
        // and keeps them for the life of the process.
        await ServeAsync(connections: 20, whileRunning: null);

        var before = FdSnapshot.Take();
        int ringFdsWhileRunning = 0;
        await ServeAsync(connections: 500, whileRunning: () => ringFdsWhileRunning = FdSnapshot.Take().IoUringCount);

        FdSnapshot after = FdSnapshot.Take();
        await Bounded.PollAsync(() => (after = FdSnapshot.Take()).Count == before.Count, TimeSpan.FromSeconds(10));

        output.WriteLine($"fds before: {before.Count}, after: {after.Count}; io_uring fds before: {before.IoUringCount}, while running: {ringFdsWhileRunning}, after: {after.IoUringCount}");
        Assert.True(ringFdsWhileRunning > before.IoUringCount, "no io_uring fd was open while the server ran");
        Assert.True(before.Count == after.Count, $"fd count changed from {before.Count} to {after.Count}: {FdSnapshot.Difference(before, after)}");

        // This server's rings are all gone. (Run alone, before is 0 too; a ring left by another
        // test that failed to stop its server would show there, and that test fails itself.)
        Assert.Equal(before.IoUringCount, after.IoUringCount);
    }

    private async Task ServeAsync(int connections, Action? whileRunning)
    {
        await using (var server = await TestServer.StartAsync(Http1App.Map, output: output))
        {
            for (int i = 0; i < connections; i++)
            {
                using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
                await connection.SendAsync(RawHttpConnection.Get("/plaintext", close: true));
                var response = await connection.ReadResponseAsync();
                Assert.Equal(200, response.StatusCode);
                response.AssertServedOverIoUring();
                await connection.ReadUntilClosedAsync();
            }

            Assert.Equal(connections, server.IoUringAcceptedConnections);
            whileRunning?.Invoke();
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>
    /// The targets of /proc/self/fd/* at one moment, less loaded assemblies and native libraries:
    /// the runtime opens those lazily (any thread, any time) and keeps them for the life of the process.
    /// </summary>
    private sealed partial class FdSnapshot
    {
        private FdSnapshot(List<string> targets)
        {
            Targets = targets;
        }

        public List<string> Targets { get; }

        public int Count => Targets.Count;

        /// <summary>Descriptors of io_uring instances ("anon_inode:[io_uring]").</summary>
        public int IoUringCount => Targets.Count(t => t.Contains("io_uring", StringComparison.Ordinal));

        public static FdSnapshot Take()
        {
            var targets = new List<string>();
            foreach (string path in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                try
                {
                    string target = new FileInfo(path).LinkTarget ?? "?";
                    if (!target.EndsWith(".dll", StringComparison.Ordinal) && !target.Contains(".so", StringComparison.Ordinal))
                    {
                        targets.Add(target);
                    }
                }
                catch (IOException)
                {
                    // Closed between the listing and the readlink (e.g. the listing's own fd).
                }
            }

            return new FdSnapshot(targets);
        }

        /// <summary>Kinds of descriptors whose number changed, e.g. "socket: 12 -> 14".</summary>
        public static string Difference(FdSnapshot before, FdSnapshot after)
        {
            var a = before.Targets.GroupBy(Kind).ToDictionary(g => g.Key, g => g.Count());
            var b = after.Targets.GroupBy(Kind).ToDictionary(g => g.Key, g => g.Count());
            return string.Join(", ", a.Keys.Union(b.Keys)
                .Where(k => a.GetValueOrDefault(k) != b.GetValueOrDefault(k))
                .Select(k => $"{k}: {a.GetValueOrDefault(k)} -> {b.GetValueOrDefault(k)}"));
        }

        // "socket:[12345]" -> "socket"; "anon_inode:[eventfd]" stays as it is.
        private static string Kind(string target) => InodeSuffix().Replace(target, "");

        [GeneratedRegex(@":\[\d+\]$")]
        private static partial Regex InodeSuffix();
    }
}
