using System.Globalization;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

public class ConnectionChurnTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task TwoThousandSequentialConnectionsWithConnectionCloseAreEachServedCorrectly(IoUringReceiveMode mode)
    {
        const int Connections = 2000;
        await using var server = await TestServer.StartAsync(Http1App.Map, o => o.ReceiveMode = mode, output: output);
        var endPoint = server.EndPoint;

        for (int i = 0; i < Connections; i++)
        {
            using var connection = await RawHttpConnection.ConnectAsync(endPoint);
            await connection.SendAsync(RawHttpConnection.Get($"/p?i={i}", close: true));
            var response = await connection.ReadResponseAsync();

            Assert.Equal(200, response.StatusCode);
            response.AssertServedOverIoUring(mode);
            Assert.True(response.ConnectionClose);
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), response.BodyText);

            // The server closes after the response: nothing more, then FIN.
            var (rest, close) = await connection.ReadUntilClosedAsync();
            Assert.Empty(rest);
            Assert.Equal(PeerClose.Fin, close);
        }

        Assert.Equal(Connections, server.IoUringAcceptedConnections);
        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0),
            $"{Rings.ActiveConnections(server).ToString(CultureInfo.InvariantCulture)} connection(s) still open on the rings");
        output.WriteLine($"stale completions dropped: {StaleCompletions(server)}");
    }

    private static long StaleCompletions(TestServer server)
    {
        long total = 0;
        foreach (var ring in server.Factory!.RingGroup.Rings!)
        {
            total += ring.StaleCompletions;
        }

        return total;
    }
}
