using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Transport.IoUring.Tests.Protocols;
using Xunit;

namespace Transport.IoUring.Tests.Hosting;

public class RegistrationOrderTests
{
    [Theory]
    [InlineData("UseIoUring", "UseKestrel", "ConfigureKestrel")]
    [InlineData("UseKestrel", "UseIoUring", "ConfigureKestrel")]
    [InlineData("UseKestrel", "ConfigureKestrel", "UseIoUring")]
    [InlineData("ConfigureKestrel", "UseIoUring", "UseKestrel")]
    [InlineData("UseIoUring", "UseKestrelWithOptions", "UseIoUring")]
    public async Task UseIoUringServesOnIoUringInAnyOrderAndKeepsSocketsAsTheFallback(params string[] steps)
    {
        using var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureWebHost(web =>
            {
                foreach (string step in steps)
                {
                    _ = step switch
                    {
                        "UseIoUring" => web.UseIoUring(),
                        "UseKestrel" => web.UseKestrel(),
                        "UseKestrelWithOptions" => web.UseKestrel(options => options.Listen(IPAddress.Loopback, 0)),
                        "ConfigureKestrel" => web.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0)),
                        _ => throw new ArgumentException(step),
                    };
                }

                web.Configure(app => app.Run(context =>
                {
                    context.Response.Headers[TestServer.TransportHeader] = context.Features.Get<IIoUringConnectionFeature>() is null ? "sockets" : "io_uring";
                    return context.Response.WriteAsync("served");
                }));
            })
            .Build();
        await host.StartAsync().WaitAsync(Bounds.Wait);
        try
        {
            var factories = host.Services.GetServices<IConnectionListenerFactory>().ToArray();
            Assert.Single(factories.OfType<IoUringTransportFactory>());
            Assert.Single(factories.OfType<SocketTransportFactory>());

            // Kestrel tries the factory registered last first: io_uring, with Sockets behind it.
            Assert.IsType<IoUringTransportFactory>(factories[^1]);

            var address = new Uri(host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            using var client = TransportClient.Create(address, new System.Net.Http.SocketsHttpHandler());
            Assert.Equal("served", await client.GetStringAsync("/"));
            Assert.True(factories.OfType<IoUringTransportFactory>().Single().RingGroup.Rings!.Sum(r => r.Connections.Accepted) >= 1);
        }
        finally
        {
            await host.StopAsync().WaitAsync(Bounds.Wait);
        }
    }
}
