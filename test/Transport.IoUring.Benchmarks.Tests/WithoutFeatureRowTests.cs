using System;
using System.Linq;
using Transport.IoUring.Benchmarks.Running;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>Rows "iouring-without-FEATURE[+FEATURE]": one build, a kernel path on and off, interleaved.</summary>
public sealed class WithoutFeatureRowTests
{
    [Fact]
    public void AWithoutRowIsTheIoUringRowWithThoseKernelFeaturesDisabled()
    {
        var rows = TransportVariant.Select(["sockets", "iouring", "iouring-without-ReceiveBundle+IncrementalBuffers"]);

        Assert.Equal(["sockets", "iouring", "iouring-without-ReceiveBundle+IncrementalBuffers"], rows.Select(r => r.Name));
        var without = rows[2];
        Assert.True(without.ExpectsIoUring);
        Assert.Equal("ReceiveBundle,IncrementalBuffers", without.Environment["Kestrel__Transport__IoUring__DisabledKernelFeatures"]);
        Assert.Single(without.Environment);
        Assert.Contains("DisabledKernelFeatures=ReceiveBundle,IncrementalBuffers", without.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("iouring-without-")]
    [InlineData("iouring-without-ReceiveBundle+")]
    public void AWithoutRowMustNameItsFeatures(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => TransportVariant.Select(["iouring", name]));
        Assert.Contains("name the kernel features", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRatioRowsCompareTheIoUringRowWithItselfWithoutTheFeature()
    {
        var pairs = Transport.IoUring.Benchmarks.Results.TransportRatio.Pairs(
            ["sockets", "iouring", "iouring-without-ReceiveBundle"], Transport.IoUring.Benchmarks.Reporting.MarkdownReport.IsIoUring);

        Assert.Contains(("iouring", "sockets"), pairs);
        Assert.Contains(("iouring-without-ReceiveBundle", "sockets"), pairs);
        Assert.Contains(("iouring", "iouring-without-ReceiveBundle"), pairs);
        Assert.Equal(3, pairs.Count);
    }
}
