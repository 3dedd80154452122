using System;
using System.Net;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Transport.IoUring.Tests.Protocols;
using Xunit;

namespace Transport.IoUring.Tests.Hosting;

public class OptionsValidationTests
{
    [Theory]
    [InlineData(nameof(IoUringTransportOptions.RingCount), 0)]
    [InlineData(nameof(IoUringTransportOptions.RingEntries), 1000)]
    [InlineData(nameof(IoUringTransportOptions.BufferRingEntries), 3)]
    [InlineData(nameof(IoUringTransportOptions.BufferRingBufferSize), 10)]
    [InlineData(nameof(IoUringTransportOptions.Backlog), 0)]
    [InlineData(nameof(IoUringTransportOptions.MaxReadBufferSize), -1)]
    [InlineData(nameof(IoUringTransportOptions.MaxWriteBufferSize), -1)]
    public async Task AnInvalidOptionFailsTheStartWithAMessageNamingTheOptionAndItsValue(string option, int value)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.WebHost.UseIoUring(options =>
        {
            var property = typeof(IoUringTransportOptions).GetProperty(option)!;
            property.SetValue(options, property.PropertyType == typeof(long?) ? (object)(long)value : value);
        });

        // WebApplication resolves the server (and so the transport factory) when it is built.
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = builder.Build();
            await app.StartAsync().WaitAsync(Bounds.Wait);
        });

        Assert.Contains($"IoUringTransportOptions.{option}", error.Message);
        Assert.Contains($"it is {value}.", error.Message);
    }

    [Fact]
    public void TheDefaultsAreTheDocumentedOnes()
    {
        var options = new IoUringTransportOptions();

        Assert.Equal(Environment.ProcessorCount, options.RingCount);
        Assert.Equal(1024, options.RingEntries);
        Assert.Equal(IoUringReceiveMode.BufferRing, options.ReceiveMode);
        Assert.Equal(512, options.BufferRingEntries);
        Assert.Equal(16 * 1024, options.BufferRingBufferSize);
        Assert.True(options.ReusePort);
        Assert.True(options.NoDelay);
        Assert.Equal(512, options.Backlog);
        Assert.Equal(1024 * 1024, options.MaxReadBufferSize);
        Assert.Equal(64 * 1024, options.MaxWriteBufferSize);
        Assert.False(options.UnsafePreferInlineScheduling);
        Assert.False(options.PinRingThreads);
    }

    [Fact]
    public async Task UseIoUringWithoutConfigurationServesWithTheDefaults()
    {
        await using var server = await TestServer.StartAsync(_ => { });

        var options = server.App.Services.GetRequiredService<IOptions<IoUringTransportOptions>>().Value;
        Assert.Equal(Environment.ProcessorCount, options.RingCount);
        Assert.Equal(512, options.Backlog);
        Assert.Equal(Environment.ProcessorCount, server.Factory!.RingGroup.Rings!.Length);
        Assert.All(server.Factory.RingGroup.Rings!, ring => Assert.Equal(IoUringReceiveMode.BufferRing, ring.ReceiveMode));
    }
}
