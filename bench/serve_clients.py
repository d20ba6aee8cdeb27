#!/usr/bin/env python3
"""Clients for bench/serve.sh that curl and wrk cannot be: many held SSE streams, and a
plain file server to upload to (the peer of peel serve's upload).

  serve_clients.py sse URL TOKEN SESSION LAST_EVENT_ID COUNT HOLD_SECONDS SERVER_PID
      opens COUNT message streams resuming one running stream (Last-Event-ID), holds them
      HOLD_SECONDS, and prints: opened, still open, heartbeats seen, and the server's peak
      RSS (VmHWM) and RSS now, in MB.
  serve_clients.py sink PORT FILE
      accepts one HTTP request, writes its body to FILE (Content-Length bodies), answers 200.
"""
import asyncio
import json
import socket
import sys


def rss_mb(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return -1


async def sse(url, token, session, last_id, count, hold, pid):
    host, port = url.split("//")[1].split(":")
    body = json.dumps({"app_name": "peel", "user_id": "me", "session_id": session}).encode()
    request = (
        f"POST /run_sse HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: text/event-stream\r\nContent-Type: application/json\r\n"
        f"Last-Event-ID: {last_id}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    opened = 0
    beats = 0
    alive = []

    async def one():
        nonlocal opened, beats
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            writer.close()
            return
        opened += 1
        alive.append(writer)
        seen = False
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if b": heartbeat" in data and not seen:
                    seen = True
                    beats += 1
        except (ConnectionError, asyncio.CancelledError):
            pass

    tasks = []
    for i in range(count):
        tasks.append(asyncio.create_task(one()))
        if i % 100 == 99:
            await asyncio.sleep(0.05)
    await asyncio.sleep(hold)
    still = sum(1 for t in tasks if not t.done())
    peak, now = rss_mb(pid, "VmHWM"), rss_mb(pid, "VmRSS")
    for t in tasks:
        t.cancel()
    print(f"opened {opened} still-open {still} heartbeats {beats} rss-peak-mb {peak:.1f} rss-mb {now:.1f}")


def sink(port, path):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    print("ready", flush=True)
    conn, _ = listener.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
        if line.lower().startswith(b"expect: 100-continue"):
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    with open(path, "wb") as out:
        out.write(rest)
        left = length - len(rest)
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        while left > 0:
            n = conn.recv_into(view, min(left, len(buffer)))
            if n == 0:
                break
            out.write(view[:n])
            left -= n
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "sse":
        a = sys.argv[2:]
        asyncio.run(sse(a[0], a[1], a[2], a[3], int(a[4]), float(a[5]), int(a[6])))
    else:
        sink(int(sys.argv[2]), sys.argv[3])
