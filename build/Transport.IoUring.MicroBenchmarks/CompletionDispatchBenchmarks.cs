using System;
using BenchmarkDotNet.Attributes;
using Transport.IoUring.Internal;
using Transport.IoUring.Interop;

namespace Transport.IoUring.MicroBenchmarks;

/// <summary>
/// CQE reaping and dispatch: NOP completions carrying the transport's user_data layout (kind |
/// generation | slot) are reaped from a real ring and dispatched the way RingThread.Dispatch does
/// it: decode, bounds and generation check against the slot table, switch on the kind. The
/// in-memory variant runs the same dispatch over CQEs already copied out, without the ring.
/// </summary>
public unsafe class CompletionDispatchBenchmarks
{
    private const int Slots = 1024;
    private Ring _ring = null!;
    private Completion[] _cqes = null!;
    private Completion[] _recorded = null!;
    private readonly uint[] _generations = new uint[Slots];
    private readonly Counter?[] _connections = new Counter?[Slots];

    [Params(16, 256)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        uint flags = SetupFlags.SingleIssuer | SetupFlags.DeferTaskrun | SetupFlags.SubmitAll;
        _ring = Ring.TryCreate(1024, 4096, flags, out int errno)
            ?? Ring.TryCreate(1024, 4096, SetupFlags.SubmitAll, out errno)
            ?? throw new InvalidOperationException($"io_uring_setup failed: errno {errno}");
        _cqes = new Completion[4096];
        _recorded = new Completion[Batch];
        for (int slot = 0; slot < Slots; slot++)
        {
            _generations[slot] = (uint)slot & 7;
            _connections[slot] = new Counter();
        }

        for (int i = 0; i < Batch; i++)
        {
            int slot = i * 37 % Slots;
            var kind = (i % 3) switch { 0 => OperationKind.Recv, 1 => OperationKind.Send, _ => OperationKind.HangUpPoll };
            _recorded[i] = new Completion(UserData.Pack(kind, slot, _generations[slot]), 64, 0);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _ring.Dispose();

    [Benchmark(Description = "submit Batch NOPs, reap and dispatch")]
    public int ReapAndDispatch()
    {
        for (int i = 0; i < Batch; i++)
        {
            SqePrep.Nop(_ring.TryGetSqe(), _recorded[i].UserData);
        }

        _ring.SubmitAndWait((uint)Batch);
        int reaped = 0;
        while (reaped < Batch)
        {
            int count = _ring.ReapCompletions(_cqes.AsSpan(reaped));
            for (int i = reaped; i < reaped + count; i++)
            {
                Dispatch(in _cqes[i]);
            }

            reaped += count;
        }

        return reaped;
    }

    [Benchmark(Description = "dispatch Batch recorded CQEs (no ring)")]
    public int DispatchOnly()
    {
        var cqes = _recorded;
        for (int i = 0; i < cqes.Length; i++)
        {
            Dispatch(in cqes[i]);
        }

        return cqes.Length;
    }

    private void Dispatch(in Completion cqe)
    {
        ulong userData = cqe.UserData;
        int slot = UserData.Slot(userData);
        uint generation = UserData.Generation(userData);
        switch (UserData.Kind(userData))
        {
            case OperationKind.HangUpPoll:
            case OperationKind.Recv:
            case OperationKind.Send:
                var connection = slot < _connections.Length ? _connections[slot] : null;
                if (connection is null || _generations[slot] != generation)
                {
                    break;
                }

                switch (UserData.Kind(userData))
                {
                    case OperationKind.HangUpPoll: connection.Polls++; break;
                    case OperationKind.Recv: connection.Bytes += cqe.Result; break;
                    default: connection.Sends++; break;
                }

                break;
        }
    }

    private sealed class Counter
    {
        public long Polls;
        public long Bytes;
        public long Sends;
    }
}
