using System;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

public class KeepAliveAndPipeliningTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task OneThousandSequentialRequestsOnOneConnectionAreAllAnsweredInOrder(IoUringReceiveMode mode)
    {
        const int Requests = 1000;
        await using var server = await TestServer.StartAsync(Http1App.Map, o => o.ReceiveMode = mode, output: output);
        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);

        for (int i = 0; i < Requests; i++)
        {
            await connection.SendAsync(RawHttpConnection.Get($"/p?i={i}"));
            var response = await connection.ReadResponseAsync();

            Assert.Equal(200, response.StatusCode);
            response.AssertServedOverIoUring(mode);
            Assert.False(response.ConnectionClose);
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), response.BodyText);
        }

        Assert.Equal(1, server.IoUringAcceptedConnections);
    }

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task FiveThousandPipelinedRequestsWrittenInRandomChunksAreAnsweredInOrder(IoUringReceiveMode mode)
    {
        const int Requests = 5000;
        await using var server = await TestServer.StartAsync(Http1App.Map, o => o.ReceiveMode = mode, output: output);
        using var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);

        var requests = new MemoryStream();
        for (int i = 0; i < Requests; i++)
        {
            requests.Write(Encoding.ASCII.GetBytes(RawHttpConnection.Get($"/p?i={i}")));
        }

        byte[] bytes = requests.ToArray();

        // Written while the responses are read: neither side may wait for the other.
        var writer = Task.Run(async () =>
        {
            var random = new Random(Requests);
            int offset = 0;
            while (offset < bytes.Length)
            {
                int count = Math.Min(TestData.NextChunkSize(random, 8 * 1024), bytes.Length - offset);
                await connection.SendAsync(bytes.AsMemory(offset, count));
                offset += count;
            }
        });

        int answered = 0;
        for (int i = 0; i < Requests; i++)
        {
            var response = await connection.ReadResponseAsync();

            Assert.Equal(200, response.StatusCode);
            response.AssertServedOverIoUring(mode);
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), response.BodyText);
            answered++;
        }

        await writer.WaitAsync(Bounded.Wait);
        Assert.Equal(Requests, answered);

        // Nothing beyond the last response: one more request is answered next, not a stray one.
        await connection.SendAsync(RawHttpConnection.Get("/p?i=last"));
        Assert.Equal("last", (await connection.ReadResponseAsync()).BodyText);
        Assert.Equal(1, server.IoUringAcceptedConnections);
    }
}
