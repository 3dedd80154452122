using System;
using System.Diagnostics;
using System.Threading;
using Transport.IoUring.Interop;

namespace Transport.IoUring.Internal;

// The kernel objects of a ring: created on the ring's own thread when it starts (SINGLE_ISSUER
// allows only the creating task to submit), freed when its loop ends. Registered pipe memory is
// looked up here too.
internal sealed partial class RingThread
{
    private void Initialize()
    {
        if (_options.PinRingThreads)
        {
            LibC.PinCurrentThreadToCpu(Id % Environment.ProcessorCount);
        }

        // With SINGLE_ISSUER the creating thread is the only one allowed to submit, so the ring is
        // created here, on its own thread.
        uint flags = RingCapabilities.SetupFlagsFor(Features, out var features);
        Features = features;
        uint entries = (uint)_options.RingEntries;
        _ring = Ring.TryCreate(entries, entries * 4, flags, out int errno)
            ?? throw new RingException($"io_uring_setup({entries}) for ring {Id} failed", errno);

        if ((Features & RingFeatures.RegisteredRingFd) != 0 && !_ring.TryRegisterRingFd())
        {
            Features &= ~RingFeatures.RegisteredRingFd;
        }

        if (ReceiveMode == IoUringReceiveMode.BufferRing)
        {
            if ((Features & RingFeatures.ProvidedBufferRing) != 0)
            {
                _bufferRing = new ProvidedBufferRing(_ring, groupId: 1, _options.BufferRingEntries, _options.BufferRingBufferSize, incremental: (Features & RingFeatures.IncrementalBuffers) != 0);
            }
            else
            {
                IoUringLog.BufferRingUnavailable(_logger, Id);
                ReceiveMode = IoUringReceiveMode.PollAndReceive;
            }
        }

        // Bundles and incremental consumption are ways of using the provided-buffer ring; without
        // one (PollAndReceive) the ring does not use them, and says so in Features.
        if (_bufferRing is null)
        {
            Features &= ~(RingFeatures.ReceiveBundle | RingFeatures.IncrementalBuffers);
        }

        // Registered buffers serve reads straight into pipe memory, i.e. PollAndReceive; in
        // BufferRing mode the kernel writes only into the provided-buffer ring.
        if (ReceiveMode == IoUringReceiveMode.PollAndReceive && (Features & RingFeatures.RegisteredBuffers) != 0)
        {
            _registeredBuffers = RegisteredBufferTable.TryCreate(_ring, RegisteredSlabSlots, out _);
        }

        if (_registeredBuffers is null)
        {
            Features &= ~RingFeatures.RegisteredBuffers;
        }
        else
        {
            _registeredSlabs = new RegisteredSlabs(_registeredBuffers, MemoryPool, this, _logger);
        }

        ArmWake();
    }

    private void Teardown()
    {
        _registeredBuffers?.Dispose();
        _registeredBuffers = null;
        _bufferRing?.Dispose();
        _bufferRing = null;

        // Closing the ring cancels whatever is still in flight; the eventfd buffer is freed after it.
        bool wakeReadInFlight = _wakeArmed && _ring is not null;
        _ring?.Dispose();

        // A read the ring never completed may still name the buffer: then it is left to the process.
        _workQueue.Close(readInFlight: wakeReadInFlight);
        if (MemoryPool.RentedBlocks != 0)
        {
            IoUringLog.PoolBlocksRentedAtStop(_logger, Id, MemoryPool.RentedBlocks);
        }

        MemoryPool.Dispose();
        GatherLists.Dispose();
    }

    /// <summary>
    /// The registered-buffer index of the pool slab <paramref name="memory"/> lies in, registering
    /// the slab on first use; -1 when it is not (or cannot be) registered.
    /// </summary>
    public int GetFixedBufferIndex(Memory<byte> memory) => _registeredSlabs?.GetFixedBufferIndex(memory) ?? -1;
}
