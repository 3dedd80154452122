using System;
using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Transport.IoUring;

namespace PlatformServer;

/// <summary>
/// One connection's loop on Kestrel's connection pipes: read what arrived, answer every whole
/// request in it (pipelined requests are answered in one write), flush once, repeat. Nothing of
/// Kestrel's HTTP stack runs: the transport's pipes are the only layer between socket and response.
/// </summary>
internal sealed class PlatformConnectionHandler : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        bool servedByIoUring = connection.Features.Get<IIoUringConnectionFeature>() is not null;
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                var (wrote, close) = Answer(buffer, output, servedByIoUring, out var consumed);
                input.AdvanceTo(consumed, buffer.End);
                if (wrote)
                {
                    var flush = await output.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        break;
                    }
                }

                if (close || result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (ConnectionResetException)
        {
            // The client went away mid-request: nothing to answer.
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Answers the whole requests in <paramref name="buffer"/>. Returns whether anything was written
    /// and whether the connection ends (Connection: close, or a request that could not be parsed).
    /// </summary>
    internal static (bool Wrote, bool Close) Answer(in ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, bool servedByIoUring, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        bool wrote = false;
        bool close = false;
        while (!reader.End)
        {
            var status = Http1RequestParser.TryParse(ref reader, out var request);
            if (status == ParseStatus.Incomplete)
            {
                break;
            }

            wrote = true;
            if (status == ParseStatus.Invalid)
            {
                PlatformResponses.WriteBadRequest(output);
                close = true;
                break;
            }

            PlatformResponses.Write(output, request, servedByIoUring);
            if (!request.KeepAlive)
            {
                close = true;
                break;
            }
        }

        consumed = close ? buffer.End : reader.Position;
        return (wrote, close);
    }
}
