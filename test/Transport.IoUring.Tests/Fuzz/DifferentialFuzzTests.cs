using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Threading.Tasks;
using Transport.IoUring.Tests.Http1;
using Transport.IoUring.Tests.Sample;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Fuzz;

/// <summary>
/// Differential fuzzing: seeded random HTTP/1.1 traffic (<see cref="FuzzCaseGenerator"/>) sent over
/// raw sockets to the sample server on io_uring (both receive modes, and BufferRing once more with
/// a ring of four 1 KiB buffers, so that receives exhaust it and bundles and incrementally consumed
/// buffers span and share buffers; taking turns by case) and on Kestrel's Sockets transport, the
/// oracle; what comes back is compared by the rules of
/// <see cref="FuzzComparison"/>. The CI run is bounded by <see cref="FuzzSettings.DefaultSeconds"/>;
/// FUZZ_SEED, FUZZ_CASES, FUZZ_SECONDS and FUZZ_CASE make longer runs and replays (docs/reliability.md).
/// </summary>
public class DifferentialFuzzTests(ITestOutputHelper output)
{
    private const int MaxFailures = 3;

    [Fact]
    public async Task IoUringAnswersSeededRandomHttp1TrafficAsTheSocketsTransportDoes()
    {
        var settings = FuzzSettings.FromEnvironment();
        output.WriteLine($"seed {settings.Seed}{(settings.SeedGiven ? " (FUZZ_SEED)" : "")}: {(settings.SingleCase is int single ? $"case {single} only" : "cases 0..")} (at most {settings.Cases}, for at most {settings.Time.TotalSeconds:0} s)");
        output.WriteLine($"re-run this seed: {settings.ReplayCommand(null)}");

        string candidateTransport = settings.CalibrateOnSockets ? "sockets" : "iouring";
        string candidateAnswer = settings.CalibrateOnSockets ? "sockets" : "io_uring";
        var environment = new Dictionary<string, string>
        {
            ["Kestrel__Limits__MaxRequestBodySize"] = FuzzCaseGenerator.MaxRequestBodySize.ToString(CultureInfo.InvariantCulture),
        };
        var starting = new[]
        {
            SampleServerProcess.StartAsync(new() { Transport = "sockets", Environment = environment }),
            SampleServerProcess.StartAsync(new() { Transport = candidateTransport, Environment = environment }),
            SampleServerProcess.StartAsync(new() { Transport = candidateTransport, Environment = new Dictionary<string, string>(environment) { ["Kestrel__Transport__IoUring__ReceiveMode"] = "PollAndReceive" } }),

            // Four 1 KiB provided buffers: receives run the ring empty (ENOBUFS), bundles span
            // buffers and incrementally consumed buffers are shared between connections at once.
            SampleServerProcess.StartAsync(new()
            {
                Transport = candidateTransport,
                Environment = new Dictionary<string, string>(environment)
                {
                    ["Kestrel__Transport__IoUring__BufferRingEntries"] = "4",
                    ["Kestrel__Transport__IoUring__BufferRingBufferSize"] = "1024",
                },
            }),

            // The same tiny ring as a kernel before 6.10 runs it: one whole buffer per receive.
            SampleServerProcess.StartAsync(new()
            {
                Transport = candidateTransport,
                Environment = new Dictionary<string, string>(environment)
                {
                    ["Kestrel__Transport__IoUring__BufferRingEntries"] = "4",
                    ["Kestrel__Transport__IoUring__BufferRingBufferSize"] = "1024",
                    ["Kestrel__Transport__IoUring__DisabledKernelFeatures"] = "ReceiveBundle,IncrementalBuffers",
                },
            }),
        };
        try
        {
            await Task.WhenAll(starting);
        }
        catch
        {
            foreach (var start in starting.Where(s => s.IsCompletedSuccessfully))
            {
                await start.Result.DisposeAsync();
            }

            throw;
        }

        await using var sockets = starting[0].Result;
        await using var bufferRing = starting[1].Result;
        await using var pollAndReceive = starting[2].Result;
        await using var tinyBufferRing = starting[3].Result;
        await using var tinyWholeBuffers = starting[4].Result;
        var oracle = EndPointOf(sockets);
        var candidates = new[]
        {
            (Server: bufferRing, EndPoint: EndPointOf(bufferRing), Mode: "BufferRing"),
            (Server: pollAndReceive, EndPoint: EndPointOf(pollAndReceive), Mode: "PollAndReceive"),
            (Server: tinyBufferRing, EndPoint: EndPointOf(tinyBufferRing), Mode: "BufferRing with 4 × 1 KiB buffers"),
            (Server: tinyWholeBuffers, EndPoint: EndPointOf(tinyWholeBuffers), Mode: "BufferRing with 4 × 1 KiB buffers, without bundles and incremental buffers"),
        };

        Assert.Equal("sockets", await TransportOfAsync(oracle));
        foreach (var (_, endPoint, _) in candidates)
        {
            Assert.Equal(candidateAnswer, await TransportOfAsync(endPoint));
        }

        if (!settings.CalibrateOnSockets)
        {
            Assert.Contains("receive mode BufferRing", bufferRing.Output, StringComparison.Ordinal);
            Assert.Contains("receive mode PollAndReceive", pollAndReceive.Output, StringComparison.Ordinal);
            Assert.Contains("receive mode BufferRing", tinyBufferRing.Output, StringComparison.Ordinal);

            // Where the kernel has them, the BufferRing servers receive in bundles from incrementally consumed buffers.
            var available = Transport.IoUring.Interop.RingCapabilities.Current.Available;
            foreach (var feature in new[] { Transport.IoUring.Interop.RingFeatures.ReceiveBundle, Transport.IoUring.Interop.RingFeatures.IncrementalBuffers })
            {
                if ((available & feature) != 0)
                {
                    Assert.Matches($"features in use: [^\\n]*{feature}", tinyBufferRing.Output);
                    Assert.Matches($"features in use: [^\\n]*{feature}", bufferRing.Output);
                }

                Assert.DoesNotMatch($"features in use: [^\\n]*{feature}", tinyWholeBuffers.Output);
            }

            Assert.Contains("receive mode BufferRing", tinyWholeBuffers.Output, StringComparison.Ordinal);
        }

        var failures = new List<string>();
        var tally = new FuzzTally(settings.CalibrateOnSockets ? "second Sockets" : "io_uring");
        var clock = Stopwatch.StartNew();
        int played = 0;
        for (; played < settings.Cases && clock.Elapsed < settings.Time && failures.Count < MaxFailures; played++)
        {
            int index = settings.CaseIndex(played);
            var fuzzCase = FuzzCaseGenerator.Generate(settings.Seed, index);
            var (_, candidateEndPoint, mode) = candidates[index % candidates.Length];
            FuzzOutcome[] outcomes;
            try
            {
                outcomes = await Task.WhenAll(FuzzCasePlayer.PlayAsync(oracle, fuzzCase), FuzzCasePlayer.PlayAsync(candidateEndPoint, fuzzCase));
            }
            catch (Exception ex)
            {
                // A connection that could not be made, or a probe after a reset that got no answer.
                failures.Add(DescribeFailure(settings, fuzzCase, mode, $"playing the case failed: {ex}", null, null));
                break;
            }

            tally.Add(fuzzCase, outcomes[0], outcomes[1]);
            string? difference = FuzzOutcomeComparer.Compare(fuzzCase.Comparison, outcomes[0], outcomes[1]);
            if (difference is not null)
            {
                failures.Add(DescribeFailure(settings, fuzzCase, mode, difference, outcomes[0], outcomes[1]));
            }

            foreach (var server in new[] { sockets, bufferRing, pollAndReceive, tinyBufferRing, tinyWholeBuffers })
            {
                Assert.False(server.HasExited, $"A sample server exited during case {index} of seed {settings.Seed}.{server.Describe()}");
            }
        }

        output.WriteLine($"{played} cases in {clock.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine(tally.ToString());

        // Still serving, on the transport they started on.
        foreach (var (_, endPoint, _) in candidates)
        {
            Assert.Equal(candidateAnswer, await TransportOfAsync(endPoint));
        }

        foreach (string failure in failures)
        {
            output.WriteLine(failure);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} case(s) of seed {settings.Seed} differ from Sockets (the first is below; all are in the test output).\n{failures.FirstOrDefault()}");
    }

    private static string DescribeFailure(FuzzSettings settings, FuzzCase fuzzCase, string mode, string difference, FuzzOutcome? oracle, FuzzOutcome? candidate)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"DIFFERENCE in {fuzzCase.Describe()}");
        if (fuzzCase.Length > FuzzCase.PrintLimit)
        {
            string file = Path.Combine(Path.GetTempPath(), $"fuzz-case-{fuzzCase.Seed}-{fuzzCase.Index}.txt");
            File.WriteAllText(file, fuzzCase.Describe(int.MaxValue));
            text.Append(CultureInfo.InvariantCulture, $"  every byte of the case: {file}\n");
        }

        if (oracle is not null && candidate is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"  io_uring ({mode}): {candidate.Summary()}\n");
            text.Append(CultureInfo.InvariantCulture, $"  Sockets:           {oracle.Summary()}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"  {difference}\n");
        text.Append(CultureInfo.InvariantCulture, $"  replay: {settings.ReplayCommand(fuzzCase.Index)}\n");
        return text.ToString();
    }

    private static IPEndPoint EndPointOf(SampleServerProcess server)
        => new(IPAddress.Parse(server.BaseAddress.Host), server.BaseAddress.Port);

    private static async Task<string> TransportOfAsync(IPEndPoint endPoint)
    {
        using var connection = await RawHttpConnection.ConnectAsync(endPoint);
        await connection.SendAsync(RawHttpConnection.Get("/transport"));
        return (await connection.ReadResponseAsync()).BodyText;
    }
}
