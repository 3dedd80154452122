using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using Transport.IoUring.Interop;

namespace Transport.IoUring.MicroBenchmarks;

/// <summary>
/// IORING_OP_SEND against IORING_OP_SEND_ZC (plain and from a registered buffer) over one TCP
/// connection, on loopback or (<c>--veth</c>, as root) across a veth pair between two network
/// namespaces that the probe creates and removes (<see cref="ProbeVethPair"/>): the sender thread (CPU 0) sends one buffer of each size through a ring, one send
/// in flight at a time as the transport sends per connection, and reaps the zero-copy notifications
/// as they come (all of them before the clock stops); a receiver thread (CPU 1) drains the
/// other end. Reports wall and CPU time per send (whole process, and the sender thread alone, which
/// on loopback and on a veth pair alike also pays the delivery to the receiving socket) and whether the kernel reported the
/// zero-copy data as copied (IORING_SEND_ZC_REPORT_USAGE).
/// <code>dotnet run -c Release --project build/Transport.IoUring.MicroBenchmarks -- send-zc [seconds per measurement] [--veth]</code>
/// </summary>
internal static unsafe partial class SendZeroCopyProbe
{
    private const int RusageSelf = 0;
    private const int RusageThread = 1;
    private const int MaxSize = 1 << 20;

    private enum Mode { Send, SendZc, SendZcFixed }

    public static int Run(string[] args)
    {
        bool veth = Array.IndexOf(args, "--veth") >= 0;
        string[] positional = Array.FindAll(args, a => !a.StartsWith("--", StringComparison.Ordinal));
        double seconds = positional.Length > 1 ? double.Parse(positional[1], System.Globalization.CultureInfo.InvariantCulture) : 1.0;
        if (!veth)
        {
            return Run(seconds, "loopback", Loopback());
        }

        using var pair = new ProbeVethPair();
        pair.Create();
        Console.WriteLine($"veth: {pair.Describe()}");
        return Run(seconds, "veth", pair.Connect());
    }

