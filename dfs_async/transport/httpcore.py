"""The default under trio: httpcore's connections (httpx's own engine), one per slot, no pool.

httpcore's connection pool looks at every connection, for every one idle, each time it
assigns a request (encode/httpcore#822): with 30 connections under trio that cost about
3 ms of CPU a request, three times the rest of the exchange, and its keep-alive cap,
counted over all connections instead of the idle ones, closed a connection after nearly
every answer when held below the concurrency. The pacing never has more than `concurrency`
requests in flight, so each request takes one of httpcore's connections from a free list (a
new one if a request outside the pacing finds none free; past `concurrency` idle ones, it is
closed after its request). A connection the server closed, or idle past its keep-alive, is
replaced before it is used: the one check a pool makes that matters here. (Measured under
trio: about 0.9 ms of CPU a request against 3.5 ms through httpx's client; a pool of one
connection per slot costs two shielded cancel scopes and its bookkeeping more a request,
0.1-0.2 ms.)

What httpx adds over httpcore is not needed here: the URL, the headers and the body are
built once or given as bytes; the answer is read whole; gzip, the one encoding we ask for,
is decoded here. httpx's client remains the stack for what only it does (`http="httpx"`:
proxies from the environment, a caller's own client or transport).
"""

from __future__ import annotations

import ssl
import zlib
from collections.abc import Sequence
from typing import Final

import anyio
import httpcore

from dfs_async.transport.base import (
    Answer,
    FailureKind,
    Headers,
    NetworkFailure,
    OneChunk,
    PoolState,
    answered,
    failed,
    os_reason,
    timed_out,
)

__all__ = ["HttpcoreTransport"]

# Seconds an idle connection is kept (httpx's default).
KEEPALIVE_EXPIRY: Final = 5.0


class DecodingError(Exception):
    """A gzip body that does not decode: a damaged answer, retried."""


# What each of httpcore's errors (and ours) says went wrong, the first that matches.
_KINDS: Final[tuple[tuple[type[Exception], FailureKind], ...]] = (
    (httpcore.ConnectError, "connect"),
    (httpcore.ConnectTimeout, "connect"),
    (httpcore.TimeoutException, "timeout"),
    (httpcore.ConnectionNotAvailable, "read"),  # closed under us after the check
    (httpcore.NetworkError, "read"),
    (httpcore.ProtocolError, "protocol"),
    (httpcore.UnsupportedProtocol, "protocol"),
    (DecodingError, "decode"),
)
_ERRORS: Final = tuple(kind for kind, _ in _KINDS)


def httpcore_failure(exc: Exception) -> NetworkFailure:
    """An httpcore error (or ours) as a failure value."""
    kind = next(kind for error, kind in _KINDS if isinstance(exc, error))
    reason = os_reason(exc) if kind == "connect" else str(exc) or type(exc).__name__
    return NetworkFailure(kind, reason)


class HttpcoreTransport:
    """httpcore connections taken per request from a free list, `concurrency` of them kept
    alive; `timeout` for a whole exchange (connecting within at most 30 s). `ssl_context` is
    None for an http:// base URL."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: Headers,
        concurrency: int,
        timeout: float,
        verify: bool | str | ssl.SSLContext = True,
    ) -> None:
        base = httpcore.URL(base_url.rstrip("/"))
        if isinstance(verify, ssl.SSLContext) or base.scheme != b"https":
            self.ssl_context = verify if isinstance(verify, ssl.SSLContext) else None
        else:  # verified always: `verify` is True or a CA bundle
            cafile = verify if isinstance(verify, str) else None
            self.ssl_context = ssl.create_default_context(cafile=cafile)
        self._deadline = timeout
        self._extensions = {
            "timeout": {"connect": min(timeout, 30.0), "read": timeout, "write": timeout}
        }
        self._scheme, self._host, self._port = base.scheme, base.host, base.port
        self._origin = base.origin
        self._prefix = base.target.rstrip(b"/")
        netloc = base.host if base.port is None else b"%s:%d" % (base.host, base.port)
        self._headers = _WireHeaders([(b"Host", netloc), *_encoded(headers)])
        self._urls: dict[str, httpcore.URL] = {}  # path -> URL, built once
        self._keep = concurrency
        self._free: list[httpcore.AsyncHTTPConnection] = []  # idle, most recent last
        self._connections: list[httpcore.AsyncHTTPConnection] = []  # all not closed by us
        self._closed = False

    async def _connection(self) -> httpcore.AsyncHTTPConnection:
        """An idle connection that can take a request (a new one if none can)."""
        free = self._free
        if free:
            connection = free.pop()
            if not (connection.is_closed() or connection.has_expired()):
                return connection
            await self._drop(connection)
        connection = httpcore.AsyncHTTPConnection(
            self._origin, ssl_context=self.ssl_context, keepalive_expiry=KEEPALIVE_EXPIRY
        )
        self._connections.append(connection)
        return connection

    async def _drop(self, connection: httpcore.AsyncHTTPConnection) -> None:
        self._connections.remove(connection)
        with anyio.CancelScope(shield=True):
            await connection.aclose()

    def _url(self, path: str) -> httpcore.URL:
        url = self._urls.get(path)
        if url is None:
            target = self._prefix + path.encode()
            url = self._urls[path] = httpcore.URL(
                scheme=self._scheme, host=self._host, port=self._port, target=target
            )
        return url

    async def send(self, method: str, path: str, body: bytes | None) -> Answer | NetworkFailure:
        headers: Sequence[tuple[bytes, bytes]] = self._headers
        if body is not None:
            headers = (*headers, (b"Content-Length", b"%d" % len(body)))
        request = httpcore.Request(
            method,
            self._url(path),
            headers=headers,
            content=None if body is None else OneChunk(body),
            extensions=self._extensions,
        )
        status: int | None = None
        connection = None
        try:
            with anyio.move_on_after(self._deadline):
                connection = await self._connection()
                response = await connection.handle_async_request(request)
                try:
                    content = await response.aread()
                finally:
                    await response.aclose()
                content = _decoded(content, response.headers)
                status = response.status
        except _ERRORS as exc:
            return failed(method, path, httpcore_failure(exc))
        finally:
            if connection is not None:
                if len(self._free) < self._keep:
                    self._free.append(connection)
                else:  # a request outside the pacing: not kept
                    await self._drop(connection)
        if status is None:
            return timed_out(method, path, self._deadline)
        return answered(method, path, status, content)

    def pool_state(self) -> PoolState:
        busy = len(self._connections) - len(self._free)
        return PoolState(sum(not c.is_closed() for c in self._connections), busy, busy)

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        self._closed = True
        for connection in self._connections:
            await connection.aclose()


class _WireHeaders(tuple[tuple[bytes, bytes], ...]):
    """Headers as httpcore takes them; the Authorization value masked in any repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(Headers((k.decode(), v.decode()) for k, v in self))


def _encoded(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in headers]


def _decoded(content: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The body as sent before its Content-Encoding (gzip, the one we accept; else as is)."""
    for name, value in headers:
        if name.lower() == b"content-encoding" and value.strip().lower() == b"gzip":
            try:
                return zlib.decompress(content, wbits=zlib.MAX_WBITS | 16)
            except zlib.error as exc:
                raise DecodingError(f"gzip body: {exc}") from None
    return content
