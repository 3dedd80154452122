using System.Linq;
using System.Reflection;
using Transport.IoUring.Internal;
using Xunit;

namespace Transport.IoUring.Tests.Configuration;

public sealed class KnownConfigurationKeysTests
{
    [Fact]
    public void EveryPublicSettableOptionIsAKnownConfigurationKeyAndNothingElseIs()
    {
        var properties = typeof(IoUringTransportOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .Select(p => p.Name)
            .Order()
            .ToArray();
        Assert.Equal(properties, UnknownConfigurationKeys.KnownKeys.Order().ToArray());
    }

    [Fact]
    public void IoUringIsSupportedOnThisMachineAndTheReasonIsNullExactlyThen()
    {
        // This project's machines run 6.18 with io_uring allowed; SeccompFallbackTests cover the other answer through the sample.
        Assert.True(IoUringTransport.IsSupported, IoUringTransport.UnavailableReason);
        Assert.Null(IoUringTransport.UnavailableReason);
    }
}