    private static (Socket Sender, Socket Receiver) Loopback()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        receiver.Connect(listener.LocalEndPoint!);
        return (listener.Accept(), receiver);
    }

    private static int Run(double seconds, string path, (Socket Sender, Socket Receiver) connection)
    {
        int[] sizes = [4096, 16384, 65536, 262144, MaxSize];
        using var sender = connection.Sender;
        using var receiver = connection.Receiver;
        sender.NoDelay = true;
        int fd = (int)sender.SafeHandle.DangerousGetHandle();

        bool stop = false;
        var drain = new Thread(() =>
        {
            LibC.PinCurrentThreadToCpu(1);
            var sink = new byte[MaxSize];
            while (!Volatile.Read(ref stop))
            {
                if (receiver.Receive(sink) == 0)
                {
                    return;
                }
            }
        }) { IsBackground = true, Name = "receiver" };
        drain.Start();

        LibC.PinCurrentThreadToCpu(0);
        uint flags = SetupFlags.SingleIssuer | SetupFlags.DeferTaskrun | SetupFlags.SubmitAll;
        var ring = Ring.TryCreate(64, 256, flags, out int errno)
            ?? throw new InvalidOperationException($"io_uring_setup failed: errno {errno}");

        byte* buffer = (byte*)NativeMemory.AlignedAlloc(MaxSize, 4096);
        new Span<byte>(buffer, MaxSize).Fill((byte)'x');
        var iov = new IoVec { Base = buffer, Length = MaxSize };
        bool fixedBuffer = ring.Register(RegisterOp.RegisterBuffers, &iov, 1) == 0;

        Console.WriteLine($"kernel {Environment.OSVersion.VersionString}; over {path}; registered buffer: {fixedBuffer}; {seconds:0.#} s per measurement, modes interleaved, 3 rounds");
        Console.WriteLine("| size | mode | sends/s | MB/s | wall µs/send | process CPU-µs/send | sender CPU-µs/send | notifications reporting a copy |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        var modes = fixedBuffer ? new[] { Mode.Send, Mode.SendZc, Mode.SendZcFixed } : new[] { Mode.Send, Mode.SendZc };
        try
        {
            foreach (int size in sizes)
            {
                foreach (var mode in modes)
                {
                    Measure(ring, fd, buffer, size, mode, TimeSpan.FromSeconds(0.2)); // warm-up
                }

                for (int round = 0; round < 3; round++)
                {
                    foreach (var mode in modes)
                    {
                        var r = Measure(ring, fd, buffer, size, mode, TimeSpan.FromSeconds(seconds));
                        Console.WriteLine($"| {size / 1024} KiB | {Name(mode)} | {r.Sends / r.Wall:N0} | {r.Sends * (double)size / r.Wall / 1e6:N0} | {r.Wall * 1e6 / r.Sends:0.00} | {r.ProcessCpu * 1e6 / r.Sends:0.00} | {r.SenderCpu * 1e6 / r.Sends:0.00} | {(mode == Mode.Send ? "—" : $"{r.Copied} of {r.Notifications}")} |");
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            sender.Shutdown(SocketShutdown.Send);
            drain.Join();

            // Nothing is in flight here; closing the ring unregisters the buffer before it is freed.
            ring.Dispose();
            NativeMemory.AlignedFree(buffer);
        }

        return 0;
    }

    private static string Name(Mode mode) => mode switch
    {
        Mode.Send => "SEND",
        Mode.SendZc => "SEND_ZC",
        _ => "SEND_ZC, registered buffer",
    };

    private readonly record struct Result(long Sends, double Wall, double ProcessCpu, double SenderCpu, long Notifications, long Copied);

    private static Result Measure(Ring ring, int fd, byte* buffer, int size, Mode mode, TimeSpan duration)
    {
        Span<Completion> cqes = stackalloc Completion[16];
        long sends = 0, notifications = 0, copied = 0;
        double process0 = CpuSeconds(RusageSelf), thread0 = CpuSeconds(RusageThread);
        var clock = Stopwatch.StartNew();
        long pendingNotifications = 0;
        while (clock.Elapsed < duration)
        {
            int sent = 0;
            while (sent < size)
            {
                // Zeroed by the ring; never null, as only this one send is ever in flight.
                Sqe* sqe = ring.TryGetSqe();
                SqePrep.Send(sqe, fd, buffer + sent, (uint)(size - sent), msgFlags: 0, userData: 1);
                if (mode != Mode.Send)
                {
                    // SEND_ZC takes SEND's fields, its own flags in ioprio, and the registered
                    // buffer's index in buf_index (0: the only one).
                    sqe->Opcode = Opcode.SendZc;
                    sqe->IoPrio = mode == Mode.SendZcFixed ? (ushort)(IoPrioFlags.SendZcReportUsage | IoPrioFlags.RecvSendFixedBuf) : IoPrioFlags.SendZcReportUsage;
                }

                // As a transport would: the next send goes as soon as this one's result is in; the
                // zero-copy notification (after which the buffer could be reused) is reaped whenever
                // it comes. The buffer's bytes never change here, so reusing it early is harmless.
                ring.SubmitAndWait(1);
                int result = int.MinValue;
                while (result == int.MinValue)
                {
                    int n = ring.ReapCompletions(cqes);
                    if (n == 0)
                    {
                        ring.SubmitAndWait(1);
                        continue;
                    }

                    for (int i = 0; i < n; i++)
                    {
                        if (!CountNotification(in cqes[i], ref notifications, ref copied, ref pendingNotifications))
                        {
                            result = cqes[i].Result;
                            if ((cqes[i].Flags & CqeFlags.More) != 0)
                            {
                                pendingNotifications++;
                            }
                        }
                    }
                }

                if (result < 0)
                {
                    throw new InvalidOperationException($"{Name(mode)} of {size} bytes failed: errno {-result}");
                }

                sent += result;
            }

            sends++;
        }

        // Every buffer released before the clock stops.
        while (pendingNotifications > 0)
        {
            ring.SubmitAndWait(1);
            int n = ring.ReapCompletions(cqes);
            for (int i = 0; i < n; i++)
            {
                CountNotification(in cqes[i], ref notifications, ref copied, ref pendingNotifications);
            }
        }

        double wall = clock.Elapsed.TotalSeconds;
        return new Result(sends, wall, CpuSeconds(RusageSelf) - process0, CpuSeconds(RusageThread) - thread0, notifications, copied);
    }

    private static bool CountNotification(in Completion cqe, ref long notifications, ref long copied, ref long pending)
    {
        if ((cqe.Flags & CqeFlags.Notif) == 0)
        {
            return false;
        }

        notifications++;
        pending--;
        if (((uint)cqe.Result & CqeFlags.NotifUsageZcCopied) != 0)
        {
            copied++;
        }

        return true;
    }

    private static double CpuSeconds(int who)
    {
        Rusage usage;
        if (GetRusage(who, &usage) != 0)
        {
            throw new InvalidOperationException("getrusage failed");
        }

        return usage.UserSec + usage.UserUsec / 1e6 + usage.SysSec + usage.SysUsec / 1e6;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Rusage
    {
        public long UserSec, UserUsec, SysSec, SysUsec;
        public fixed long Rest[14];
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, Rusage* usage);
}
