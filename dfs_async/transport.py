"""The httpx side: one long-lived client, POST with Basic auth, failures as values.

`post` never raises for what the network or the server does: it returns the HTTP status and
body, or no status and the error's description, for `wire.read` to classify (network errors
and truncated bodies are retried). A whole exchange has a deadline (`timeout`): httpx's own
timeouts bound each read, so a server trickling its answer could otherwise hold a slot for
ever.

The HTTP stack under the httpx API (`HTTP_STACKS`, chosen from benchmarks/RESULTS.md): httpx's
own pool (httpcore) scans all its connections for every request (encode/httpx#3215,
encode/httpcore#822), so under asyncio the default is the `httpx-aiohttp` transport (aiohttp's
pool, sized to the concurrency), about a third of the CPU per request. aiohttp runs only on
asyncio: under trio the default is httpx's own pool with its default keep-alive (20), which
measured cheaper than one raised to the concurrency (fewer connections to scan).

The Authorization header is built once (not an auth flow per request) and kept in an
`httpx.Headers`, which masks it in any repr; it never goes into a URL, a log line or an
error message.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Final, Literal

import anyio
import httpx
import sniffio

__all__ = [
    "CONNECT_FAILURES",
    "HTTP_STACKS",
    "HttpStack",
    "PoolState",
    "Transport",
    "basic_auth_headers",
    "make_client",
    "pick_stack",
]

HttpStack = Literal["auto", "aiohttp", "httpx"]
HTTP_STACKS: Final[tuple[HttpStack, ...]] = ("auto", "aiohttp", "httpx")
# httpx's default keep-alive: measured cheaper under trio than a pool kept at concurrency 30.
HTTPX_KEEPALIVE: Final = 20

log: Final = logging.getLogger("dfs_async")

_HEADERS: Final = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
    "User-Agent": "dfs-async/0.1",
}


def basic_auth_headers(login: str, password: str) -> httpx.Headers:
    """Our request headers with Basic auth, built once (httpx.Headers masks it in reprs)."""
    token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
    return httpx.Headers({**_HEADERS, "Authorization": f"Basic {token}"})


def pick_stack(stack: HttpStack) -> Literal["aiohttp", "httpx"]:
    """The stack for the running event loop: "auto" is aiohttp on asyncio, httpx elsewhere."""
    library = sniffio.current_async_library()
    if stack == "auto":
        return "aiohttp" if library == "asyncio" else "httpx"
    if stack == "aiohttp" and library != "asyncio":
        raise RuntimeError(f"http='aiohttp' runs only on asyncio (this is {library})")
    return stack


def make_client(
    *,
    concurrency: int,
    timeout: float,
    verify: bool | str | ssl.SSLContext = True,
    transport: httpx.AsyncBaseTransport | None = None,
    stack: Literal["aiohttp", "httpx"] = "httpx",
    headers: httpx.Headers | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient that never makes a request wait on its pool.

    The pacing never lets more than `concurrency` requests go at once, and the pool allows
    that many connections (httpx's pool slows down under many waiters). `stack` picks the
    pool under httpx's API (see the module docstring); `transport` overrides it.
    """
    if isinstance(verify, str):
        verify = ssl.create_default_context(cafile=verify)
    keepalive = concurrency if stack == "aiohttp" else min(concurrency, HTTPX_KEEPALIVE)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=keepalive)
    if transport is None and stack == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(verify=verify, limits=limits)
    return httpx.AsyncClient(
        limits=limits,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
        verify=verify,
        transport=transport,
        headers=headers if headers is not None else _HEADERS,
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


@dataclass(frozen=True)
class PoolState:
    """`open` connections, `busy` of them serving a request, `requests` in or waiting."""

    open: int
    busy: int
    requests: int


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


# How `Transport.post` begins the description of an exchange that could not connect
# (`_error_name`'s names; "ClientConnector" for aiohttp errors httpx-aiohttp leaves unmapped).
CONNECT_FAILURES: Final = ("ConnectError", "ConnectTimeout", "ClientConnector")


def _error_name(exc: Exception) -> str:
    """httpx's name for a failed exchange, also when aiohttp failed underneath.

    httpx-aiohttp maps every aiohttp connection error to ConnectTimeout (a refused
    connection or a bad certificate included); name them as httpx itself would.
    """
    cause = exc.__cause__ if isinstance(exc, httpx.RequestError) else exc
    if cause is None or not type(cause).__module__.startswith("aiohttp"):
        return type(exc).__name__
    import aiohttp

    names: tuple[tuple[type[Exception], str], ...] = (
        (aiohttp.ConnectionTimeoutError, "ConnectTimeout"),
        (aiohttp.ServerTimeoutError, "ReadTimeout"),
        (aiohttp.ClientConnectorError, "ConnectError"),
        (aiohttp.ServerDisconnectedError, "RemoteProtocolError"),
        (aiohttp.ClientPayloadError, "ReadError"),
        (aiohttp.ClientResponseError, "RemoteProtocolError"),
        (aiohttp.ClientConnectionError, "ReadError"),
    )
    return next((name for kind, name in names if isinstance(cause, kind)), type(exc).__name__)


def _connect_reason(exc: BaseException) -> str:
    """Why no connection was made, in the OS's words ("connection refused"): aiohttp's own
    text names an `ssl:default` context even for an http:// URL."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror) and cause.strerror:
            return cause.strerror.lower()
        if isinstance(cause, TimeoutError):
            return "connection timed out"
        if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
            return os.strerror(cause.errno).lower()
        if isinstance(cause, BaseExceptionGroup):  # trio: one error per address tried
            cause = cause.exceptions[0]
        else:
            cause = cause.__cause__ or cause.__context__
    return str(exc)


class Transport:
    """POSTs request bodies to `base_url` + path; owns the httpx client unless given one.

    `headers` (from `basic_auth_headers`) go with each request; None when the client sends
    them already (`make_client(headers=...)`): nothing to merge per request.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        headers: httpx.Headers | None,
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

    def pool_state(self) -> PoolState:
        """The connection pool as it is now, whichever the stack (for tests and diagnostics).

        Reads the pools' private state (httpcore's pool, aiohttp's connector): the only view
        they give, kept to this one place.
        """
        inner: Any = getattr(self._client, "_transport", None)
        pool = getattr(inner, "_pool", None)
        if pool is not None:  # httpcore
            conns = list(pool.connections)
            busy = sum(1 for c in conns if not (c.is_idle() or c.is_closed()))
            return PoolState(sum(1 for c in conns if not c.is_closed()), busy, len(pool._requests))
        session = getattr(inner, "client", None)  # httpx-aiohttp: aiohttp's session, once used
        connector = getattr(session, "connector", None)
        if connector is None or connector.closed:
            return PoolState(0, 0, 0)
        idle = sum(len(conns) for conns in connector._conns.values())
        busy = len(connector._acquired)
        waiting = sum(len(w) for w in connector._waiters.values())
        return PoolState(idle + busy, busy, busy + waiting)

    async def post(self, path: str, body: bytes) -> tuple[int | None, bytes, str]:
        """`(status, body, "")` for any answer, `(None, b"", error)` when there was none."""
        return await self.send("POST", path, body)

    async def get(self, path: str) -> tuple[int | None, bytes, str]:
        """A GET (`/v3/appendix/user_data`, ...), as `post` answers."""
        return await self.send("GET", path, None)

    async def send(
        self, method: str, path: str, body: bytes | None
    ) -> tuple[int | None, bytes, str]:
        """One exchange; never raises for what the network or the server does."""
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
            name = _error_name(exc)
            reason = _connect_reason(exc) if name.startswith(CONNECT_FAILURES) else str(exc)
            error = f"{name}: {reason}" if reason else name
            log.debug("%s %s failed: %s", method, path, error)
            return None, b"", error
        if response is None:
            log.debug("%s %s: no complete answer within %ss", method, path, self._deadline)
            return None, b"", f"no complete answer within {self._deadline:g} s"
        log.debug(
            "%s %s -> HTTP %d, %d bytes", method, path, response.status_code, len(response.content)
        )
        return response.status_code, response.content, ""

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()
