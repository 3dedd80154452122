using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Sample;

/// <summary>Start-up and shutdown of the sample process on io_uring; each test starts its own process.</summary>
public sealed class SampleLifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SigtermLetsARunningDownloadFinishAndThenExitsWithCodeZero()
    {
        const long size = 200L * 1024 * 1024;
        await using var server = await SampleServerProcess.StartAsync();
        var endPoint = new IPEndPoint(IPAddress.Loopback, server.BaseAddress.Port);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(90) };

        using var response = await client.GetAsync($"/download?size={size}", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(size, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        long offset = await DownloadPattern.ReadAndVerifyAsync(body, 0, cts.Token, stopAfter: 1024 * 1024);
        Assert.Equal(1024 * 1024, offset);

        // The server is held back by the unread download while it starts shutting down.
        server.SendSigterm();
        await server.WaitForOutputAsync("Application is shutting down...", TimeSpan.FromSeconds(30));
        offset = await DownloadPattern.ReadAndVerifyAsync(body, offset, cts.Token);

        Assert.True(offset == size, $"The download ended after {offset} of {size} bytes.{server.Describe()}");
        int exitCode = await server.WaitForExitAsync(SampleServerProcess.ExitTimeout);
        output.WriteLine(server.Output);
        Assert.True(exitCode == 0, $"Exit code {exitCode}.{server.Describe()}");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await socket.ConnectAsync(endPoint, cts.Token));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Theory]
    [InlineData("BufferRing")]
    [InlineData("PollAndReceive")]
    public async Task SigtermAfterTheServerClosedConnectionsExitsWithCodeZero(string receiveMode)
    {
        await using var server = await SampleServerProcess.StartAsync(new SampleServerOptions
        {
            Environment = new Dictionary<string, string> { ["Kestrel__Transport__IoUring__ReceiveMode"] = receiveMode },
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        // The server closes both: after a "Connection: close" response, and after a 400 for a malformed request.
        string closeResponse = await SendAndReadToEndAsync(server, "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", cts.Token);
        string badRequestResponse = await SendAndReadToEndAsync(server, "GET /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", cts.Token);
        Assert.StartsWith("HTTP/1.1 200 ", closeResponse, StringComparison.Ordinal);
        Assert.EndsWith("Hello, World!", closeResponse, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", badRequestResponse, StringComparison.Ordinal);

        // Kestrel waits for its connections to be disposed, which the transport does once their
        // sockets are closed; a connection that never is makes shutdown time out.
        server.SendSigterm();
        int exitCode = await server.WaitForExitAsync(SampleServerProcess.ExitTimeout);
        output.WriteLine(server.Output);
        Assert.True(exitCode == 0, $"Exit code {exitCode}.{server.Describe()}");
    }

    [Fact]
    public async Task InvalidRingEntriesFailStartupWithAMessageNamingTheOptionAndValue()
    {
        await using var server = SampleServerProcess.Launch(new SampleServerOptions
        {
            Environment = new Dictionary<string, string> { ["Kestrel__Transport__IoUring__RingEntries"] = "1000" },
        });

        int exitCode = await server.WaitForExitAsync(SampleServerProcess.ExitTimeout);
        output.WriteLine(server.Output);

        Assert.True(exitCode != 0, $"The sample exited with code 0.{server.Describe()}");
        Assert.True(
            server.Lines.Any(l => l.Contains("RingEntries", StringComparison.Ordinal) && l.Contains("1000", StringComparison.Ordinal)),
            $"No line names RingEntries and 1000.{server.Describe()}");
        Assert.Empty(server.ListeningAddresses);
    }

    private static async Task<string> SendAndReadToEndAsync(SampleServerProcess server, string request, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.BaseAddress.Port), cancellationToken);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cancellationToken);
        using var response = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            response.Write(buffer, 0, read);
        }

        return Encoding.ASCII.GetString(response.ToArray());
    }
}
