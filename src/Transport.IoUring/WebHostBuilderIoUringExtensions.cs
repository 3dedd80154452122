using System;
using System.Linq;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Transport.IoUring;
using Transport.IoUring.Internal;

namespace Microsoft.AspNetCore.Hosting;

/// <summary><see cref="IWebHostBuilder"/> extensions that make Kestrel serve on io_uring.</summary>
public static class WebHostBuilderIoUringExtensions
{
    /// <summary>The configuration section <see cref="IoUringTransportOptions"/> binds from: <c>Kestrel:Transport:IoUring</c>.</summary>
    public const string ConfigurationSectionName = "Kestrel:Transport:IoUring";

    private sealed class IoUringConfigurationMarker;

    /// <summary>
    /// Makes Kestrel serve on io_uring where it works and on its Sockets transport where it does not
    /// (the reason is logged once as a warning).
    /// </summary>
    /// <param name="hostBuilder">The web host builder.</param>
    /// <returns>The web host builder.</returns>
    public static IWebHostBuilder UseIoUring(this IWebHostBuilder hostBuilder)
    {
        ArgumentNullException.ThrowIfNull(hostBuilder);
        return hostBuilder.ConfigureServices((context, services) =>
        {
            // The options bind from the configuration section ConfigurationSectionName
            // ("Kestrel:Transport:IoUring", next to Kestrel's own "Kestrel" section), once, before any
            // configureOptions delegate, so code wins over configuration (docs/configuration.md).
            // The binder is source-generated (EnableConfigurationBindingGenerator): AOT and trim safe.
            if (!services.Any(d => d.ServiceType == typeof(IoUringConfigurationMarker)))
            {
                services.AddSingleton<IoUringConfigurationMarker>();
                var section = context.Configuration.GetSection(ConfigurationSectionName);
                services.Configure<IoUringTransportOptions>(section);
                services.AddSingleton<IConfigureOptions<IoUringTransportOptions>>(new UnknownConfigurationKeys(section));
            }

            // Kestrel asks the factories registered last first, and skips a selector that cannot
            // bind an endpoint. Sockets is registered (if UseKestrel has not done so yet) before
            // io_uring, so io_uring is preferred and Sockets stays as the fallback.
            services.TryAddSingleton<IConnectionListenerFactory, SocketTransportFactory>();
            if (!services.Any(d => d.ServiceType == typeof(IConnectionListenerFactory) && d.ImplementationType == typeof(IoUringTransportFactory)))
            {
                services.AddSingleton<IConnectionListenerFactory, IoUringTransportFactory>();
            }

            services.AddOptions<IoUringTransportOptions>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IoUringTransportOptions>, IoUringTransportOptionsValidator>());

            // The transport's meter comes from the host's IMeterFactory (docs/metrics.md).
            services.AddMetrics();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<IoUringTransportOptions>, MeterFactoryOptionsSetup>());
        });
    }

    /// <summary>
    /// Makes Kestrel serve on io_uring, configured by <paramref name="configureOptions"/>, with the
    /// Sockets transport as the fallback.
    /// </summary>
    /// <param name="hostBuilder">The web host builder.</param>
    /// <param name="configureOptions">Configures the transport's options.</param>
    /// <returns>The web host builder.</returns>
    public static IWebHostBuilder UseIoUring(this IWebHostBuilder hostBuilder, Action<IoUringTransportOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(configureOptions);
        return hostBuilder.UseIoUring().ConfigureServices(services => services.Configure(configureOptions));
    }
}
