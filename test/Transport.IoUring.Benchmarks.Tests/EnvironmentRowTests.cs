using System;
using System.Linq;
using Transport.IoUring.Benchmarks.Results;
using Transport.IoUring.Benchmarks.Reporting;
using Transport.IoUring.Benchmarks.Running;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>Rows "ROW@VARIABLE=VALUE": a runtime setting on and off, on either transport, interleaved in one run.</summary>
public sealed class EnvironmentRowTests
{
    private const string SpinOff = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0";

    [Fact]
    public void AnEnvironmentRowIsItsRowWithTheVariablesAdded()
    {
        var rows = TransportVariant.Select(["sockets-inline", $"sockets-inline@{SpinOff}@DOTNET_gcServer=1", $"iouring-without-ReceiveBundle@{SpinOff}"]);

        Assert.Equal(["sockets-inline", $"sockets-inline@{SpinOff}@DOTNET_gcServer=1", $"iouring-without-ReceiveBundle@{SpinOff}"], rows.Select(r => r.Name));
        var sockets = rows[1];
        Assert.False(sockets.ExpectsIoUring);
        Assert.Equal("1", sockets.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
        Assert.Equal("0", sockets.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"]);
        Assert.Equal("1", sockets.Environment["DOTNET_gcServer"]);
        Assert.Equal(rows[0].Environment.Count + 2, sockets.Environment.Count);
        Assert.EndsWith($"with {SpinOff}, DOTNET_gcServer=1", sockets.Description, StringComparison.Ordinal);

        var without = rows[2];
        Assert.True(without.ExpectsIoUring);
        Assert.Equal("ReceiveBundle", without.Environment["Kestrel__Transport__IoUring__DisabledKernelFeatures"]);
        Assert.Equal("0", without.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"]);

        // The row it builds on is unchanged.
        Assert.False(rows[0].Environment.ContainsKey("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"));
    }

    [Theory]
    [InlineData("iouring@", "VARIABLE=VALUE")]
    [InlineData("iouring@=1", "VARIABLE=VALUE")]
    [InlineData("iouring@A B=1", "VARIABLE=VALUE")]
    [InlineData("iouring@DOTNET_gcServer", "VARIABLE=VALUE")]
    [InlineData("nosuchrow@DOTNET_gcServer=1", "Unknown transport(s): nosuchrow")]
    [InlineData("nginx@DOTNET_gcServer=1", "runs no .NET server")]
    public void AMalformedEnvironmentRowIsRefused(string name, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => TransportVariant.Select(["iouring", name]));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABaselineRowWithASettingNeedsTheBaselineAndStandsInForTheBaselineRow()
    {
        const string inline = "iouring-baseline@Kestrel__Transport__IoUring__UnsafePreferInlineScheduling=true";
        Assert.Contains("--baseline", Assert.Throws<ArgumentException>(() => TransportVariant.Select(["sockets", inline])).Message, StringComparison.Ordinal);

        string directory = System.IO.Directory.CreateTempSubdirectory("environment-row-").FullName;
        try
        {
            System.IO.File.WriteAllText(System.IO.Path.Combine(directory, "WebApp.dll"), "");
            var rows = TransportVariant.Select(["sockets", "iouring-inline", inline], directory);

            // Named with a setting, the baseline row is not added a second time without it.
            Assert.Equal(["sockets", "iouring-inline", inline], rows.Select(r => r.Name));
            Assert.Equal(System.IO.Path.GetFullPath(directory), rows[2].SampleDirectory);
            Assert.Equal("true", rows[2].Environment["Kestrel__Transport__IoUring__UnsafePreferInlineScheduling"]);
        }
        finally
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TheRatioRowsCompareEachTransportWithTheSettingAgainstTheOtherAndAgainstItselfWithout()
    {
        var pairs = TransportRatio.Pairs(
            ["sockets", "iouring", $"sockets@{SpinOff}", $"iouring@{SpinOff}"], MarkdownReport.IsIoUring);

        Assert.Contains(("iouring", "sockets"), pairs);
        Assert.Contains(($"iouring@{SpinOff}", $"sockets@{SpinOff}"), pairs);
        Assert.Contains(($"iouring@{SpinOff}", "iouring"), pairs);
        Assert.Contains(($"sockets@{SpinOff}", "sockets"), pairs);
        Assert.Equal(6, pairs.Count); // 2 io_uring rows × 2 Sockets rows, and each setting against its row
    }
}
