using System;
using System.Collections.Concurrent;
using System.Threading;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

/// <summary>
/// Work other threads post to a ring thread (aborts, output that became readable, acceptors), and
/// the eventfd that wakes the ring while it sleeps in io_uring_enter. The ring keeps a read armed on
/// the eventfd and says when it is about to block (<see cref="TryPark"/>); a poster writes the
/// eventfd only then, so a busy ring is never woken by a syscall.
/// </summary>
internal sealed class RingWorkQueue : IDisposable
{
    // Bounded per turn: work posted faster than it runs waits for the next turn, so completions keep flowing.
    private const int MaxItemsPerTurn = 4096;

    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _items = new();
    private readonly EventFd _eventFd = new();

    // 1 while the ring thread is (about to be) blocked in io_uring_enter.
    private int _parked;

    public EventFd EventFd => _eventFd;

    public bool IsEmpty => _items.IsEmpty;

    /// <summary>Queues work for the ring thread and wakes it if it sleeps. Any thread.</summary>
    public void Post(Action<object?> action, object? state)
    {
        _items.Enqueue((action, state));
        if (Volatile.Read(ref _parked) == 1 && Interlocked.Exchange(ref _parked, 0) == 1)
        {
            _eventFd.Signal();
        }
    }

    /// <summary>Ring thread: runs what was posted, at most a turn's worth; an item that throws is reported and the rest run.</summary>
    public void RunPending(Action<Exception> onError)
    {
        for (int i = 0; i < MaxItemsPerTurn && _items.TryDequeue(out var item); i++)
        {
            try
            {
                item.Action(item.State);
            }
            catch (Exception ex)
            {
                onError(ex);
            }
        }
    }

    /// <summary>
    /// Ring thread, before a waiting io_uring_enter: true when the ring may block (posters will
    /// signal from now on), false when work arrived meanwhile.
    /// </summary>
    public bool TryPark()
    {
        Volatile.Write(ref _parked, 1);
        Interlocked.MemoryBarrier();
        if (_items.IsEmpty)
        {
            return true;
        }

        Volatile.Write(ref _parked, 0);
        return false;
    }

    /// <summary>Ring thread, after the waiting io_uring_enter returned.</summary>
    public void Unpark() => Volatile.Write(ref _parked, 0);

    /// <summary>Closes the eventfd once no poster is inside its write (see <see cref="EventFd"/>); posts after it only queue.</summary>
    public void Close(bool readInFlight) => _eventFd.Close(readInFlight);

    public void Dispose() => Close(readInFlight: false);
}
