/*
 * Measures what one io_uring ring is charged to RLIMIT_MEMLOCK: for a ring of SQ/CQ entries and
 * setup flags, plus a provided-buffer ring of PBUF entries and REG bytes of registered buffer, the
 * smallest limit under which it can be created, by binary search (4 KiB steps, 8 MiB at most).
 * Each trial runs in a child that lowers RLIMIT_MEMLOCK and becomes a user id of its own (no
 * capabilities, so CAP_IPC_LOCK does not lift the limit; a fresh id because the kernel charges the
 * user, and frees rings asynchronously). Run as root:
 *   cc -O2 -o ring-memlock build/memlock/ring-memlock.c
 *   ./ring-memlock SQ CQ FLAGS PBUF [REG]      e.g. ./ring-memlock 1024 4096 0x3080 512
 * Results on 6.18: docs/configuration.md, "Locked memory".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <linux/io_uring.h>

static int uid_next;
/* returns 0 if ok, errno otherwise */
static int trial(unsigned sq, unsigned cq, unsigned flags, unsigned pbuf, unsigned regbufbytes, long limit)
{
    int uid = uid_next++;
    pid_t p = fork();
    if (p == 0) {
        struct rlimit rl = { limit, limit };
        if (setrlimit(RLIMIT_MEMLOCK, &rl)) _exit(200);
        if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) _exit(201);
        struct io_uring_params pa; memset(&pa, 0, sizeof pa);
        pa.flags = flags | IORING_SETUP_CQSIZE; pa.cq_entries = cq;
        int fd = syscall(__NR_io_uring_setup, sq, &pa);
        if (fd < 0) _exit(errno);
        if (pbuf) {
            void *m = mmap(0, pbuf * 16, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
            struct io_uring_buf_reg r; memset(&r, 0, sizeof r);
            r.ring_addr = (unsigned long)m; r.ring_entries = pbuf; r.bgid = 1;
            int ret = syscall(__NR_io_uring_register, fd, IORING_REGISTER_PBUF_RING, &r, 1);
            if (ret < 0) _exit(100 + errno);
        }
        if (regbufbytes) {
            void *m = mmap(0, regbufbytes, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
            memset(m, 1, regbufbytes);
            struct iovec iov = { m, regbufbytes };
            int ret = syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS, &iov, 1);
            if (ret < 0) _exit(150 + errno);
        }
        _exit(0);
    }
    int st; waitpid(p, &st, 0);
    return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
    uid_next = 100000 + (getpid() % 5000) * 200; unsigned sq = atoi(argv[1]), cq = atoi(argv[2]), flags = strtoul(argv[3], 0, 0), pbuf = atoi(argv[4]), reg = argc > 5 ? atoi(argv[5]) : 0;
    long lo = 0, hi = 8L << 20; /* lo fails?, hi works */
    if (trial(sq, cq, flags, pbuf, reg, 0) == 0) { printf("sq=%u cq=%u pbuf=%u reg=%u: works with 0\n", sq, cq, pbuf, reg); return 0; }
    if (trial(sq, cq, flags, pbuf, reg, hi) != 0) { printf("fails at 64MiB: %d\n", trial(sq,cq,flags,pbuf,reg,hi)); return 1; }
    while (hi - lo > 4096) { long mid = (lo + hi) / 2 / 4096 * 4096; if (mid <= lo) mid = lo + 4096; if (trial(sq, cq, flags, pbuf, reg, mid) == 0) hi = mid; else lo = mid; }
    printf("sq=%u cq=%u flags=0x%x pbuf=%u reg=%u: min memlock %ld bytes (%ld pages)\n", sq, cq, flags, pbuf, reg, hi, hi / 4096);
    return 0;
}
