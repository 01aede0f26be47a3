"""Each HTTP stack over a real socket: gzip answers decoded, a damaged one a failure as a value,
and the httpcore stack's connections, one per slot, kept alive between requests."""

from __future__ import annotations

import gzip
from typing import Any

import anyio
import msgspec
import pytest

from dfs_async.transport import (
    Answer,
    HttpStack,
    NetworkFailure,
    basic_auth_headers,
    open_transport,
)
from dfs_async.transport.httpcore import HttpcoreTransport

from .servers import serving

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-pa55"
ANSWER = msgspec.json.encode({"status_code": 20000, "tasks": [{"result": ["é" * 50]}]})


class GzipSite:
    """Answers every request gzip-compressed when it accepts gzip (`/damaged`: a body that is
    not gzip, labelled gzip); records what each request accepted."""

    def __init__(self) -> None:
        self.accepted: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        accepted = dict(scope["headers"]).get(b"accept-encoding", b"")
        self.accepted.append(accepted)
        body, headers = ANSWER, [(b"content-type", b"application/json")]
        if b"gzip" in accepted:
            headers.append((b"content-encoding", b"gzip"))
            body = b"not gzip at all" if scope["path"] == "/damaged" else gzip.compress(body)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _stacks(backend: str) -> list[HttpStack]:
    return ["aiohttp", "httpcore", "httpx"] if backend == "asyncio" else ["httpcore", "httpx"]


async def test_gzip_answers_are_decoded_and_a_damaged_one_is_a_failure(anyio_backend: str) -> None:
    site = GzipSite()
    headers = basic_auth_headers("me", "pw")
    with serving(site) as url:
        for stack in _stacks(anyio_backend):
            transport = open_transport(
                base_url=url, headers=headers, concurrency=2, timeout=10, stack=stack
            )
            try:
                assert await transport.send("POST", "/v3/x", b"[]") == Answer(200, ANSWER), stack
                if stack == "httpx" and anyio_backend == "trio":
                    # httpx leaves its body generator unfinished on a decoding error, which
                    # trio reports as a ResourceWarning (encode/httpx#3686): a failure still.
                    continue
                failure = await transport.send("POST", "/damaged", b"[]")
                assert isinstance(failure, NetworkFailure), stack
                assert failure.reason, stack
                # aiohttp reports a body that does not decode as a broken read
                assert failure.kind == ("read" if stack == "aiohttp" else "decode"), failure
            finally:
                await transport.aclose()
    assert site.accepted and all(b"gzip" in a for a in site.accepted)


async def test_the_httpcore_stack_keeps_a_connection_per_slot_alive() -> None:
    """Requests one after another reuse one connection; `concurrency` at once use as many; a
    request beyond them (outside the pacing: none of ours is) gets a connection of its own,
    closed after it (whichever ends last: which one that is depends on the server)."""
    site = GzipSite()
    with serving(site) as url:
        transport = HttpcoreTransport(
            base_url=url, headers=basic_auth_headers("me", SECRET), concurrency=3, timeout=10
        )
        try:
            assert transport.ssl_context is None  # http://: no TLS context built
            shown = repr(vars(transport))
            assert SECRET not in shown and "bWU6" not in shown  # base64 of "me:"
            for _ in range(5):
                assert await transport.send("POST", "/v3/x", b"[]") == Answer(200, ANSWER)
            assert transport.pool_state().open == 1
            (first,) = transport._connections

            async def one() -> None:
                answer = await transport.send("POST", "/v3/x", b"[]")
                assert isinstance(answer, Answer) and answer.status == 200

            async def at_once(n: int) -> None:
                async with anyio.create_task_group() as tg:
                    for _ in range(n):
                        tg.start_soon(one)

            await at_once(3)
            kept = list(transport._connections)
            assert len(kept) == 3 and first in kept  # the first one still alive
            await at_once(3)
            assert transport._connections == kept  # the same three, reused
            await at_once(5)
            state = transport.pool_state()
            assert state.open == 3 and state.busy == 0 and len(transport._connections) == 3
            assert not any(c.is_closed() for c in transport._connections)
        finally:
            await transport.aclose()
        assert transport.closed
        assert transport.pool_state().open == 0
    assert len(site.accepted) == 5 + 3 + 3 + 5


async def test_the_httpcore_stack_replaces_a_connection_the_server_closed() -> None:
    """The server closes an idle connection (its keep-alive timeout): the next request goes
    out on a new one, not on the dead one (which would fail it as a network error)."""
    with serving(GzipSite(), timeout_keep_alive=0.1) as url:
        transport = HttpcoreTransport(
            base_url=url, headers=basic_auth_headers("me", SECRET), concurrency=3, timeout=10
        )
        try:
            assert await transport.send("POST", "/v3/x", b"[]") == Answer(200, ANSWER)
            (first,) = transport._connections
            with anyio.fail_after(5):
                while not first.has_expired():  # noqa: ASYNC110 (the server closed it)
                    await anyio.sleep(0.02)
            assert await transport.send("POST", "/v3/x", b"[]") == Answer(200, ANSWER)
            assert first not in transport._connections and first.is_closed()
            assert transport.pool_state().open == 1
        finally:
            await transport.aclose()
