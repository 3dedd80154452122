using System;
using System.Globalization;
using System.Net;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

/// <summary>The client closes with SO_LINGER {on, 0} (RST) in the middle of a transfer.</summary>
public class ClientResetTests(ITestOutputHelper output)
{
    private const long DeclaredUploadLength = 1L << 30;
    private const int Block = 64 * 1024;

    /// <summary>What the endpoint observed of the reset.</summary>
    private sealed record ServerObservation(bool IsIoUring, string? Exception, bool RequestAbortedFired);

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task AResetDuringAnUploadFailsTheServersReadAndTheServerGoesOnServing(IoUringReceiveMode mode)
    {
        var midRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var observed = new TaskCompletionSource<ServerObservation>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);
            app.MapPost("/upload-until-reset", async (HttpContext context) =>
            {
                context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
                bool ioUring = context.Features.Get<IIoUringConnectionFeature>() is not null;
                string? exception = null;
                try
                {
                    // Bounded by the declared length; the client resets long before it.
                    byte[] buffer = new byte[Block];
                    long total = 0;
                    int read;
                    while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
                    {
                        total += read;
                        if (total >= 4 * Block)
                        {
                            midRead.TrySetResult();
                        }
                    }
                }
                catch (Exception ex)
                {
                    exception = ex.GetType().Name;
                }

                observed.TrySetResult(new(ioUring, exception, await Bounded.WhenCancelledAsync(context.RequestAborted)));
            });
        }, o => o.ReceiveMode = mode, output: output);

        var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
        await connection.SendAsync($"POST /upload-until-reset HTTP/1.1\r\nHost: test\r\nContent-Length: {DeclaredUploadLength}\r\n\r\n");
        var upload = Task.Run(async () =>
        {
            byte[] block = TestData.Random(seed: 8, Block);
            for (long sent = 0; sent < DeclaredUploadLength; sent += Block)
            {
                await connection.SendAsync(block);
            }
        });

        await midRead.Task.WaitAsync(Bounded.Wait);
        connection.Reset();
        await Assert.ThrowsAnyAsync<Exception>(() => upload.WaitAsync(Bounded.Wait)); // the client's own socket is gone
        connection.Dispose();

        var observation = await observed.Task.WaitAsync(Bounded.Wait * 2);
        output.WriteLine($"server observed: {observation}");
        Assert.True(observation.IsIoUring);
        Assert.NotNull(observation.Exception);
        Assert.True(observation.RequestAbortedFired);
        await Rings.AssertServesAndDrainsAsync(server, mode);
    }

    [Theory]
    [InlineData(IoUringReceiveMode.BufferRing)]
    [InlineData(IoUringReceiveMode.PollAndReceive)]
    public async Task AResetDuringADownloadAbortsTheServersWritesAndTheServerGoesOnServing(IoUringReceiveMode mode)
    {
        var midWrite = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var observed = new TaskCompletionSource<ServerObservation>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app =>
        {
            Http1App.Map(app);
            app.MapGet("/download-until-reset", async (HttpContext context) =>
            {
                bool ioUring = context.Features.Get<IIoUringConnectionFeature>() is not null;
                string? exception = null;
                try
                {
                    // Bounded at 256 MiB; the client stops reading after 64 KiB and resets.
                    byte[] block = TestData.Random(seed: 9, Block);
                    for (int i = 0; i < 4096 && !context.RequestAborted.IsCancellationRequested; i++)
                    {
                        await context.Response.Body.WriteAsync(block, context.RequestAborted);
                        if (i == 16)
                        {
                            midWrite.TrySetResult();
                        }
                    }
                }
                catch (Exception ex)
                {
                    exception = ex.GetType().Name;
                }

                observed.TrySetResult(new(ioUring, exception, await Bounded.WhenCancelledAsync(context.RequestAborted)));
            });
        }, o => o.ReceiveMode = mode, output: output);

        var connection = await RawHttpConnection.ConnectAsync(server.EndPoint);
        await connection.SendAsync(RawHttpConnection.Get("/download-until-reset"));
        var response = await connection.ReadResponseHeadAsync();
        Assert.NotNull(response);
        response.AssertServedOverIoUring(mode);

        await midWrite.Task.WaitAsync(Bounded.Wait);
        connection.Reset();
        connection.Dispose();

        var observation = await observed.Task.WaitAsync(Bounded.Wait * 2);
        output.WriteLine($"server observed: {observation}");
        Assert.True(observation.IsIoUring);
        Assert.True(observation.RequestAbortedFired);
        await Rings.AssertServesAndDrainsAsync(server, mode);
    }
}
