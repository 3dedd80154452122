using System;
using System.Collections.Generic;
using System.Net;
using Microsoft.AspNetCore.Http;

namespace PlatformServer;

/// <summary>The <c>--urls</c> list as IP endpoints: the server binds them itself, each with the platform handler.</summary>
internal static class ListenAddresses
{
    public static List<IPEndPoint> Parse(string urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        var endPoints = new List<IPEndPoint>();
        foreach (string url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException ex)
            {
                throw new FormatException($"--urls: '{url}' is not a URL ({ex.Message}).", ex);
            }

            if (address.Scheme != "http" || address.Port <= 0)
            {
                throw new FormatException($"--urls: '{url}': the platform server serves plain http on an explicit port.");
            }

            IPAddress ip = address.Host switch
            {
                "localhost" => IPAddress.Loopback,
                "*" or "+" => IPAddress.Any,
                var host => IPAddress.TryParse(host.Trim('[', ']'), out var parsed) ? parsed
                    : throw new FormatException($"--urls: '{url}': give an IP address, not the host name '{host}'."),
            };
            endPoints.Add(new IPEndPoint(ip, address.Port));
        }

        return endPoints.Count > 0 ? endPoints : throw new FormatException("--urls: no address given.");
    }
}
