using System;
using System.IO;
using System.Linq;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Protocols;

public class WebSocketTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TextAndBinaryMessagesOfAllSizesEchoBackWithTheirTypeAndTheCloseHandshakeCompletes()
    {
        var serverClosed = new TaskCompletionSource<WebSocketCloseStatus?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(
            app =>
            {
                app.UseWebSockets();
                app.MapGet("/ws", async context =>
                {
                    if (!context.WebSockets.IsWebSocketRequest || context.Features.Get<IIoUringConnectionFeature>() is null)
                    {
                        context.Response.StatusCode = StatusCodes.Status400BadRequest;
                        return;
                    }

                    using var socket = await context.WebSockets.AcceptWebSocketAsync();
                    try
                    {
                        await EchoUntilCloseAsync(socket, context.RequestAborted);
                        serverClosed.TrySetResult(socket.CloseStatus);
                    }
                    catch (Exception ex)
                    {
                        serverClosed.TrySetException(ex);
                        throw;
                    }
                });
            },
            output: output);

        using var client = new ClientWebSocket();
        client.Options.CollectHttpResponseDetails = true;
        using var cts = Bounds.Token();
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{server.Port}/ws"), cts.Token);
        Assert.Equal("io_uring", client.HttpResponseHeaders![TestServer.TransportHeader].Single());

        int[] sizes = [1, 2, 125, 126, 127, 1000, 65535, 65536, 65537, 200_000, 1024 * 1024];
        foreach (int size in sizes)
        {
            foreach (var type in new[] { WebSocketMessageType.Text, WebSocketMessageType.Binary })
            {
                foreach (int fragments in new[] { 1, 3 })
                {
                    byte[] message = type == WebSocketMessageType.Text ? RandomText(size) : RandomNumberGenerator.GetBytes(size);
                    await SendAsync(client, message, type, fragments, cts.Token);
                    var (receivedType, received) = await ReceiveMessageAsync(client, cts.Token);
                    Assert.Equal(type, receivedType);
                    Assert.True(message.AsSpan().SequenceEqual(received), $"{type} message of {size} bytes in {fragments} fragment(s) came back different");
                }
            }
        }

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);

        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        Assert.Equal("done", client.CloseStatusDescription);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await serverClosed.Task.WaitAsync(Bounds.Wait));
        Assert.True(server.IoUringAcceptedConnections >= 1);
    }

    private static async Task EchoUntilCloseAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (type, message) = await ReceiveMessageAsync(socket, cancellationToken);
            if (type == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription, cancellationToken);
                return;
            }

            await socket.SendAsync(message, type, endOfMessage: true, cancellationToken);
        }
    }

    private static async Task SendAsync(WebSocket socket, byte[] message, WebSocketMessageType type, int fragments, CancellationToken cancellationToken)
    {
        int fragmentSize = Math.Max(1, (message.Length + fragments - 1) / fragments);
        int offset = 0;
        do
        {
            int length = Math.Min(fragmentSize, message.Length - offset);
            bool last = offset + length == message.Length;
            await socket.SendAsync(message.AsMemory(offset, length), type, last, cancellationToken);
            offset += length;
        }
        while (offset < message.Length);
    }

    private static async Task<(WebSocketMessageType Type, byte[] Message)> ReceiveMessageAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var message = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken);
            message.Write(buffer, 0, result.Count);
            if (result.MessageType == WebSocketMessageType.Close || result.EndOfMessage)
            {
                return (result.MessageType, message.ToArray());
            }
        }
    }

    private static byte[] RandomText(int size)
    {
        // Printable ASCII: valid UTF-8 however the message is cut into fragments.
        byte[] text = RandomNumberGenerator.GetBytes(size);
        for (int i = 0; i < text.Length; i++)
        {
            text[i] = (byte)(' ' + (text[i] % 95));
        }

        return text;
    }
}
