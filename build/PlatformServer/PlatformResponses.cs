using System;
using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PlatformServer;

/// <summary>
/// Writes the platform server's responses straight into the connection's output, TechEmpower's
/// way: status line, Server, Content-Type, Content-Length and Date headers, then the body. The JSON
/// body is serialized for every request (TechEmpower's json test forbids caching it), into a
/// per-thread buffer so that a request allocates nothing.
/// </summary>
internal static class PlatformResponses
{
    /// <summary>Room for the status line and headers of every response this server writes.</summary>
    private const int MaxHeadBytes = 256;

    private static ReadOnlySpan<byte> Ok => "HTTP/1.1 200 OK\r\nServer: K\r\n"u8;
    private static ReadOnlySpan<byte> NotFound => "HTTP/1.1 404 Not Found\r\nServer: K\r\n"u8;
    private static ReadOnlySpan<byte> BadRequest => "HTTP/1.1 400 Bad Request\r\nServer: K\r\n"u8;
    private static ReadOnlySpan<byte> TextPlain => "Content-Type: text/plain\r\n"u8;
    private static ReadOnlySpan<byte> ApplicationJson => "Content-Type: application/json\r\n"u8;
    private static ReadOnlySpan<byte> ContentLength => "Content-Length: "u8;
    private static ReadOnlySpan<byte> ConnectionClose => "Connection: close\r\n"u8;
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    public static ReadOnlySpan<byte> PlaintextBody => "Hello, World!"u8;
    public static ReadOnlySpan<byte> IoUringBody => "io_uring"u8;
    public static ReadOnlySpan<byte> SocketsBody => "sockets"u8;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_jsonBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_jsonWriter;

    /// <summary>The response to <paramref name="request"/>; <paramref name="servedByIoUring"/> answers /transport.</summary>
    public static void Write(IBufferWriter<byte> output, in PlatformRequest request, bool servedByIoUring)
    {
        ArgumentNullException.ThrowIfNull(output);
        switch (request.Endpoint)
        {
            case PlatformEndpoint.Plaintext:
                Write(output, Ok, TextPlain, PlaintextBody, request.KeepAlive);
                break;
            case PlatformEndpoint.Json:
                Write(output, Ok, ApplicationJson, SerializeMessage(), request.KeepAlive);
                break;
            case PlatformEndpoint.Transport:
                Write(output, Ok, TextPlain, servedByIoUring ? IoUringBody : SocketsBody, request.KeepAlive);
                break;
            default:
                Write(output, NotFound, [], [], request.KeepAlive);
                break;
        }
    }

    /// <summary>The answer to a request that could not be parsed; the connection closes after it.</summary>
    public static void WriteBadRequest(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Write(output, BadRequest, [], [], keepAlive: false);
    }

    private static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, bool keepAlive)
    {
        var date = DateHeader.Line;
        var span = output.GetSpan(MaxHeadBytes + date.Length + body.Length);
        int at = 0;
        Append(span, ref at, status);
        Append(span, ref at, contentType);
        Append(span, ref at, ContentLength);
        Utf8Formatter.TryFormat(body.Length, span[at..], out int digits);
        at += digits;
        Append(span, ref at, Crlf);
        Append(span, ref at, date);
        if (!keepAlive)
        {
            Append(span, ref at, ConnectionClose);
        }

        Append(span, ref at, Crlf);
        Append(span, ref at, body);
        output.Advance(at);
    }

    private static void Append(Span<byte> span, ref int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[at..]);
        at += bytes.Length;
    }

    /// <summary>{"message":"Hello, World!"}, serialized now into this thread's buffer.</summary>
    private static ReadOnlySpan<byte> SerializeMessage()
    {
        var buffer = t_jsonBuffer ??= new ArrayBufferWriter<byte>(64);
        buffer.ResetWrittenCount();
        var writer = t_jsonWriter ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        writer.Reset(buffer);
        JsonSerializer.Serialize(writer, new JsonMessage("Hello, World!"), PlatformJsonContext.Default.JsonMessage);
        return buffer.WrittenSpan;
    }
}

/// <summary>The json test's object.</summary>
internal readonly record struct JsonMessage([property: JsonPropertyName("message")] string Message);

[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Serialization)]
[JsonSerializable(typeof(JsonMessage))]
internal sealed partial class PlatformJsonContext : JsonSerializerContext;
