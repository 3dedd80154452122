using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Transport.IoUring.Interop;
using Xunit;

namespace Transport.IoUring.Tests.Configuration;

/// <summary>
/// IoUringTransportOptions bind from the "Kestrel:Transport:IoUring" configuration section that
/// UseIoUring() reads from the host's IConfiguration; code (configureOptions) wins over configuration;
/// invalid configured values fail start with a message naming the option and the value.
/// </summary>
public class ConfigurationBindingTests
{
    private static WebApplication Build(Dictionary<string, string?> config, Action<IoUringTransportOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(config);
        builder.WebHost.ConfigureKestrel(o => o.Listen(IPAddress.Loopback, 0));
        if (configure is null)
        {
            builder.WebHost.UseIoUring();
        }
        else
        {
            builder.WebHost.UseIoUring(configure);
        }

        var app = builder.Build();
        app.MapGet("/transport", (HttpContext c) => c.Features.Get<IIoUringConnectionFeature>() is null ? "sockets" : "io_uring");
        return app;
    }

    [Fact]
    public async Task OptionsBoundFromTheKestrelTransportIoUringSectionAreTheOnesTheServerRunsWith()
    {
        await using var app = Build(new()
        {
            ["Kestrel:Transport:IoUring:RingCount"] = "3",
            ["Kestrel:Transport:IoUring:RingEntries"] = "256",
            ["Kestrel:Transport:IoUring:ReceiveMode"] = "PollAndReceive",
            ["Kestrel:Transport:IoUring:MaxReadBufferSize"] = "",
            ["Kestrel:Transport:IoUring:NoDelay"] = "false",
        });
        await app.StartAsync();
        var options = app.Services.GetRequiredService<IOptions<IoUringTransportOptions>>().Value;
        Assert.Equal(3, options.RingCount);
        Assert.Equal(256, options.RingEntries);
        Assert.Equal(IoUringReceiveMode.PollAndReceive, options.ReceiveMode);
        Assert.False(options.NoDelay);

        var factory = app.Services.GetServices<IConnectionListenerFactory>().OfType<IoUringTransportFactory>().Single();
        Assert.Equal(3, factory.RingGroup.Rings!.Length);

        using var client = new HttpClient();
        var address = app.Urls.First();
        Assert.Equal("io_uring", await client.GetStringAsync(address + "/transport"));
        await app.StopAsync();
    }

    [Fact]
    public async Task TheConfigureOptionsDelegateOverridesTheConfigurationSection()
    {
        await using var app = Build(new() { ["Kestrel:Transport:IoUring:RingCount"] = "3" }, o => o.RingCount = 2);
        var options = app.Services.GetRequiredService<IOptions<IoUringTransportOptions>>().Value;
        Assert.Equal(2, options.RingCount);
    }

    [Fact]
    public async Task AnInvalidConfiguredValueFailsStartWithAMessageNamingTheOptionAndTheValue()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = Build(new() { ["Kestrel:Transport:IoUring:RingEntries"] = "1000" });
            await app.StartAsync();
        });
        Assert.Contains("IoUringTransportOptions.RingEntries", ex.Message);
        Assert.Contains("1000", ex.Message);
    }

    [Fact]
    public async Task KernelFeaturesNamedInConfigurationAreNotUsedByAnyRing()
    {
        var available = RingCapabilities.Current.Available;
        Assert.True((available & RingFeatures.MultishotRecv) != 0 && (available & RingFeatures.RegisteredRingFd) != 0,
            $"this test needs a kernel that offers MultishotRecv and RegisteredRingFd; it offers {RingCapabilities.Describe(available)}");
        await using var app = Build(new()
        {
            ["Kestrel:Transport:IoUring:RingCount"] = "2",
            ["Kestrel:Transport:IoUring:DisabledKernelFeatures"] = " multishotRecv , RegisteredRingFd",
        });
        await app.StartAsync();

        var factory = app.Services.GetServices<IConnectionListenerFactory>().OfType<IoUringTransportFactory>().Single();
        Assert.All(factory.RingGroup.Rings!, ring =>
        {
            Assert.Equal(RingFeatures.None, ring.Features & (RingFeatures.MultishotRecv | RingFeatures.RegisteredRingFd));
            Assert.NotEqual(RingFeatures.None, ring.Features & RingFeatures.ProvidedBufferRing); // only those two are off
            Assert.False(ring.KernelRing.UsesRegisteredRingFd);
        });

        using var client = new HttpClient();
        Assert.Equal("io_uring", await client.GetStringAsync(app.Urls.First() + "/transport"));
        await app.StopAsync();
    }

    [Fact]
    public async Task AnUnknownKernelFeatureNameFailsStartAndListsTheKnownOnes()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = Build(new() { ["Kestrel:Transport:IoUring:DisabledKernelFeatures"] = "MultishotRecv,Bundles,7" });
            await app.StartAsync();
        });
        Assert.Contains("IoUringTransportOptions.DisabledKernelFeatures names no kernel feature: Bundles, 7.", ex.Message);
        Assert.Contains("MultishotRecv", ex.Message);
    }
}
