using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

public class ConcurrencyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task TwoHundredConcurrentConnectionsEachServeTwentyRequestsCorrectly(IoUringReceiveMode mode)
    {
        const int Connections = 200;
        const int RequestsPerConnection = 20;
        await using var server = await TestServer.StartAsync(Http1App.Map, o => o.ReceiveMode = mode, output: output);
        var endPoint = server.EndPoint;

        // All connections are opened before any request, so all 200 are open at once.
        var connections = await Task.WhenAll(Enumerable.Range(0, Connections).Select(_ => RawHttpConnection.ConnectAsync(endPoint)));
        try
        {
            var answered = await Task.WhenAll(connections.Select((connection, c) => Task.Run(async () =>
            {
                int ok = 0;
                for (int r = 0; r < RequestsPerConnection; r++)
                {
                    string id = $"{c}-{r}";
                    await connection.SendAsync(RawHttpConnection.Get($"/p?i={id}"));
                    var response = await connection.ReadResponseAsync();
                    Assert.Equal(200, response.StatusCode);
                    response.AssertServedOverIoUring(mode);
                    Assert.Equal(id, response.BodyText);
                    ok++;
                }

                return ok;
            }))).WaitAsync(Bounded.Wait * 2);

            Assert.All(answered, count => Assert.Equal(RequestsPerConnection, count));
            Assert.Equal(Connections, server.IoUringAcceptedConnections);
            Assert.Equal(Connections, Rings.ActiveConnections(server));
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }

        Assert.True(await Bounded.PollAsync(() => Rings.ActiveConnections(server) == 0),
            $"{Rings.ActiveConnections(server).ToString(CultureInfo.InvariantCulture)} connection(s) still open on the rings after the clients closed");
    }
}
