using System.Collections.Generic;
using Transport.IoUring.Benchmarks.Measurement;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Results;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>--perf: perf report lines split by where the sampled code lives, and the table made of them.</summary>
public sealed class PerfProfileTests
{
    // Samples as `perf script -F ip,sym,dso` printed them for the sample on io_uring
    // (DOTNET_PerfMapEnabled=1), shortened; one sample per block.
    private const string Script = """

        \tffffffff813aecd3 finish_task_switch.isra.0 ([kernel.kallsyms])
        \t           f838f __GI___libc_write (/usr/lib/x86_64-linux-gnu/libc.so.6)
        \t    7fc2f4b6d973 instance valuetype [System.Runtime]System.Threading.Tasks.ValueTask`1<valuetype System.IO.Pipelines.FlushResult> [System.IO.Pipelines] System.IO.Pipelines.Pipe::FlushAsync(valuetype [System.Runtime]System.Threading.CancellationToken)[OptimizedTier1] (/tmp/perf-16469.map)

        \t    7fc2f3d0779c void [System.Private.CoreLib] System.SpanHelpers::Memmove(uint8&,uint8&,native uint)[OptimizedTier1] (/tmp/perf-16469.map)
        \t    7fc2f4a5df84 instance void [Transport.IoUring] Transport.IoUring.Internal.IoUringConnection::OnReceived(int32)[OptimizedTier1] (/tmp/perf-16469.map)
        \t    7fc2f4a5ca40 instance void [Transport.IoUring] Transport.IoUring.Internal.RingThread::Loop()[Optimized] (/tmp/perf-16469.map)

        \t    7fc2f4a5df84 instance valuetype System.Threading.Lock/ThreadId [System.Private.CoreLib] System.Threading.Lock::EnterAndGetCurrentThreadId()[OptimizedTier1] (/tmp/perf-16469.map)
        \t    7fc2f4b69702 instance void [Microsoft.AspNetCore.Server.Kestrel.Core] Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http2.Http2FrameWriter+<WriteToOutputPipe>d__36::MoveNext()[OptimizedTier1] (/tmp/perf-16469.map)
        \t    7fc2f4a5df84 instance void [System.Net.Security] System.Net.Security.SslStream::Write()[OptimizedTier1] (/tmp/perf-16469.map)

        \t          2e505e [unknown] (/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/libcoreclr.so)
        \t    7fc2f4a3d5fe bool [System.Private.CoreLib] System.Threading.ThreadPoolWorkQueue::Dispatch()[OptimizedTier1] (/tmp/perf-16469.map)
        \t           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

        \t              40 [unknown] (memfd:doublemapper (deleted))
        \t    7fc2f4a5df84 instance bool [Microsoft.AspNetCore.Server.Kestrel.Core] Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpParser`1[System.__Canon]::ParseRequestLine()[Optimized] (/tmp/perf-16469.map)

        \t           12345 aesni_gcm_encrypt (/usr/lib/x86_64-linux-gnu/libcrypto.so.3)
        \t    7fc2f4a5df84 instance void [System.Net.Security] System.Net.Security.SslStream::Write()[OptimizedTier1] (/tmp/perf-16469.map)

        \t    7fc2f4a5df84 class [System.Runtime]System.Threading.Tasks.Task [WebApp] BenchmarkEndpoints::PlaintextAsync(class [Microsoft.AspNetCore.Http.Abstractions]Microsoft.AspNetCore.Http.HttpResponse)[OptimizedTier1] (/tmp/perf-16469.map)

        \t           123ab [unknown] (/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/System.IO.Pipelines.dll)

        """;

    [Fact]
    public void EachSampleIsChargedToTheFirstCallerThatIsNotTheRuntime()
    {
        var shares = PerfProfile.SplitByCaller(Script.Replace("\\t", "\t", System.StringComparison.Ordinal));

        Assert.Equal(1.0, System.Linq.Enumerable.Sum(shares.Values), 6);
        Assert.Equal(1 / 8.0, shares["kernel"], 6);                   // leaf in the kernel
        Assert.Equal(1 / 8.0, shares["transport"], 6);                // a memmove called by the transport's receive
        Assert.Equal(1 / 8.0, shares["Kestrel HTTP/2"], 6);           // a lock taken by the frame writer (not SslStream further up)
        Assert.Equal(1 / 8.0, shares["runtime"], 6);                  // the thread pool's own dispatch
        Assert.Equal(1 / 8.0, shares["Kestrel HTTP/1.1 + core"], 6);  // an unnamed JIT page under the HTTP/1.1 parser
        Assert.Equal(1 / 8.0, shares["TLS"], 6);                      // libcrypto
        Assert.Equal(1 / 8.0, shares["app + hosting"], 6);
        Assert.Equal(1 / 8.0, shares["pipes"], 6);                    // ready-to-run code perf could not name: its file
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
