using System;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Transport.IoUring.Internal;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Observability;

public class LoggingTests(ITestOutputHelper output)
{
    private static readonly (MethodInfo Method, LoggerMessageAttribute Attribute)[] s_events = typeof(IoUringLog)
        .GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
        .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()!))
        .Where(e => e.Attribute is not null)
        .ToArray();

    [Fact]
    public void EveryLogEventHasAStableUniqueIdAndItsMethodsName()
    {
        Assert.True(s_events.Length >= 10, $"only {s_events.Length} [LoggerMessage] methods found");
        Assert.All(s_events, e =>
        {
            Assert.True(e.Attribute.EventId > 0, $"{e.Method.Name} has no event id");
            Assert.Equal(e.Method.Name, e.Attribute.EventName);
            Assert.False(string.IsNullOrWhiteSpace(e.Attribute.Message), $"{e.Method.Name} has no message");
        });
        Assert.Equal(s_events.Length, s_events.Select(e => e.Attribute.EventId).Distinct().Count());
        Assert.Equal(s_events.Length, s_events.Select(e => e.Attribute.EventName).Distinct().Count());
    }

    [Fact]
    public void PerConnectionEventsAreDebugOnly()
    {
        // The per-connection events (category Transport.IoUring.Connections) are named Connection*
        // and take ids 20–39: one per connection or per read, so never above Debug. From 40 on, ids
        // are given out by area (40–59: locked memory, configuration, switching off; 60–69: the
        // memory pool).
        var perConnection = s_events.Where(e => e.Method.Name.StartsWith("Connection", StringComparison.Ordinal)).ToArray();
        Assert.All(s_events.Where(e => e.Attribute.EventId is >= 20 and < 40), e => Assert.Contains(e, perConnection));
        Assert.NotEmpty(perConnection);
        Assert.All(perConnection, e => Assert.True(e.Attribute.Level <= LogLevel.Debug, $"{e.Method.Name} logs at {e.Attribute.Level}"));
    }

    [Fact]
    public async Task ManyRequestsLogNothingAtInformationOrAboveAfterStartup()
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, options => options.RingCount = 2, output: output);
        int startupEntries = server.Logs.Entries.Count;
        Assert.Contains(server.Logs.Entries, e => e.Category == "Transport.IoUring" && e.EventId.Name == "Serving");

        // Keep-alive connections with several requests each, connections closed after one request,
        // a client reset and an upload: what a busy server sees.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async c =>
        {
            using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
            for (int i = 0; i < 25; i++)
            {
                await connection.SendAsync(RawHttpConnection.Get($"/p?i={i}"));
                Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), (await connection.ReadResponseAsync()).BodyText);
            }
        }));
        for (int i = 0; i < 20; i++)
        {
            using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
            await connection.SendAsync(RawHttpConnection.Get("/plaintext", close: i % 2 == 0));
            Assert.Equal(Http1App.Plaintext, (await connection.ReadResponseAsync()).BodyText);
            if (i % 5 == 4)
            {
                connection.Reset();
            }
        }

        using (var client = server.CreateClient())
        {
            byte[] body = TestData.Random(7, 300_000);
            using var response = await client.PostAsync("/echo", new System.Net.Http.ByteArrayContent(body));
            Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        }

        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0), "connections still open on the rings");

        var afterStartup = server.Logs.Entries.Skip(startupEntries).Where(e => e.Category.StartsWith("Transport.IoUring", StringComparison.Ordinal)).ToArray();
        Assert.DoesNotContain(afterStartup, e => e.Level >= LogLevel.Information);

        // The transport's loggers are wired and did log these connections, at Debug.
        Assert.Contains(afterStartup, e => e.Category == "Transport.IoUring.Connections" && e.Level == LogLevel.Debug && e.EventId.Name == "ConnectionReadFin");
        Assert.All(afterStartup, e => Assert.Contains(s_events, known => known.Attribute.EventId == e.EventId.Id && known.Attribute.EventName == e.EventId.Name));
    }
}
