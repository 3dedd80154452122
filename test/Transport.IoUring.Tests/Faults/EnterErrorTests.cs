using System;
using System.Linq;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Transport.IoUring.Tests.Http1;
using Xunit;
using Xunit.Abstractions;

namespace Transport.IoUring.Tests.Faults;

/// <summary>
/// io_uring_enter returning EINTR (a signal), EAGAIN or EBUSY (the kernel could not take or post
/// more yet): the ring retries on its next turn and loses nothing. The errors are injected in
/// place of every few enters (IoUringTransportOptions.SimulatedEnterErrno, internal).
/// </summary>
public class EnterErrorTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(4, 3)]   // EINTR on every 3rd enter
    [InlineData(11, 2)]  // EAGAIN on every 2nd
    [InlineData(16, 5)]  // EBUSY on every 5th
    public async Task FailedEntersAreRetriedAndEveryByteArrives(int errno, int interval)
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, o =>
        {
            o.RingCount = 1;
            o.SimulatedEnterErrno = errno;
            o.SimulatedEnterErrorInterval = interval;
        }, output: output);
        using var client = server.CreateClient();

        var work = Enumerable.Range(0, 16).Select(async i =>
        {
            byte[] body = TestData.Random(i, 64 * 1024 + i);
            for (int r = 0; r < 5; r++)
            {
                using var response = await client.PostAsync("/echo", new System.Net.Http.ByteArrayContent(body));
                Assert.Equal(SHA256.HashData(body), SHA256.HashData(await response.Content.ReadAsByteArrayAsync()));
                Assert.Equal("io_uring", response.Headers.GetValues(TestServer.TransportHeader).Single());
            }
        });
        await Task.WhenAll(work).WaitAsync(Bounded.Wait);

        var ring = server.Factory!.RingGroup.Rings!.Single();
        output.WriteLine($"errno {errno}: {ring.SimulatedEnterErrors} of the ring's enters failed");
        Assert.True(ring.SimulatedEnterErrors >= 3, "hardly any enter failed: the injection did not run");
        Assert.DoesNotContain(server.Logs.Entries, e => e.EventId.Name == "EnterFailed");
    }

    [Fact]
    public async Task AnUnexpectedEnterErrorIsLoggedOnceNotPerRetryAndTheRingKeepsServing()
    {
        await using var server = await TestServer.StartAsync(Http1App.Map, o =>
        {
            o.RingCount = 1;
            o.SimulatedEnterErrno = 14; // EFAULT: not one the loop expects
            o.SimulatedEnterErrorInterval = 2;
        }, output: output);
        using var client = server.CreateClient();
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(Http1App.Plaintext, await client.GetStringAsync("/plaintext"));
        }

        var ring = server.Factory!.RingGroup.Rings!.Single();
        int logged = server.Logs.Entries.Count(e => e.EventId.Name == "EnterFailed");
        output.WriteLine($"{ring.SimulatedEnterErrors} failed enters, {logged} EnterFailed log entries");
        Assert.True(ring.SimulatedEnterErrors > 1);
        Assert.Equal(1, logged);
    }
}
