using System;
using System.Collections.Generic;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using PlatformServer;

// The benchmark harness's TechEmpower "platform"-style server: raw HTTP/1.1 on Kestrel's connection
// pipes (docs/benchmarks.md, "The platform server").
//   dotnet PlatformServer.dll [--transport iouring|sockets] [--urls http://IP:PORT[;...]] [configuration args]
// The transport is chosen as in samples/WebApp: io_uring by default, its options from
// Kestrel:Transport:IoUring (e.g. Kestrel__Transport__IoUring__UnsafePreferInlineScheduling=true);
// "sockets" runs Kestrel's Sockets transport with SocketTransportOptions from Sockets:* (e.g.
// Sockets__UnsafePreferInlineScheduling=true, Sockets__WaitForDataBeforeAllocatingBuffer=false).

string transport = "iouring";
string urls = "http://127.0.0.1:5000";
var configurationArgs = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--transport" && i + 1 < args.Length)
    {
        transport = args[++i];
    }
    else if (args[i].StartsWith("--transport=", StringComparison.Ordinal))
    {
        transport = args[i]["--transport=".Length..];
    }
    else if (args[i] == "--urls" && i + 1 < args.Length)
    {
        urls = args[++i];
    }
    else if (args[i].StartsWith("--urls=", StringComparison.Ordinal))
    {
        urls = args[i]["--urls=".Length..];
    }
    else
    {
        configurationArgs.Add(args[i]);
    }
}

if (transport is not ("iouring" or "sockets"))
{
    Console.Error.WriteLine($"Unknown transport '{transport}': use --transport iouring or --transport sockets.");
    return 2;
}

List<IPEndPoint> endPoints;
try
{
    endPoints = ListenAddresses.Parse(urls);
}
catch (FormatException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

var builder = WebApplication.CreateSlimBuilder(configurationArgs.ToArray());
builder.WebHost.ConfigureKestrel(options =>
{
    foreach (var endPoint in endPoints)
    {
        options.Listen(endPoint, listen => listen.UseConnectionHandler<PlatformConnectionHandler>());
    }
});

if (transport == "iouring")
{
    builder.WebHost.UseIoUring();
}
else
{
    builder.Services.Configure<SocketTransportOptions>(builder.Configuration.GetSection("Sockets"));
}

DateHeader.Start();
var app = builder.Build();
try
{
    await app.RunAsync();
}
catch (Microsoft.Extensions.Options.OptionsValidationException ex)
{
    Console.Error.WriteLine($"Invalid options: {string.Join(" ", ex.Failures)}");
    return 1;
}

return 0;
