using System;
using System.Buffers.Binary;
using System.Net;

namespace Transport.IoUring.Interop;

/// <summary>struct sockaddr_in / sockaddr_in6 → <see cref="IPEndPoint"/>.</summary>
internal static unsafe class SocketAddressParser
{
    private const ushort AF_INET = 2;
    private const ushort AF_INET6 = 10;

    public static IPEndPoint? ToIPEndPoint(byte* address, uint length)
    {
        var bytes = new ReadOnlySpan<byte>(address, (int)Math.Min(length, 128u));
        if (bytes.Length < 2)
        {
            return null;
        }

        ushort family = BitConverter.ToUInt16(bytes);
        if (family == AF_INET && bytes.Length >= 8)
        {
            int port = BinaryPrimitives.ReadUInt16BigEndian(bytes.Slice(2));
            return new IPEndPoint(new IPAddress(bytes.Slice(4, 4)), port);
        }

        if (family == AF_INET6 && bytes.Length >= 28)
        {
            int port = BinaryPrimitives.ReadUInt16BigEndian(bytes.Slice(2));
            uint scopeId = BitConverter.ToUInt32(bytes.Slice(24));
            return new IPEndPoint(new IPAddress(bytes.Slice(8, 16), scopeId), port);
        }

        return null;
    }
}
