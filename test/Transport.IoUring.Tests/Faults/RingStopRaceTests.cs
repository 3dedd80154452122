using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using Transport.IoUring.Internal;
using Transport.IoUring.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Faults;

/// <summary>
/// Other threads post work to a ring and write its eventfd to wake it; the ring closes that eventfd
/// when it stops. A post racing the stop must never write into whatever file gets the eventfd's
/// number next. The race is widened on purpose: every signaller sleeps between deciding to write and
/// writing (EventFd.BeforeSignalWrite), while the ring stops under it.
/// </summary>
public partial class RingStopRaceTests(ITestOutputHelper output)
{
    private const int Rounds = 20;

    /// <summary>
    /// The race, made to happen every time: a poster decides to wake the parked ring and is held
    /// just before its write; the ring is woken by something else (a timeout), stops, and closes its
    /// eventfd; the fd numbers it freed are taken; then the poster is let go. Its write must not
    /// land in any of them.
    /// </summary>
    [Fact]
    public async Task APosterHeldBeforeItsWakeUpWriteWhileTheRingStopsWritesIntoNoReusedFd()
    {
        for (int round = 0; round < 10; round++)
        {
            var ring = new RingThread(0, new IoUringTransportOptions { RingCount = 1 }, RingCapabilities.Current, NullLoggerFactory.Instance);
            ring.Start();
            int eventFd = ring.WorkQueue.EventFd.Fd;
            // Something other than the eventfd to wake the ring in 200 ms (its completion is ignored).
            using var timeout = new TimeoutSpec();
            timeout.Set(200);
            var armed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ring.Schedule(_ =>
            {
                ring.Wait(timeout, UserData.Pack(OperationKind.Cancel, 0, 0));
                armed.SetResult();
            }, null);
            await armed.Task.WaitAsync(TimeSpan.FromSeconds(30));

            using var inWindow = new ManualResetEventSlim();
            using var release = new ManualResetEventSlim();
            ring.WorkQueue.EventFd.BeforeSignalWrite = () =>
            {
                inWindow.Set();
                release.Wait(TimeSpan.FromSeconds(5));
            };

            // Once the ring is parked, a post decides to wake it and is held inside the window.
            Task poster = Task.Run(async () =>
            {
                for (int i = 0; i < 500 && !inWindow.IsSet; i++)
                {
                    ring.Schedule(static _ => { }, null);
                    await Task.Delay(1);
                }
            });
            Assert.True(inWindow.Wait(TimeSpan.FromSeconds(10)), "no post ever found the ring parked");

            // The stop is queued without a wake-up; the timeout wakes the ring, which stops.
            var stopped = ring.StopAsync(Environment.TickCount64 + RingThread.StopTimeoutMs);
            await Task.WhenAny(stopped, Task.Delay(500));

            var canaries = new List<int>();
            for (int i = 0; i < 8; i++)
            {
                canaries.Add(LibC.EventFd(0, SocketConstants.EFD_CLOEXEC | SocketConstants.EFD_NONBLOCK));
            }

            release.Set();
            await stopped.WaitAsync(TimeSpan.FromSeconds(30));
            await poster.WaitAsync(TimeSpan.FromSeconds(30));
            AssertNothingWritten(canaries, eventFd, round);
        }
    }

    [Fact]
    public async Task RingsStopCleanlyUnderConcurrentPostsAndNoPostWritesIntoAReusedFd()
    {
        int reused = 0;
        for (int round = 0; round < Rounds; round++)
        {
            var ring = new RingThread(0, new IoUringTransportOptions { RingCount = 1 }, RingCapabilities.Current, NullLoggerFactory.Instance);
            ring.Start();
            ring.WorkQueue.EventFd.BeforeSignalWrite = () => Thread.Sleep(5);
            int eventFd = ring.WorkQueue.EventFd.Fd;

            using var stop = new CancellationTokenSource();
            var posters = new List<Task>();
            for (int p = 0; p < 3; p++)
            {
                posters.Add(Task.Run(async () =>
                {
                    // Bounded: at most ~2 s of posting per poster and round.
                    for (int i = 0; i < 2000 && !stop.IsCancellationRequested; i++)
                    {
                        ring.Schedule(static _ => { }, null);
                        await Task.Yield();
                    }
                }));
            }

            await Task.Delay(2);
            await ring.StopAsync(Environment.TickCount64 + RingThread.StopTimeoutMs).WaitAsync(TimeSpan.FromSeconds(30));

            // Take the fd numbers just freed, as the next accept or file open would.
            var canaries = new List<int>();
            for (int i = 0; i < 8; i++)
            {
                canaries.Add(LibC.EventFd(0, SocketConstants.EFD_CLOEXEC | SocketConstants.EFD_NONBLOCK));
            }

            reused += canaries.Contains(eventFd) ? 1 : 0;
            await Task.Delay(20); // any signaller caught in its sleep has written by now
            stop.Cancel();
            await Task.WhenAll(posters).WaitAsync(TimeSpan.FromSeconds(30));
            AssertNothingWritten(canaries, eventFd, round);
        }

        output.WriteLine($"{Rounds} stops under concurrent posts; the eventfd's number was taken by a canary in {reused} of them");
    }

    private static void AssertNothingWritten(List<int> canaries, int eventFd, int round)
    {
        foreach (int canary in canaries)
        {
            ulong value = 0;
            long read = Read(canary, ref value, sizeof(ulong));
            LibC.Close(canary);
            Assert.True(read < 0, $"round {round}: a post after the stop wrote {value} into fd {canary} (the ring's eventfd was {eventFd})");
        }
    }

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial long Read(int fd, ref ulong buffer, nuint count);
}
