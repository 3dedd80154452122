using System;
using System.Linq;
using Transport.IoUring.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Interop;

public sealed class RingCapabilitiesTests(ITestOutputHelper output)
{
    private static readonly Version Kernel = new(Environment.OSVersion.Version.Major, Math.Max(Environment.OSVersion.Version.Minor, 0));

    [Fact]
    public void IoUringIsSupportedOnThisMachine()
    {
        var caps = RingCapabilities.Current;
        output.WriteLine($"kernel {caps.KernelVersion}: {RingCapabilities.Describe(caps.Available)}; feature word 0x{caps.KernelFeatureWord:X}; SendZc {caps.SendZc}");

        Assert.True(caps.IsSupported, caps.UnavailableReason);
        Assert.Null(caps.UnavailableReason);
        Assert.Equal(0, caps.Errno);
        Assert.Equal(Kernel, caps.KernelVersion);
        Assert.Same(caps, RingCapabilities.Current);
    }

    // RingFeatures is internal, so the theory takes its value as an int.
    public static TheoryData<int, int, int> FeatureVersions => new()
    {
        { (int)RingFeatures.MultishotPoll, 5, 13 },
        { (int)RingFeatures.SubmitAll, 5, 18 },
        { (int)RingFeatures.RegisteredRingFd, 5, 18 },
        { (int)RingFeatures.MultishotAccept, 5, 19 },
        { (int)RingFeatures.ProvidedBufferRing, 5, 19 },
        { (int)RingFeatures.SingleIssuer, 6, 0 },
        { (int)RingFeatures.MultishotRecv, 6, 0 },
        { (int)RingFeatures.DeferTaskrun, 6, 1 },
    };

    [Theory]
    [MemberData(nameof(FeatureVersions))]
    public void FeatureIsAvailableExactlyOnKernelsThatHaveIt(int featureValue, int major, int minor)
    {
        var feature = (RingFeatures)featureValue;
        bool expected = Kernel >= new Version(major, minor);
        Assert.True(expected == RingCapabilities.Current.Available.HasFlag(feature),
            $"kernel {Kernel}: {feature} (since {major}.{minor}) expected {(expected ? "available" : "unavailable")}; available: {RingCapabilities.Describe(RingCapabilities.Current.Available)}");
    }

    [Fact]
    public void OneTaskrunModeIsChosenAndDeferTaskrunWinsWhereItExists()
    {
        var available = RingCapabilities.Current.Available;
        Assert.False(available.HasFlag(RingFeatures.DeferTaskrun) && available.HasFlag(RingFeatures.CoopTaskrun), RingCapabilities.Describe(available));
        if (Kernel >= new Version(6, 1))
        {
            Assert.True(available.HasFlag(RingFeatures.DeferTaskrun));
            Assert.False(available.HasFlag(RingFeatures.CoopTaskrun));
        }
        else if (Kernel >= new Version(5, 19))
        {
            Assert.True(available.HasFlag(RingFeatures.CoopTaskrun));
        }
    }

    [Theory]
    [InlineData(Features.SingleMmap, 5, 4)]
    [InlineData(Features.NoDrop, 5, 5)]
    [InlineData(Features.SubmitStable, 5, 5)]
    [InlineData(Features.FastPoll, 5, 7)]
    [InlineData(Features.ExtArg, 5, 11)]
    [InlineData(Features.NativeWorkers, 5, 12)]
    [InlineData(Features.RsrcTags, 5, 13)]
    [InlineData(Features.CqeSkip, 5, 17)]
    [InlineData(Features.LinkedFile, 5, 17)]
    public void KernelFeatureWordHasTheFeaturesOfThisKernelVersion(uint feature, int major, int minor)
    {
        bool expected = Kernel >= new Version(major, minor);
        Assert.Equal(expected, (RingCapabilities.Current.KernelFeatureWord & feature) != 0);
    }

    [Fact]
    public void SendZcIsDetectedFromSixPointZero()
    {
        Assert.Equal(Kernel >= new Version(6, 0), RingCapabilities.Current.SendZc);
    }

    [Fact]
    public void ProbingAgainGivesTheSameAnswer()
    {
        var again = RingCapabilities.Probe(simulatedSetupErrno: 0);
        var current = RingCapabilities.Current;
        Assert.NotSame(current, again);
        Assert.True(again.IsSupported);
        Assert.Equal(current.Available, again.Available);
        Assert.Equal(current.KernelFeatureWord, again.KernelFeatureWord);
        Assert.Equal(current.SendZc, again.SendZc);
    }

    [Fact]
    public void EpermFromSetupIsReportedAsBlockedBySeccomp()
    {
        var caps = RingCapabilities.Probe(simulatedSetupErrno: Errno.EPERM);
        Assert.False(caps.IsSupported);
        Assert.Equal(Errno.EPERM, caps.Errno);
        Assert.Equal(RingFeatures.None, caps.Available);
        Assert.Contains("EPERM", caps.UnavailableReason);
        Assert.Contains("seccomp", caps.UnavailableReason);
    }

    [Fact]
    public void EnosysFromSetupIsReportedAsAKernelWithoutIoUring()
    {
        var caps = RingCapabilities.Probe(simulatedSetupErrno: Errno.ENOSYS);
        Assert.False(caps.IsSupported);
        Assert.Equal(Errno.ENOSYS, caps.Errno);
        Assert.Contains("ENOSYS", caps.UnavailableReason);
        Assert.Contains($"kernel {Kernel}", caps.UnavailableReason);
    }

    [Theory]
    [InlineData(Errno.ENOMEM, "RLIMIT_MEMLOCK")]
    [InlineData(Errno.EACCES, "io_uring_disabled")]
    [InlineData(Errno.EINVAL, "EINVAL")]
    [InlineData(Errno.EMFILE, "EMFILE")]
    public void OtherSetupErrorsAreReportedWithTheirErrno(int errno, string mentioned)
    {
        var caps = RingCapabilities.Probe(simulatedSetupErrno: errno);
        Assert.False(caps.IsSupported);
        Assert.Equal(errno, caps.Errno);
        Assert.Contains(mentioned, caps.UnavailableReason);
    }

    [Fact]
    public void DescribeListsTheNamesOfTheFeatures()
    {
        Assert.Equal("none", RingCapabilities.Describe(RingFeatures.None));
        Assert.Equal("SingleIssuer, ProvidedBufferRing", RingCapabilities.Describe(RingFeatures.ProvidedBufferRing | RingFeatures.SingleIssuer));

        string all = RingCapabilities.Describe(RingFeatures.All);
        var named = Enum.GetValues<RingFeatures>().Where(f => f is not RingFeatures.None and not RingFeatures.All).ToArray();
        Assert.Equal(named.Select(f => f.ToString()), all.Split(", "));
        Assert.DoesNotContain("All", all.Split(", "));
    }

    [Fact]
    public void AllIsEveryNamedFeature()
    {
        var union = Enum.GetValues<RingFeatures>().Where(f => f is not RingFeatures.All).Aggregate(RingFeatures.None, (a, f) => a | f);
        Assert.Equal(RingFeatures.All, union);
    }
}
