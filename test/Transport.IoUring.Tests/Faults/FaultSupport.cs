using System.Threading.Tasks;
using Transport.IoUring.Tests.Http1;
using Xunit;

namespace Transport.IoUring.Tests.Faults;

internal static class FaultSupport
{
    /// <summary>While a misbehaving peer is connected, three other clients each get intact answers over io_uring.</summary>
    public static async Task AssertOthersAreServedAsync(TestServer server, int clients = 3)
    {
        var tasks = new Task[clients];
        for (int c = 0; c < clients; c++)
        {
            int client = c;
            tasks[c] = Task.Run(async () =>
            {
                using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
                for (int r = 0; r < 3; r++)
                {
                    string id = $"other-{client}-{r}";
                    await connection.SendAsync(RawHttpConnection.Get($"/p?i={id}"));
                    var response = await connection.ReadResponseAsync();
                    Assert.Equal(200, response.StatusCode);
                    response.AssertServedOverIoUring();
                    Assert.Equal(id, response.BodyText);
                }
            });
        }

        await Task.WhenAll(tasks).WaitAsync(Bounded.Wait);
    }

    /// <summary>A new connection gets an intact answer from the transport named (io_uring or sockets).</summary>
    public static async Task AssertServesAsync(TestServer server, string expectedTransport)
    {
        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
        await connection.SendAsync(RawHttpConnection.Get("/p?i=after"));
        var response = await connection.ReadResponseAsync();
        Assert.Equal("after", response.BodyText);
        Assert.Equal(expectedTransport, response.Header(TestServer.TransportHeader));
    }
}
