using System;
using System.IO.Pipelines;

namespace Transport.IoUring.Internal;

/// <summary>
/// The reader scheduler of a ring's output pipes: where the transport reads what the application
/// flushed. On the ring thread (inline scheduling, aborts) the read waits for the ring's next turn,
/// so a turn's flushes are coalesced into one send per connection. On any other thread it runs at
/// once, on the flushing thread: <see cref="IoUringConnection"/> then sends a large flush itself
/// with a non-blocking send(2) and hands small ones to the ring, which batches them.
/// </summary>
internal sealed class RingOutputScheduler(RingThread ring) : PipeScheduler
{
    public override void Schedule(Action<object?> action, object? state)
    {
        if (ring.IsOnRingThread)
        {
            ring.Schedule(action, state);
        }
        else
        {
            action(state);
        }
    }
}
