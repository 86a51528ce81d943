#!/usr/bin/python3
"""A tiny backend for Shunt's lab: run inside a pod namespace, it answers every TCP connection and
every UDP datagram with its own name and the peer it saw, so a client can tell which backend a
Service picked and which source address reached it.

  podserver.py NAME [--tcp PORT] [--udp PORT] [--lifetime SECONDS]

TCP: reads one line. "GET ..." gets an HTTP/1.0 response whose body is "NAME PEER\n"; "stream"
turns the connection into an echo (for long-lived streams); anything else gets "NAME PEER\n".
UDP: each datagram gets "NAME PEER PAYLOAD". The server exits by itself after --lifetime seconds
(default 600), so a forgotten one never outlives the lab for long.
"""
import argparse
import asyncio
import os
import signal
import socket
import sys
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--tcp", type=int)
    ap.add_argument("--udp", type=int)
    ap.add_argument("--lifetime", type=float, default=600)
    args = ap.parse_args()
    if args.tcp is None and args.udp is None:
        ap.error("give --tcp PORT and/or --udp PORT")
    name = args.name

    async def handle(reader, writer):
        peer = "%s:%d" % writer.get_extra_info("peername")[:2]
        try:
            line = await asyncio.wait_for(reader.readline(), 30)
            if line.startswith(b"GET "):
                while True:  # the request's headers
                    h = await asyncio.wait_for(reader.readline(), 30)
                    if not h or h in (b"\r\n", b"\n"):
                        break
                body = ("%s %s\n" % (name, peer)).encode()
                writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n" % len(body) + body)
            elif line.strip() == b"stream":
                writer.write(("%s %s\n" % (name, peer)).encode())
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    writer.write(data)
                    await writer.drain()
            else:
                writer.write(("%s %s\n" % (name, peer)).encode())
            await writer.drain()
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    async def serve_tcp():
        server = await asyncio.start_server(handle, "0.0.0.0", args.tcp, reuse_address=True, backlog=1024)
        async with server:
            await server.serve_forever()

    if args.tcp is not None:
        threading.Thread(target=lambda: asyncio.run(serve_tcp()), daemon=True).start()
    if args.udp is not None:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        udp.bind(("0.0.0.0", args.udp))

        def serve_udp():
            while True:
                data, peer = udp.recvfrom(65536)
                udp.sendto(("%s %s:%d " % (name, peer[0], peer[1])).encode() + data, peer)

        threading.Thread(target=serve_udp, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("podserver %s ready" % name, flush=True)
    threading.Event().wait(args.lifetime)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
