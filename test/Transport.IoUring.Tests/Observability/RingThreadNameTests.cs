using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Transport.IoUring.Tests.Http1;
using Xunit;

namespace Transport.IoUring.Tests.Observability;

public class RingThreadNameTests
{
    [Fact]
    public async Task RingThreadsCarryTheirNamesInProcTaskComm()
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, options => options.RingCount = 2);
        using var client = server.CreateClient();
        Assert.Equal(Http1App.Plaintext, await client.GetStringAsync("/plaintext"));

        foreach (var ring in server.Factory!.RingGroup.Rings!)
        {
            // Which OS thread is this ring's: ask it, on the ring thread.
            var taskPath = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            ring.Schedule(_ => taskPath.SetResult(new DirectoryInfo("/proc/thread-self").LinkTarget!), null);   // "PID/task/TID"
            string tid = Path.GetFileName(await taskPath.Task.WaitAsync(Bounded.Wait));

            // Linux keeps 15 characters of a thread name: "io_uring ring 0" fits exactly.
            string expected = $"io_uring ring {ring.Id}";
            Assert.Equal(expected[..System.Math.Min(15, expected.Length)], File.ReadAllText($"/proc/self/task/{tid}/comm").TrimEnd('\n'));
        }

        // As a debugger, perf or top -H lists them.
        var names = Directory.GetDirectories("/proc/self/task")
            .Select(t => { try { return File.ReadAllText(Path.Combine(t, "comm")).TrimEnd('\n'); } catch (IOException) { return ""; } })
            .ToArray();
        Assert.Contains("io_uring ring 0", names);
        Assert.Contains("io_uring ring 1", names);
    }
}
