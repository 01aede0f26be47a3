"""A server that costs ~nothing: precomputed response bytes on loopback, for client benchmarks.

`python -m benchmarks.canned_server --items FILE --per-target N [--latency-ms L]` serves
`POST /v3/backlinks/domain_pages_summary/live` on 127.0.0.1 and prints its base URL as the
first stdout line. Every target has `N` items (taken from FILE, a JSON array of items made
from the emulator's corpus, cycled); a page is the slice `[offset, offset + limit)`. The items
part of each page is joined once and cached per (offset, count); per request the server only
decodes the small request body and splices the echoed task and the target around it.

It is a bare asyncio Protocol speaking HTTP/1.1 keep-alive with Content-Length bodies, the
fastest option measured (a uvicorn ASGI app spends several times more per request). It does
not check credentials and never compresses. `--latency-ms` delays each answer (timers, no
work) to keep many requests in flight at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.harness import emit

PATH = b"/v3/backlinks/domain_pages_summary/live"
OK = b'"status_code":20000,"status_message":"Ok.","time":"0.0010 sec."'
_encode = msgspec.json.encode
_decode_tasks = msgspec.json.Decoder(list[dict[str, Any]]).decode


class Pages:
    """The precomputed parts of every answer."""

    def __init__(self, items: list[Any], per_target: int) -> None:
        self.items = [_encode(item) for item in items] or [b"{}"]
        self.per_target = per_target
        self.blobs: dict[tuple[int, int], bytes] = {}
        self.ids = itertools.count()

    def blob(self, offset: int, count: int) -> bytes:
        key = (offset, count)
        blob = self.blobs.get(key)
        if blob is None:
            n = len(self.items)
            blob = b",".join(self.items[(offset + i) % n] for i in range(count))
            self.blobs[key] = blob
        return blob

    def task(self, posted: dict[str, Any]) -> tuple[bytes, float]:
        target = posted.get("target")
        offset = posted.get("offset") or 0
        limit = posted.get("limit") or 100
        count = max(0, min(limit, self.per_target - offset))
        cost = 0.02 + 0.00003 * count
        data = _encode({"api": "backlinks", "function": "domain_pages_summary", **posted})
        task_id = b"%08d-0000-0000-0000-000000000000" % next(self.ids)
        body = b"".join(
            (
                b'{"id":"',
                task_id,
                b'",',
                OK,
                b',"cost":%.5f,"result_count":1,' % cost,
                b'"path":["v3","backlinks","domain_pages_summary","live"],"data":',
                data,
                b',"result":[{"target":',
                _encode(target),
                b',"total_count":%d,"items_count":%d,"items":[' % (self.per_target, count),
                self.blob(offset, count),
                b"]}]}",
            )
        )
        return body, cost

    def answer(self, body: bytes) -> bytes:
        try:
            posted = _decode_tasks(body)
        except msgspec.DecodeError:
            return envelope(b'"status_code":40503,"status_message":"POST Data Is Invalid."', [], 0)
        parts = [self.task(task) for task in posted]
        return envelope(OK, [p[0] for p in parts], sum(p[1] for p in parts))


def envelope(status: bytes, tasks: list[bytes], cost: float) -> bytes:
    return b"".join(
        (
            b'{"version":"0.1.20240801",',
            status,
            b',"cost":%.5f,"tasks_count":%d,"tasks_error":0,"tasks":[' % (cost, len(tasks)),
            b",".join(tasks),
            b"]}",
        )
    )


USER_DATA = envelope(
    OK,
    [
        b'{"id":"user-data",'
        + OK
        + b',"cost":0,"result_count":1,"path":["v3","appendix","user_data"],"data":{},'
        b'"result":[{"login":"bench","timezone":"UTC","rates":{"limits":{"day":{},'
        b'"minute":{"total":1000000}},"statistics":{}},"money":{"total":1000000.0,'
        b'"balance":1000000.0,"limits":{},"statistics":{}},"price":{}}]}'
    ],
    0,
)
NOT_FOUND = envelope(b'"status_code":40400,"status_message":"Not Found."', [], 0)


def http_response(body: bytes, status: bytes = b"200 OK") -> bytes:
    head = b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (
        status,
        len(body),
    )
    return head + body


class Connection(asyncio.Protocol):
    """One keep-alive connection: parse requests off the buffer, answer each in order."""

    def __init__(self, pages: Pages, latency: float) -> None:
        self.pages = pages
        self.latency = latency
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                line_end = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : line_end if line_end >= 0 else None])
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.respond(head, body)

    def respond(self, head: bytes, body: bytes) -> None:
        request_line = head.split(b"\r\n", 1)[0]
        method, _, rest = request_line.partition(b" ")
        path = rest.partition(b" ")[0].partition(b"?")[0]
        if method == b"post" and path == PATH:
            response = http_response(self.pages.answer(body))
        elif path == b"/v3/appendix/user_data":
            response = http_response(USER_DATA)
        else:
            response = http_response(NOT_FOUND, b"404 Not Found")
        close = b"\r\nconnection: close" in head
        if self.latency > 0:
            asyncio.get_running_loop().call_later(self.latency, self.send, response, close)
        else:
            self.send(response, close)

    def send(self, response: bytes, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(response)
        if close:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(items: list[Any], per_target: int, latency: float, port: int) -> None:
    pages = Pages(items, per_target)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Connection(pages, latency), "127.0.0.1", port, backlog=1024
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    threading.Thread(target=_stop_on_eof, args=(loop, stop), daemon=True).start()
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"http://127.0.0.1:{bound}\n")
    sys.stdout.flush()
    async with server:
        await stop.wait()
    emit({"tasks": next(pages.ids), "cpu": time.process_time()})


def _stop_on_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """The parent closes our stdin to ask us to stop (and report what we served)."""
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, required=True, help="JSON array of items")
    parser.add_argument("--per-target", type=int, default=1000, help="items of every target")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    items = msgspec.json.decode(args.items.read_bytes())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(items, args.per_target, args.latency_ms / 1000, args.port))


if __name__ == "__main__":
    main()
