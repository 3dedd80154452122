using System;
using System.Buffers.Binary;

namespace Transport.IoUring.Benchmarks.LoadGenerators;

/// <summary>
/// The grpc-unary scenario's request, as it goes on the wire in the body of an HTTP/2 POST: the
/// gRPC length-prefixed message (1 byte "compressed" flag, 4 bytes big-endian length) around the
/// protobuf encoding of samples/WebApp/Protos/echo.proto's <c>EchoMessage { bytes payload = 1; }</c>.
/// h2load sends these bytes as they are (<c>-d</c>), so the load generator spends nothing on protobuf.
/// </summary>
internal static class GrpcRequest
{
    /// <summary>The method's HTTP/2 path: /package.Service/Method.</summary>
    public const string Path = "/benchmarks.Echo/Say";

    /// <summary>The headers a gRPC call carries besides the pseudo-headers.</summary>
    public static readonly string[] Headers = ["content-type: application/grpc", "te: trailers"];

    /// <summary>The payload echoed: as small as TechEmpower's plaintext body.</summary>
    public static ReadOnlySpan<byte> Payload => "Hello, World!"u8;

    private const int PrefixLength = 5;
    private const byte PayloadFieldTag = (1 << 3) | 2; // field 1, wire type 2 (length-delimited)

    /// <summary>The request body: prefix, then the message.</summary>
    public static byte[] Encode() => Frame(Payload);

    /// <summary>A gRPC message frame holding an <c>EchoMessage</c> with <paramref name="payload"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > 127)
        {
            // One varint byte of length keeps the encoding visible here; the scenario needs no more.
            throw new ArgumentException("Payloads above 127 bytes need a longer varint.", nameof(payload));
        }

        int messageLength = 2 + payload.Length;
        var frame = new byte[PrefixLength + messageLength];
        frame[0] = 0; // not compressed
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)messageLength);
        frame[PrefixLength] = PayloadFieldTag;
        frame[PrefixLength + 1] = (byte)payload.Length;
        payload.CopyTo(frame.AsSpan(PrefixLength + 2));
        return frame;
    }

    /// <summary>The payload of a reply body (one uncompressed gRPC message holding an <c>EchoMessage</c>).</summary>
    public static byte[] DecodeReply(ReadOnlySpan<byte> body)
    {
        if (body.Length < PrefixLength)
        {
            throw new FormatException($"A gRPC reply of {body.Length} bytes has no message prefix.");
        }

        if (body[0] != 0)
        {
            throw new FormatException("The gRPC reply is compressed.");
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
        var message = body[PrefixLength..];
        if (message.Length != length)
        {
            throw new FormatException($"The gRPC reply's prefix says {length} bytes, {message.Length} followed.");
        }

        if (message.Length == 0)
        {
            return []; // proto3 leaves an empty payload out
        }

        if (message.Length < 2 || message[0] != PayloadFieldTag || message[1] > 127 || message.Length != 2 + message[1])
        {
            throw new FormatException($"Not an EchoMessage: {Convert.ToHexString(message)}");
        }

        return message[2..].ToArray();
    }
}
