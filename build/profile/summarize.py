"""Summarizes one build/profile-server.sh run: where the server's CPU went (shares of perf samples,
classified by the sampled stack), its send sizes, context switches and CPU per request."""
import collections
import re
import subprocess
import sys

out, transport, duration, ticks, clk_tck = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

SEND = ('tcp_sendmsg', 'io_sendmsg', 'io_send', '__sys_sendmsg', '__sys_sendto', 'sock_sendmsg')
RECEIVE = ('tcp_recvmsg', 'io_recv', 'sock_recvmsg', '__sys_recvfrom', '__sys_recvmsg')
LOOPBACK_RX = ('__netif_receive_skb', 'process_backlog', 'ip_rcv', 'tcp_v4_rcv', 'ip_local_deliver')
COPY = re.compile(r'(_copy_from_iter|copy_user|rep_movs|__copy|memcpy|copy_from_user|skb_copy)')
WAIT = ('schedule', '__schedule', 'do_sched_yield', '__x64_sys_sched_yield', 'futex', 'do_futex', '__x64_sys_futex',
        'io_cqring_wait', 'ep_poll', 'do_epoll_wait', 'finish_task_switch', 'try_to_wake_up')
USER = [('Transport.IoUring', 'transport: io_uring'),
        ('System.Net.Sockets', 'transport: Sockets (System.Net.Sockets)'),
        ('Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets', 'transport: Sockets (Kestrel part)'),
        ('System.IO.Pipelines', 'pipes'),
        ('Microsoft.AspNetCore.Server.Kestrel', 'Kestrel'),
        ('Microsoft.AspNetCore', 'ASP.NET Core (hosting, routing, endpoint)'),
        ('Microsoft.Extensions', 'ASP.NET Core (hosting, routing, endpoint)'),
        ('WebApp', 'app'), ('Program', 'app'),
        ('System.Threading', 'thread pool, tasks, locks'),
        ('System.', 'CoreLib, other')]


def category(frames):
    if not frames:
        return 'unknown'
    leaf, dso = frames[0]
    names = [f[0] for f in frames]
    if '[kernel' in dso or dso.startswith('['):
        if any(n.startswith(SEND) for n in names):
            if any(n.startswith(LOOPBACK_RX) for n in names):
                return 'kernel: send → loopback delivery to the client socket'
            if COPY.match(leaf):
                return 'kernel: send → copy into socket buffers'
            return 'kernel: send → TCP/IP, skbs, locks'
        if any(n.startswith(RECEIVE) for n in names):
            return 'kernel: receive'
        if any(n.startswith(WAIT) for n in names):
            return 'kernel: scheduling, waits, wake-ups'
        if any(n.startswith(('net_rx_action', 'handle_softirqs', '__do_softirq')) for n in names):
            return 'kernel: softirq (ACKs, timers)'
        if any('io_uring' in n or n.startswith('io_') for n in names):
            return 'kernel: io_uring other (submit, CQEs, task work, poll)'
        if any('epoll' in n for n in names):
            return 'kernel: epoll'
        if any('page_fault' in n for n in names):
            return 'kernel: page faults'
        return 'kernel: other'
    low = leaf.lower()
    if 'memmove' in low or 'memcpy' in low:
        if any('DownloadPattern' in n or 'WebApp' in n or 'Program' in n for n, _ in frames):
            return 'user: the app copying the body into pipe memory'
        return 'user: memmove, other callers'
    if 'memset' in low or 'clearwithoutreferences' in low:
        return 'user: memset'
    for prefix, name in USER:
        if leaf.startswith(prefix) or ('[' + prefix) in leaf:
            return 'user: ' + name
    if 'libcoreclr' in dso or 'libclrjit' in dso:
        return 'user: runtime (GC, stubs, thread pool)'
    if 'libc' in dso or 'libSystem.Native' in dso:
        return 'user: libc, System.Native'
    return 'user: unresolved'


def samples(path):
    text = subprocess.run(['perf', 'script', '-i', path, '-F', 'comm,tid,ip,sym,dso'],
                          capture_output=True, text=True, errors='replace').stdout
    frames = None
    for line in text.split('\n'):
        if not line.strip():
            if frames is not None:
                yield frames
            frames = None
        elif not line[0].isspace():
            frames = []
        else:
            m = re.match(r'\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$', line)
            if m and frames is not None:
                frames.append((m.group(1), m.group(2)))
    if frames is not None:
        yield frames


def requests(load_file):
    m = re.search(r'2xx - (\d+)', open(load_file).read())
    return int(m.group(1)) if m else 0


counts = collections.Counter(category(f) for f in samples(f'{out}/perf.data'))
total = sum(counts.values())
reqs = requests(f'{out}/load-trace.txt')
cpu_us = ticks / clk_tck * 1e6 / reqs if reqs else float('nan')
print(f'{transport}: {reqs / duration:,.0f} req/s, {cpu_us:,.0f} CPU-µs per request (trace run); {total} samples (profile run)')
for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
    print(f'{100 * n / total:6.1f} %  {n / total * cpu_us:7.0f} µs  {name}')

trace = subprocess.run(['perf', 'script', '-i', f'{out}/trace.data', '-F', 'event,trace'],
                       capture_output=True, text=True, errors='replace').stdout
sizes = []
for line in trace.split('\n'):
    m = re.search(r'result (-?\d+)', line) or re.search(r'0x([0-9a-f]+)\s*$', line)
    if 'io_uring_complete' in line and m:
        sizes.append(int(m.group(1)))
    elif 'sys_exit_send' in line and m:
        sizes.append(int(m.group(1), 16))
data = [s for s in sizes if 0 < s < 1 << 31 and s > 1024]
reqs_profiled = requests(f'{out}/load-trace.txt') * (duration - 1) / duration
if data:
    full = sum(1 for s in data if s >= 65536)
    print(f'sends of > 1 KiB: {len(data)}, {sum(data) / len(data):,.0f} B on average, '
          f'{len(data) / reqs_profiled:.1f} per request; {100 * full / len(data):.0f} % of them ≥ 64 KiB')
stat = open(f'{out}/stat.txt').read()
m = re.search(r'([\d,]+)\s+context-switches', stat)
if m:
    print(f'context switches: {int(m.group(1).replace(",", "")) / reqs_profiled:.2f} per request')
