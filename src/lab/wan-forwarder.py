#!/usr/bin/env python3
"""flanprov lab WAN emulator (`flanprov lab up --wan RTT,RATE`, docs/lab-wan.md).

An L2 forwarder between two interfaces of the lab's WAN namespace: every frame received on one is sent out
of the other DELAY later (RTT/2 each way). The kernel here has no netem qdisc, so the delay is made in user
space; the rate limit is the kernel's tbf qdisc on both interfaces (set up by the lab, not here).

AF_PACKET raw sockets with PACKET_VNET_HDR: a GSO/TSO "super frame" (up to 64 KB, what a veth hands over)
is received whole with its virtio-net header and sent on whole, so the kernel segments it where it would
anyway (tbf segments what exceeds its burst): one Python wake-up per super frame, not per 1500-byte packet.
Frames wait in one FIFO per direction (a constant delay keeps them in order); a direction's queue is capped
(--max-queue-bytes) so a flood is dropped here rather than eating memory. Standard library only.
Runs until SIGTERM/SIGINT; prints "ready" once both sockets are bound, and its counters when it ends.
"""
import argparse
import collections
import errno
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_OUTGOING = 4
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
# virtio_net_hdr (10 bytes) + the largest GSO frame a veth hands over + its Ethernet header
RECV_SIZE = 10 + 65536 + 64
BUF_BYTES = 32 << 20


def open_port(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    try:
        # our own transmissions on this interface would come back to us otherwise (we also check pkttype)
        s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, BUF_BYTES)
    # frames waiting in the tbf qdisc are charged to this socket's send buffer
    s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, BUF_BYTES)
    s.bind((ifname, ETH_P_ALL))
    index = socket.if_nametoindex(ifname)
    s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, struct.pack('iHH8s', index, PACKET_MR_PROMISC, 0, b''))
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--a', required=True, help='first interface')
    ap.add_argument('--b', required=True, help='second interface')
    ap.add_argument('--delay-us', type=int, required=True, help='one-way delay, microseconds')
    ap.add_argument('--max-queue-bytes', type=int, default=64 << 20, help='per direction')
    o = ap.parse_args()
    delay = o.delay_us / 1e6

    ports = [open_port(o.a), open_port(o.b)]
    names = [o.a, o.b]
    # queue[i]: frames to send out of ports[i] (received on the other port): (due, frame)
    queue = [collections.deque(), collections.deque()]
    queued = [0, 0]
    stats = {'frames': [0, 0], 'bytes': [0, 0], 'dropped_queue': [0, 0], 'dropped_tx': [0, 0]}

    class Stop(Exception):
        pass

    def stop(_sig, _frm):
        # raising is what interrupts epoll.poll (Python retries a select interrupted by a handler that returns)
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f'ready: {o.a} <-> {o.b}, one-way delay {o.delay_us} us', flush=True)

    monotonic = time.monotonic
    try:
        forward(ports, queue, queued, stats, delay, o.max_queue_bytes, monotonic)
    except Stop:
        pass
    for i in (0, 1):
        print(f'out of {names[i]}: {stats["frames"][i]} frames, {stats["bytes"][i]} bytes; dropped: '
              f'{stats["dropped_queue"][i]} (queue cap), {stats["dropped_tx"][i]} (rate limit queue full)', flush=True)
    return 0


def forward(ports, queue, queued, stats, delay, max_queue_bytes, monotonic):
    # select(), not epoll: its timeout has microsecond resolution (epoll's is a millisecond, rounded up)
    fds = [p.fileno() for p in ports]
    while True:
        now = monotonic()
        for i in (0, 1):
            q = queue[i]
            out = ports[i]
            while q and q[0][0] <= now:
                _, frame = q.popleft()
                queued[i] -= len(frame)
                try:
                    out.send(frame)
                    stats['frames'][i] += 1
                    stats['bytes'][i] += len(frame) - 10
                except OSError as e:
                    # ENOBUFS: tbf's queue is full (the bottleneck drops, as a router would); EAGAIN: our
                    # send buffer is; either way the frame is lost, which TCP sees and slows down for
                    if e.errno not in (errno.ENOBUFS, errno.EAGAIN, errno.EWOULDBLOCK, errno.EMSGSIZE):
                        raise
                    stats['dropped_tx'][i] += 1
        heads = [q[0][0] for q in queue if q]
        timeout = max(0.0, min(heads) - monotonic()) if heads else None
        readable, _, _ = select.select(fds, [], [], timeout)
        t = monotonic()
        for fd in readable:
            i = fds.index(fd)
            j = 1 - i
            s = ports[i]
            for _ in range(512):
                try:
                    frame, addr = s.recvfrom(RECV_SIZE)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                if queued[j] + len(frame) > max_queue_bytes:
                    stats['dropped_queue'][j] += 1
                    continue
                queue[j].append((t + delay, frame))
                queued[j] += len(frame)


if __name__ == '__main__':
    sys.exit(main())
