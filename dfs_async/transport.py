"""The HTTP side: one long-lived connection pool, POST with Basic auth, failures as values.

`Transport.send` never raises for what the network or the server does: it returns the HTTP
status and body, or no status and the error's description, for `wire.read` to classify
(network errors and truncated bodies are retried). A whole exchange has a deadline
(`timeout`): a server trickling its answer could otherwise hold a slot for ever.

Two implementations behind that one method (`open_transport` picks, see `HTTP_STACKS`):

- `AiohttpTransport`, the default under asyncio: aiohttp's own client, its pool sized to the
  concurrency. A request is one call into aiohttp and nothing around it: httpx's API over
  aiohttp (the httpx-aiohttp transport, our default before) cost about as much CPU per request
  again as aiohttp itself (benchmarks/RESULTS.md, "HTTP stack and connection pool").
- `HttpxTransport`, under trio (aiohttp runs only on asyncio) and for a caller's own httpx
  client or transport: httpx's pool (httpcore) with its default keep-alive (20), measured
  cheaper under trio than one raised to the concurrency (httpcore scans all its connections
  for every request: encode/httpx#3215, encode/httpcore#822).

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
    "AiohttpTransport",
    "HttpStack",
    "HttpxTransport",
    "PoolState",
    "Transport",
    "basic_auth_headers",
    "make_client",
    "open_transport",
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
    """The stack for the running event loop: "auto" is aiohttp on asyncio, httpx elsewhere
    (RuntimeError for "aiohttp" outside asyncio)."""
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
    headers: httpx.Headers | None = None,
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
    """Sends requests to `base_url` + path; see the module docstring. `send` is the one
    method an implementation provides (with `pool_state`, `closed` and `aclose`)."""

    async def send(
        self, method: str, path: str, body: bytes | None
    ) -> tuple[int | None, bytes, str]:
        """`(status, body, "")` for any answer, `(None, b"", error)` when there was none."""
        raise NotImplementedError

    async def post(self, path: str, body: bytes) -> tuple[int | None, bytes, str]:
        return await self.send("POST", path, body)

    async def get(self, path: str) -> tuple[int | None, bytes, str]:
        """A GET (`/v3/appendix/user_data`, ...), as `send` answers."""
        return await self.send("GET", path, None)

    def pool_state(self) -> PoolState:
        """The connection pool as it is now (for tests and diagnostics)."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


def _failed(method: str, path: str, exc: Exception) -> tuple[None, bytes, str]:
    """A failed exchange as a value: httpx's name for it and why, in the OS's words when no
    connection could be made."""
    name = _error_name(exc)
    reason = _connect_reason(exc) if name.startswith(CONNECT_FAILURES) else str(exc)
    error = f"{name}: {reason}" if reason else name
    log.debug("%s %s failed: %s", method, path, error)
    return None, b"", error


def _timed_out(method: str, path: str, deadline: float | None) -> tuple[None, bytes, str]:
    log.debug("%s %s: no complete answer within %ss", method, path, deadline)
    return None, b"", f"no complete answer within {deadline:g} s"


def _aiohttp_pool_state(connector: Any) -> PoolState:
    """aiohttp's connector, from its private state (the only view it gives)."""
    if connector is None or connector.closed:
        return PoolState(0, 0, 0)
    idle = sum(len(conns) for conns in connector._conns.values())
    busy = len(connector._acquired)
    waiting = sum(len(w) for w in connector._waiters.values())
    return PoolState(idle + busy, busy, busy + waiting)


class AiohttpTransport(Transport):
    """asyncio only: aiohttp's client, its pool of `concurrency` connections, our headers
    on the session (sent with every request, merged by aiohttp once per request as for any
    session header), `timeout` for a whole exchange (connecting within at most 30 s)."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: httpx.Headers,
        concurrency: int,
        timeout: float,
        verify: bool | str | ssl.SSLContext = True,
    ) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        context: ssl.SSLContext | bool = True
        if isinstance(verify, str):
            context = ssl.create_default_context(cafile=verify)
        elif isinstance(verify, ssl.SSLContext):
            context = verify
        self.ssl_context = context  # True: aiohttp's default, which verifies
        connector = aiohttp.TCPConnector(limit=concurrency, ssl=context)
        self._deadline = timeout
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=list(headers.multi_items()),
            timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 30.0)),
            skip_auto_headers=("User-Agent",),
        )
        self._base_url = base_url.rstrip("/")
        self._urls: dict[str, Any] = {}  # path -> parsed URL (yarl), parsed once

    def _url(self, path: str) -> Any:
        url = self._urls.get(path)
        if url is None:
            from yarl import URL

            url = self._urls[path] = URL(self._base_url + path)
        return url

    async def send(
        self, method: str, path: str, body: bytes | None
    ) -> tuple[int | None, bytes, str]:
        try:
            async with self._session.request(method, self._url(path), data=body) as response:
                content = await response.read()
                status = response.status
        except self._aiohttp.ClientError as exc:
            return _failed(method, path, exc)
        except TimeoutError:  # the whole exchange's deadline (aiohttp's `total`)
            return _timed_out(method, path, self._deadline)
        log.debug("%s %s -> HTTP %d, %d bytes", method, path, status, len(content))
        return status, content, ""

    def pool_state(self) -> PoolState:
        return _aiohttp_pool_state(self._session.connector)

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def aclose(self) -> None:
        await self._session.close()


class HttpxTransport(Transport):
    """httpx's client (ours, or the caller's when `owned` is False: not closed by us).

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
        return _aiohttp_pool_state(getattr(session, "connector", None))

    async def send(
        self, method: str, path: str, body: bytes | None
    ) -> tuple[int | None, bytes, str]:
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
            return _failed(method, path, exc)
        if response is None:
            return _timed_out(method, path, self._deadline)
        log.debug(
            "%s %s -> HTTP %d, %d bytes", method, path, response.status_code, len(response.content)
        )
        return response.status_code, response.content, ""

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()


def open_transport(
    *,
    base_url: str,
    headers: httpx.Headers,
    concurrency: int,
    timeout: float,
    verify: bool | str | ssl.SSLContext = True,
    stack: HttpStack = "auto",
    http_client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Transport:
    """The transport for this client in the running event loop (see the module docstring):
    the caller's httpx client or transport if given, else `stack` ("auto": aiohttp under
    asyncio, httpx elsewhere). RuntimeError for "aiohttp" outside asyncio."""
    if http_client is not None:
        return HttpxTransport(
            http_client, base_url=base_url, headers=headers, owned=False, deadline=timeout
        )
    if transport is None and pick_stack(stack) == "aiohttp":
        return AiohttpTransport(
            base_url=base_url,
            headers=headers,
            concurrency=concurrency,
            timeout=timeout,
            verify=verify,
        )
    client = make_client(
        concurrency=concurrency,
        timeout=timeout,
        verify=verify,
        transport=transport,
        headers=headers,
    )
    return HttpxTransport(client, base_url=base_url, headers=None, owned=True, deadline=timeout)
