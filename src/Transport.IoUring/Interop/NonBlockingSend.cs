using System;
using System.Buffers;

namespace Transport.IoUring.Interop;

/// <summary>send(2)/sendmsg(2) with MSG_DONTWAIT, for a flushing thread that sends without the ring.</summary>
internal static unsafe class NonBlockingSend
{
    /// <summary>
    /// Sends what the socket takes at once of <paramref name="buffer"/> (at most
    /// <see cref="IoVecBuffer.Capacity"/> segments of it) and returns the bytes sent; on failure 0
    /// and <paramref name="errno"/> (EAGAIN when the socket buffer is full).
    /// </summary>
    public static long Send(int fd, in ReadOnlySequence<byte> buffer, IoVecBuffer iovecs, MemoryHandle[] pins, out int errno)
    {
        const int Flags = SocketConstants.MSG_NOSIGNAL | SocketConstants.MSG_DONTWAIT;
        long sent;
        if (buffer.IsSingleSegment)
        {
            using var pin = buffer.First.Pin();
            sent = LibC.Send(fd, pin.Pointer, (nuint)buffer.First.Length, Flags);
        }
        else
        {
            int count = 0;
            try
            {
                foreach (var segment in buffer)
                {
                    if (segment.IsEmpty)
                    {
                        continue;
                    }

                    if (count == iovecs.Capacity || count == pins.Length)
                    {
                        break; // the rest goes in the next send
                    }

                    pins[count] = segment.Pin();
                    iovecs.Set(count, (nint)pins[count].Pointer, segment.Length);
                    count++;
                }

                iovecs.Seal(count);
                sent = LibC.SendMsg(fd, iovecs.Header, Flags);
            }
            finally
            {
                for (int i = 0; i < count; i++)
                {
                    pins[i].Dispose();
                    pins[i] = default;
                }
            }
        }

        errno = sent < 0 ? LibC.LastErrno : 0;
        return Math.Max(sent, 0);
    }
}
