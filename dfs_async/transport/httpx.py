"""httpx's client: `http="httpx"` (proxies from the environment) and a caller's own httpx
client or transport (imported only then).

httpx's pool (httpcore) keeps its default keep-alive (20): raised to the concurrency it scans
all its connections for every request (encode/httpx#3215, encode/httpcore#822); held below
it, it reconnects often. The default under trio avoids both (`transport.httpcore`).
"""

from __future__ import annotations

import ssl
from typing import Any, Final

import anyio
import httpx

from dfs_async.transport.aiohttp import aiohttp_failure, aiohttp_pool_state
from dfs_async.transport.base import (
    JSON_HEADERS,
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

__all__ = ["HTTPX_KEEPALIVE", "HttpxTransport", "make_client"]

# httpx's default keep-alive: measured cheaper under trio than a pool kept at concurrency 30.
HTTPX_KEEPALIVE: Final = 20


def make_client(
    *,
    concurrency: int,
    timeout: float,
    verify: bool | str | ssl.SSLContext = True,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: Headers | None = None,
) -> httpx.AsyncClient:
    """An httpx AsyncClient that never makes a request wait on its pool.

    The pacing never lets more than `concurrency` requests go at once, and the pool allows
    that many connections (httpx's pool slows down under many waiters); `transport`
    overrides the pool.
    """
    if isinstance(verify, str):
        verify = ssl.create_default_context(cafile=verify)
    keepalive = min(concurrency, HTTPX_KEEPALIVE)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=keepalive)
    return httpx.AsyncClient(
        limits=limits,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
        verify=verify,
        transport=transport,
        headers=headers if headers is not None else JSON_HEADERS,
    )


def _transport_errors() -> tuple[type[Exception], ...]:
    """What a failed exchange raises: httpx's errors, and aiohttp's that httpx-aiohttp
    leaves unmapped (e.g. a malformed response) when aiohttp is loaded."""
    errors: tuple[type[Exception], ...] = (httpx.RequestError,)
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - a core dependency, but only needed on asyncio
        return errors
    return (*errors, aiohttp.ClientError)


# What each of httpx's errors says went wrong, the first that matches.
_KINDS: Final[tuple[tuple[type[Exception], FailureKind], ...]] = (
    (httpx.ConnectError, "connect"),
    (httpx.ConnectTimeout, "connect"),
    (httpx.TimeoutException, "timeout"),
    (httpx.DecodingError, "decode"),
    (httpx.NetworkError, "read"),
    (httpx.ProtocolError, "protocol"),
)


def httpx_failure(exc: Exception) -> NetworkFailure:
    """An httpx error as a failure value; under a caller's httpx-aiohttp transport, what
    aiohttp's error underneath says (httpx-aiohttp names every connection error
    ConnectTimeout), or aiohttp's own error where it left one unmapped."""
    cause = exc.__cause__ if isinstance(exc, httpx.HTTPError) else exc
    underneath = aiohttp_failure(cause) if cause is not None else None
    if underneath is not None:
        return underneath
    kind: FailureKind = next((kind for error, kind in _KINDS if isinstance(exc, error)), "protocol")
    reason = os_reason(exc) if kind == "connect" else str(exc) or type(exc).__name__
    return NetworkFailure(kind, reason)


class _Body(httpx.AsyncByteStream):
    """A request body of one chunk for httpx (see `OneChunk`)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def __aiter__(self) -> OneChunk:
        return OneChunk(self._body)


class HttpxTransport:
    """httpx's client (ours, or the caller's when `owned` is False: not closed by us).

    `headers` (from `basic_auth_headers`) go with each request; None when the client sends
    them already (`make_client(headers=...)`): nothing to merge per request.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        headers: Headers | None,
        owned: bool,
        deadline: float | None = None,
    ) -> None:
        self._client = client
        self._deadline = deadline  # for a whole exchange (httpx's timeouts are per read)
        self._base_url = base_url.rstrip("/")
        self._headers = headers
        self._owned = owned
        self._errors = _transport_errors()

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    @property
    def closed(self) -> bool:
        return self._client.is_closed

    def pool_state(self) -> PoolState:
        """Reads the pools' private state (httpcore's pool, or aiohttp's connector under a
        caller's httpx-aiohttp transport): the only view they give, kept to this one place."""
        inner: Any = getattr(self._client, "_transport", None)
        pool = getattr(inner, "_pool", None)
        if pool is not None:  # httpcore
            conns = list(pool.connections)
            busy = sum(1 for c in conns if not (c.is_idle() or c.is_closed()))
            return PoolState(sum(1 for c in conns if not c.is_closed()), busy, len(pool._requests))
        session = getattr(inner, "client", None)  # httpx-aiohttp: aiohttp's session, once used
        return aiohttp_pool_state(getattr(session, "connector", None))

    async def send(self, method: str, path: str, body: bytes | None) -> Answer | NetworkFailure:
        request = self._client.build_request(
            method, self._base_url + path, content=body, headers=self._headers
        )
        if body is not None:
            request.stream = _Body(body)
        response = None
        try:
            with anyio.move_on_after(self._deadline):
                response = await self._client.send(request)
        except self._errors as exc:
            return failed(method, path, httpx_failure(exc))
        if response is None:
            return timed_out(method, path, self._deadline)
        return answered(method, path, response.status_code, response.content)

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()
