using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Http1;

public class EndpointTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PlaintextIsServedWithItsBodyAndContentType()
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, output: output);
        using var client = server.CreateClient();

        using var response = await client.GetAsync("/plaintext");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(Http1App.Plaintext, await response.Content.ReadAsStringAsync());
        Assert.True(server.IoUringAcceptedConnections >= 1);
    }

    [Fact]
    public async Task JsonIsServedWithItsBodyAndContentType()
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, output: output);
        using var client = server.CreateClient();

        using var response = await client.GetAsync("/json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Http1App.Plaintext, json.RootElement.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(65537)]
    [InlineData(1024 * 1024 + 3)]
    public async Task PostEchoReturnsTheRequestBodyUnchanged(int length)
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, output: output);
        using var client = server.CreateClient();
        byte[] body = TestData.Random(seed: length, length);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/x-test");

        using var response = await client.PostAsync("/echo", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-test", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(length, response.Content.Headers.ContentLength);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(250)]
    [InlineData(251)]
    [InlineData(16 * 1024 + 1)]
    [InlineData(1024 * 1024)]
    [InlineData(8 * 1024 * 1024 + 7)]
    public async Task DownloadReturnsExactlyTheRequestedPatternBytes(int length)
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, output: output);
        using var client = server.CreateClient();

        using var response = await client.GetAsync($"/download/{length}");
        byte[] body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(length, body.Length);
        Assert.Equal(-1, TestData.FindPatternMismatch(body, 0));
    }
}
