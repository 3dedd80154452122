using System;
using BenchmarkDotNet.Attributes;
using Transport.IoUring.Internal;
using Transport.IoUring.Interop;

namespace Transport.IoUring.MicroBenchmarks;

/// <summary>
/// SQE preparation and submission batching through a real ring: <see cref="Batch"/> NOPs are
/// prepared, submitted with one io_uring_enter, and their CQEs reaped. Divide by Batch for the
/// cost per operation: the syscall is paid once per batch, which is why the ring thread submits
/// everything prepared in a loop turn at once.
/// </summary>
[MemoryDiagnoser]
public unsafe class RingSubmissionBenchmarks
{
    private Ring _ring = null!;
    private Completion[] _cqes = null!;
    private Sqe[] _scratch = null!;

    [Params(1, 16, 256)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // The transport's flags. SINGLE_ISSUER ties the ring to this thread; BenchmarkDotNet runs
        // the setup and the iterations on the same thread.
        uint flags = SetupFlags.SingleIssuer | SetupFlags.DeferTaskrun | SetupFlags.SubmitAll;
        _ring = Ring.TryCreate(1024, 4096, flags, out int errno)
            ?? Ring.TryCreate(1024, 4096, SetupFlags.SubmitAll, out errno)
            ?? throw new InvalidOperationException($"io_uring_setup failed: errno {errno}");
        _ring.TryRegisterRingFd();
        _cqes = new Completion[4096];
        _scratch = GC.AllocateArray<Sqe>(256, pinned: true);
    }

    [GlobalCleanup]
    public void Cleanup() => _ring.Dispose();

    [Benchmark(Description = "prepare Batch NOPs, one enter, reap")]
    public int PrepareSubmitReap()
    {
        for (int i = 0; i < Batch; i++)
        {
            SqePrep.Nop(_ring.TryGetSqe(), UserData.Pack(OperationKind.Recv, i, 1));
        }

        _ring.SubmitAndWait((uint)Batch);
        int reaped = 0;
        while (reaped < Batch)
        {
            reaped += _ring.ReapCompletions(_cqes.AsSpan(reaped));
        }

        return reaped;
    }

    [Benchmark(Description = "prepare Batch NOPs, one enter per NOP, reap")]
    public int PrepareSubmitEachReap()
    {
        for (int i = 0; i < Batch; i++)
        {
            SqePrep.Nop(_ring.TryGetSqe(), UserData.Pack(OperationKind.Recv, i, 1));
            _ring.SubmitAndWait(1);
        }

        int reaped = 0;
        while (reaped < Batch)
        {
            reaped += _ring.ReapCompletions(_cqes.AsSpan(reaped));
        }

        return reaped;
    }

    [Benchmark(Description = "prepare Batch SQEs only (no syscall)")]
    public uint PrepareOnly()
    {
        // SQEs filled in ordinary memory instead of the ring: the cost of filling alone.
        fixed (Sqe* sqes = _scratch)
        {
            for (int i = 0; i < Batch; i++)
            {
                sqes[i] = default;
                SqePrep.Nop(&sqes[i], UserData.Pack(OperationKind.Send, i, 1));
            }

            return sqes[Batch - 1].UserData == 0 ? 0u : 1u;
        }
    }
}
