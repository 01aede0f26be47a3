"""The httpx side: one long-lived client, POST with Basic auth, failures as values.

`post` never raises for what the network or the server does: it returns the HTTP status and
body, or no status and the error's description, for `wire.read` to classify (network errors
and truncated bodies are retried). A whole exchange has a deadline (`timeout`): httpx's own
timeouts bound each read, so a server trickling its answer could otherwise hold a slot for
ever. Credentials live in an `httpx.BasicAuth` passed with each
request, never in a URL, a log line or an error message.
"""

from __future__ import annotations

import logging
import ssl
from typing import Final

import anyio
import httpx

__all__ = ["Transport", "make_client"]

log: Final = logging.getLogger("dfs_async")

_HEADERS: Final = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
    "User-Agent": "dfs-async/0.1",
}


def make_client(
    *,
    concurrency: int,
    timeout: float,
    verify: bool | str | ssl.SSLContext = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient whose pool holds exactly `concurrency` connections.

    The pacing never lets more than `concurrency` requests go at once, so no request ever
    waits on the pool (httpx's pool slows down under many waiters).
    """
    if isinstance(verify, str):
        verify = ssl.create_default_context(cafile=verify)
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
        verify=verify,
        transport=transport,
        headers=_HEADERS,
    )


class _Body(httpx.AsyncByteStream):
    """A request body of one chunk, iterated without an async generator.

    httpx's own body stream is an async generator; a request cancelled while its body is
    being written leaves it suspended, and trio then warns when it is garbage collected.
    """

    def __init__(self, body: bytes) -> None:
        self._body = body

    def __aiter__(self) -> _BodyIterator:
        return _BodyIterator(self._body)


class _BodyIterator:
    __slots__ = ("_body",)

    def __init__(self, body: bytes | None) -> None:
        self._body = body

    def __aiter__(self) -> _BodyIterator:
        return self

    async def __anext__(self) -> bytes:
        body, self._body = self._body, None
        if body is None:
            raise StopAsyncIteration
        return body


class Transport:
    """POSTs request bodies to `base_url` + path; owns the httpx client unless given one."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        auth: httpx.BasicAuth,
        owned: bool,
        deadline: float | None = None,
    ) -> None:
        self._client = client
        self._deadline = deadline  # for a whole exchange (httpx's timeouts are per read)
        self._base_url = base_url.rstrip("/")
        self._auth = auth
        self._owned = owned

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    async def post(self, path: str, body: bytes) -> tuple[int | None, bytes, str]:
        """`(status, body, "")` for any answer, `(None, b"", error)` when there was none."""
        request = self._client.build_request(
            "POST", self._base_url + path, content=body, headers=_HEADERS
        )
        request.stream = _Body(body)
        response = None
        try:
            with anyio.move_on_after(self._deadline):
                response = await self._client.send(request, auth=self._auth)
        except httpx.RequestError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.debug("POST %s failed: %s", path, error)
            return None, b"", error
        if response is None:
            log.debug("POST %s: no complete answer within %ss", path, self._deadline)
            return None, b"", f"no complete answer within {self._deadline:g} s"
        log.debug("POST %s -> HTTP %d, %d bytes", path, response.status_code, len(response.content))
        return response.status_code, response.content, ""

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()
