#!/usr/bin/python3
"""A DNS forwarder on loopback that delays every answer: a slow resolver for benchmarks.

  dns_delay_proxy.py LISTEN_PORT UPSTREAM_PORT [DELAY_MS]     (default 50 ms)

Listens on 127.0.0.1:LISTEN_PORT, UDP and TCP. Each query waits DELAY_MS, is forwarded
unchanged to 127.0.0.1:UPSTREAM_PORT over the same transport, and the reply is returned
unchanged. Queries are handled concurrently (one task each; a fresh upstream UDP socket per
query, so IDs never collide). Prints "ready" once listening; on SIGTERM/SIGINT prints
"queries udp=N tcp=M failed=K" and exits.
"""
import asyncio
import signal
import socket
import struct
import sys

listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
delay = (float(sys.argv[3]) if len(sys.argv) > 3 else 50.0) / 1000.0
upstream = ("127.0.0.1", upstream_port)
stats = {"udp": 0, "tcp": 0, "failed": 0}


async def ask_udp(query):
    loop = asyncio.get_running_loop()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    try:
        s.connect(upstream)
        await loop.sock_sendall(s, query)
        return await asyncio.wait_for(loop.sock_recv(s, 65535), 5)
    finally:
        s.close()


class Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        asyncio.get_running_loop().create_task(self.answer(data, addr))

    async def answer(self, data, addr):
        stats["udp"] += 1
        try:
            await asyncio.sleep(delay)
            reply = await ask_udp(data)
            self.transport.sendto(reply, addr)
        except Exception:
            stats["failed"] += 1


async def tcp_client(reader, writer):
    lock = asyncio.Lock()
    tasks = set()

    async def one(query):
        stats["tcp"] += 1
        try:
            await asyncio.sleep(delay)
            r, w = await asyncio.open_connection(*upstream)
            try:
                w.write(struct.pack("!H", len(query)) + query)
                await w.drain()
                n = struct.unpack("!H", await asyncio.wait_for(r.readexactly(2), 5))[0]
                reply = await asyncio.wait_for(r.readexactly(n), 5)
            finally:
                w.close()
            async with lock:
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except Exception:
            stats["failed"] += 1

    try:
        while True:  # pipelined queries on one connection are answered concurrently
            n = struct.unpack("!H", await reader.readexactly(2))[0]
            t = asyncio.get_running_loop().create_task(one(await reader.readexactly(n)))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    writer.close()


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", listen_port))
    server = await asyncio.start_server(tcp_client, "127.0.0.1", listen_port, backlog=256)
    print("ready", flush=True)
    await stop
    server.close()
    transport.close()
    print(f"queries udp={stats['udp']} tcp={stats['tcp']} failed={stats['failed']}", flush=True)


asyncio.run(main())
