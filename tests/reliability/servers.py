"""Small real servers on 127.0.0.1 for what the emulator does not play: a web page where
the API should be, a closed port, and TLS (the emulator behind a self-signed certificate).

Each runs uvicorn in a thread on a socket bound before it starts (as the emulator does), so
sync and async tests on any event loop can use them.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from dfs_async.emulator.serve import bind

PAGE = b"<!doctype html><html><head><title>Welcome</title></head><body>It works!</body></html>"


class HtmlSite:
    """An ASGI app answering every request with an HTML page and `status`; counts requests."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": PAGE})


@contextmanager
def serving(app: Any, **options: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 while the block runs; yields its base URL. `options` are
    uvicorn's (https with its ssl_keyfile / ssl_certfile)."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="test-site", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    scheme = "https" if "ssl_certfile" in options else "http"
    try:
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def closed_port() -> str:
    """The base URL of a port on 127.0.0.1 that nothing listens on (bound, never listened)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
