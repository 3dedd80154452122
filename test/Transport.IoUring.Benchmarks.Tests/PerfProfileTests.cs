using System.Collections.Generic;
using Transport.IoUring.Benchmarks.Measurement;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Results;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>--perf: perf report lines split by where the sampled code lives, and the table made of them.</summary>
public sealed class PerfProfileTests
{
    // Lines as `perf report --no-children --sort dso,sym --stdio -g none` printed them for the
    // sample on io_uring (DOTNET_PerfMapEnabled=1), with a TLS and an HTTP/2 line added.
    private const string Report = """
        # Samples: 1K of event 'cpu-clock:ppp'
        #
        # Overhead  Shared Object                                  Symbol
        # ........  .............................................  ......
        #
            20.00%  [kernel.kallsyms]                              [k] _raw_spin_unlock_irqrestore
            10.00%  [JIT] tid 11395                                [.] stub ReportStubBlock<MethodCallThunk>
            10.00%  [JIT] tid 11395                                [.] instance void [System.Memory] System.Buffers.SequenceReader`1[System.Byte]::Advance(int64)[QuickJitted]
            10.00%  [JIT] tid 11395                                [.] class [System.Runtime]System.Threading.Tasks.Task [WebApp] BenchmarkEndpoints::PlaintextAsync(class [Microsoft.AspNetCore.Http.Abstractions]Microsoft.AspNetCore.Http.HttpResponse)[QuickJitted]
            10.00%  [JIT] tid 11395                                [.] instance void [Transport.IoUring] Transport.IoUring.Internal.IoUringConnection::OnOutputReadCompleted()[QuickJitted]
            10.00%  libcrypto.so.3                                 [.] aesni_gcm_encrypt
            10.00%  [JIT] tid 11395                                [.] instance void [Microsoft.AspNetCore.Server.Kestrel.Core] Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http2.Http2FrameWriter::WriteDataAsync()[Optimized]
             5.00%  [JIT] tid 11395                                [.] instance bool [Microsoft.AspNetCore.Server.Kestrel.Core] Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpParser`1[System.__Canon]::ParseRequestLine()[Optimized]
             5.00%  System.IO.Pipelines.dll                        [.] 0x00000000000123ab
             5.00%  memfd:doublemapper (deleted)                   [.] 0x0000000000000040
             5.00%  libcoreclr.so                                  [.] WKS::gc_heap::mark_object_simple
        """;

    [Fact]
    public void SamplesAreSplitByTheCodeOfTheirLeafFrame()
    {
        var shares = PerfProfile.Split(Report);

        Assert.Equal(0.20, shares["kernel"], 6);
        Assert.Equal(0.10, shares["transport"], 6);
        Assert.Equal(0.10, shares["TLS"], 6);
        Assert.Equal(0.10, shares["Kestrel HTTP/2"], 6);
        Assert.Equal(0.05, shares["Kestrel HTTP/1.1 + core"], 6);
        Assert.Equal(0.05, shares["pipes"], 6);          // ready-to-run code perf could not name: its file
        Assert.Equal(0.10, shares["app + hosting"], 6);
        Assert.Equal(0.30, shares["runtime"], 6);        // stubs, System.Memory, an unmapped JIT page, the GC
        Assert.Equal(1.0, System.Linq.Enumerable.Sum(shares.Values), 6);
    }

    [Theory]
    [InlineData("libssl.so.3", ".", "SSL_write", "TLS")]
    [InlineData("[JIT] tid 1", ".", "instance void [System.Net.Security] System.Net.Security.SslStream::WriteAsyncInternal()", "TLS")]
    [InlineData("[JIT] tid 1", ".", "instance void [System.Net.WebSockets] System.Net.WebSockets.ManagedWebSocket::ReceiveAsync()", "WebSockets")]
    [InlineData("[JIT] tid 1", ".", "instance void [Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets] Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.Internal.SocketConnection::DoSend()", "transport")]
    [InlineData("[JIT] tid 1", ".", "instance void [System.Net.Http] System.Net.Http.HPack.HPackEncoder::EncodeHeader()", "Kestrel HTTP/2")]
    [InlineData("[JIT] tid 1", ".", "instance void [Grpc.AspNetCore.Server] Grpc.AspNetCore.Server.Internal.PipeExtensions::WriteMessageAsync()", "app + hosting")]
    [InlineData("[kernel.kallsyms]", "k", "io_submit_sqes", "kernel")]
    public void FramesAreCategorizedByAssemblyOrLibrary(string dso, string kind, string symbol, string expected)
        => Assert.Equal(expected, PerfProfile.Categorize(dso, kind, symbol));

    [Fact]
    public void TheTableMultipliesEachRoundsCpuPerRequestByTheShares()
    {
        var round = new RoundReport { CpuMicrosecondsPerRequest = 10, ProfileShares = new Dictionary<string, double> { ["kernel"] = 0.25, ["transport"] = 0.75 } };
        var report = new RunReport
        {
            Scenarios =
            [
                new ScenarioReport { Name = "plaintext-64-wrk", Transports = [new TransportReport { Name = "iouring", Rounds = [round] }] },
            ],
        };

        string table = ProfileTable.Render(report);

        Assert.Contains("| code | iouring |", table, System.StringComparison.Ordinal);
        Assert.Contains("| kernel | 2.50 |", table, System.StringComparison.Ordinal);
        Assert.Contains("| transport | 7.50 |", table, System.StringComparison.Ordinal);
        Assert.Contains("| TLS | 0.00 |", table, System.StringComparison.Ordinal);
        Assert.Contains("| **all (CPU-µs/req)** | 10.00 |", table, System.StringComparison.Ordinal);
    }
}
