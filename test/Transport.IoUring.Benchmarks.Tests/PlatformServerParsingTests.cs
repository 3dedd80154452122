using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Text;
using PlatformServer;
using Xunit;

namespace Transport.IoUring.Benchmarks.Tests;

/// <summary>build/PlatformServer's HTTP/1.1 parsing and responses, on bytes: what wrk, the probe and curl send.</summary>
public sealed class PlatformServerParsingTests
{
    private const string Get = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n\r\n";

    private static ReadOnlySequence<byte> Bytes(string text) => new(Encoding.ASCII.GetBytes(text));

    /// <summary>The bytes of <paramref name="text"/> in segments cut at <paramref name="cuts"/>, as a pipe may hand them over.</summary>
    private static ReadOnlySequence<byte> Segmented(string text, params int[] cuts)
    {
        byte[] all = Encoding.ASCII.GetBytes(text);
        var bounds = cuts.Append(all.Length).Prepend(0).ToArray();
        Segment? first = null, last = null;
        for (int i = 0; i + 1 < bounds.Length; i++)
        {
            var segment = new Segment(all.AsMemory(bounds[i], bounds[i + 1] - bounds[i]), last);
            first ??= segment;
            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }

    private static (ParseStatus Status, PlatformRequest Request, long Consumed) Parse(ReadOnlySequence<byte> bytes)
    {
        var reader = new SequenceReader<byte>(bytes);
        var status = Http1RequestParser.TryParse(ref reader, out var request);
        return (status, request, reader.Consumed);
    }

    [Fact]
    public void PipelinedRequestsAreParsedOneAtATimeAcrossSegments()
    {
        string sixteen = string.Concat(Enumerable.Repeat(Get, 16));
        var reader = new SequenceReader<byte>(Segmented(sixteen, 10, Get.Length + 3, 5 * Get.Length - 1));
        var requests = new List<PlatformRequest>();
        while (Http1RequestParser.TryParse(ref reader, out var request) == ParseStatus.Complete)
        {
            requests.Add(request);
        }

        Assert.Equal(16, requests.Count);
        Assert.All(requests, r => Assert.Equal(new PlatformRequest(PlatformEndpoint.Plaintext, KeepAlive: true), r));
        Assert.True(reader.End);
    }

    [Fact]
    public void APartialRequestIsIncompleteAndConsumesNothingWhereverItIsCut()
    {
        for (int length = 0; length < Get.Length; length++)
        {
            var (status, _, consumed) = Parse(Bytes(Get[..length]));

            Assert.Equal(ParseStatus.Incomplete, status);
            Assert.Equal(0, consumed);
        }

        Assert.Equal(ParseStatus.Complete, Parse(Bytes(Get)).Status);
    }

    [Theory]
    [InlineData("GET /plaintext HTTP/1.1\r\n\r\n", "Plaintext", true)]
    [InlineData("GET /json HTTP/1.1\r\nAccept: application/json\r\n\r\n", "Json", true)]
    [InlineData("GET /transport HTTP/1.1\r\nHost: x\r\n\r\n", "Transport", true)]
    [InlineData("GET /plaintext?x=1 HTTP/1.1\r\n\r\n", "Plaintext", true)]
    [InlineData("GET /plaintext HTTP/1.1\r\nconnection:  Close\r\n\r\n", "Plaintext", false)]
    [InlineData("GET /plaintext HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", "Plaintext", false)]
    [InlineData("GET /plaintext HTTP/1.0\r\n\r\n", "Plaintext", false)]
    [InlineData("GET /plaintext HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "Plaintext", true)]
    [InlineData("GET /other HTTP/1.1\r\n\r\n", "NotFound", true)]
    [InlineData("POST /plaintext HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "NotFound", true)]
    public void RequestLineAndConnectionHeaderDecideTheAnswer(string text, string endpointName, bool keepAlive)
    {
        var endpoint = Enum.Parse<PlatformEndpoint>(endpointName);
        var (status, request, consumed) = Parse(Bytes(text));

        Assert.Equal(ParseStatus.Complete, status);
        Assert.Equal(new PlatformRequest(endpoint, keepAlive), request);
        Assert.Equal(text.Length, consumed);
    }

    [Fact]
    public void ABodyIsSkippedOnlyOnceWhollyArrived()
    {
        const string Post = "POST /json HTTP/1.1\r\nContent-Length: 5\r\n\r\n";

        Assert.Equal(ParseStatus.Incomplete, Parse(Bytes(Post + "hell")).Status);
        var (status, _, consumed) = Parse(Bytes(Post + "hello" + Get));
        Assert.Equal(ParseStatus.Complete, status);
        Assert.Equal(Post.Length + 5, consumed);
    }

    [Theory]
    [InlineData("GET /plaintext HTTP/1.1\n\n")]
    [InlineData("GET /plaintext\r\n\r\n")]
    [InlineData("GET /plaintext HTTP/2.0\r\n\r\n")]
    [InlineData("GET plaintext HTTP/1.1\r\n\r\n")]
    [InlineData("GET /plaintext HTTP/1.1\r\nNoColon\r\n\r\n")]
    [InlineData("POST /json HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("POST /json HTTP/1.1\r\nContent-Length: 5x\r\n\r\n")]
    [InlineData("POST /json HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n")]
    public void MalformedOrUnsupportedRequestsAreInvalid(string text)
    {
        Assert.Equal(ParseStatus.Invalid, Parse(Bytes(text)).Status);
    }

    [Fact]
    public void AnEndlessHeadIsInvalidOnceOverTheLimit()
    {
        string head = "GET /plaintext HTTP/1.1\r\nX-Long: " + new string('a', Http1RequestParser.MaxHeadBytes);

        Assert.Equal(ParseStatus.Incomplete, Parse(Bytes(head[..1000])).Status);
        Assert.Equal(ParseStatus.Invalid, Parse(Bytes(head)).Status);
    }

    [Fact]
    public void PlaintextResponseHasTechEmpowersHeadersAndBody()
    {
        var output = new ArrayBufferWriter<byte>();

        PlatformResponses.Write(output, new PlatformRequest(PlatformEndpoint.Plaintext, KeepAlive: true), servedByIoUring: true);

        string date = Encoding.ASCII.GetString(DateHeader.Line);
        string response = Encoding.ASCII.GetString(output.WrittenSpan);
        Assert.Equal("HTTP/1.1 200 OK\r\nServer: K\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n" + date + "\r\nHello, World!", response);
    }

    [Fact]
    public void JsonIsSerializedPerRequestWithItsLength()
    {
        var output = new ArrayBufferWriter<byte>();

        PlatformResponses.Write(output, new PlatformRequest(PlatformEndpoint.Json, KeepAlive: false), servedByIoUring: false);
        PlatformResponses.Write(output, new PlatformRequest(PlatformEndpoint.Json, KeepAlive: true), servedByIoUring: false);

        string response = Encoding.ASCII.GetString(output.WrittenSpan);
        string[] parts = response.Split("HTTP/1.1 200 OK\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, parts.Length);
        Assert.All(parts, p => Assert.EndsWith("\r\n\r\n{\"message\":\"Hello, World!\"}", p, StringComparison.Ordinal));
        Assert.All(parts, p => Assert.Contains("Content-Type: application/json\r\nContent-Length: 27\r\n", p, StringComparison.Ordinal));
        Assert.Contains("Connection: close\r\n", parts[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Connection: close", parts[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, "io_uring")]
    [InlineData(false, "sockets")]
    public void TransportAnswersWhatTheHarnessExpects(bool ioUring, string expected)
    {
        var output = new ArrayBufferWriter<byte>();

        PlatformResponses.Write(output, new PlatformRequest(PlatformEndpoint.Transport, KeepAlive: true), ioUring);

        Assert.EndsWith("\r\n\r\n" + expected, Encoding.ASCII.GetString(output.WrittenSpan), StringComparison.Ordinal);
    }

    [Fact]
    public void AConnectionsBufferIsAnsweredInOneGoAndAnUnfinishedTailIsKept()
    {
        string text = string.Concat(Enumerable.Repeat(Get, 3)) + Get[..20];
        var buffer = Segmented(text, 7, 100);
        var output = new ArrayBufferWriter<byte>();

        var (wrote, close) = PlatformConnectionHandler.Answer(buffer, output, servedByIoUring: true, out var consumed);

        Assert.True(wrote);
        Assert.False(close);
        Assert.Equal(3 * Get.Length, buffer.Slice(0, consumed).Length);
        Assert.Equal(3, Encoding.ASCII.GetString(output.WrittenSpan).Split("Hello, World!").Length - 1);
    }

    [Fact]
    public void ABadRequestIsAnsweredWith400AndEndsTheConnection()
    {
        var buffer = Bytes(Get + "BROKEN\r\n\r\n" + Get);
        var output = new ArrayBufferWriter<byte>();

        var (wrote, close) = PlatformConnectionHandler.Answer(buffer, output, servedByIoUring: false, out var consumed);

        string response = Encoding.ASCII.GetString(output.WrittenSpan);
        Assert.True(wrote && close);
        Assert.Equal(buffer.End, consumed);
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 400 Bad Request\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("Connection: close\r\n\r\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public void DateLineIsRfc1123InGmt()
    {
        var at = new DateTimeOffset(2026, 12, 6, 22, 27, 45, TimeSpan.FromHours(1));

        Assert.Equal("Date: Sun, 06 Dec 2026 21:27:45 GMT\r\n", Encoding.ASCII.GetString(DateHeader.Format(at)));
    }

    [Fact]
    public void UrlsBecomeTheEndPointsTheServerListensOn()
    {
        Assert.Equal([new IPEndPoint(IPAddress.Parse("169.254.77.1"), 5000)], PlatformServer.ListenAddresses.Parse("http://169.254.77.1:5000"));
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 1), new IPEndPoint(IPAddress.Any, 2)], PlatformServer.ListenAddresses.Parse("http://localhost:1; http://*:2"));
        Assert.Throws<FormatException>(() => PlatformServer.ListenAddresses.Parse("https://127.0.0.1:5000"));
        Assert.Throws<FormatException>(() => PlatformServer.ListenAddresses.Parse("http://example.com:5000"));
    }
}
