"""The HTTP side: one long-lived connection pool, POST with Basic auth, failures as values.

`Transport.send` never raises for what the network or the server does: it returns the HTTP
status and body, or no status and the error's description, for `wire.read` to classify
(network errors and truncated bodies are retried). A whole exchange has a deadline
(`timeout`): a server trickling its answer could otherwise hold a slot for ever.

Three implementations behind that one method (`open_transport` picks, see `HTTP_STACKS`):

- `AiohttpTransport`, the default under asyncio: aiohttp's own client, its pool sized to the
  concurrency. A request is one call into aiohttp and nothing around it: httpx's API over
  aiohttp (the httpx-aiohttp transport, our default before) cost about as much CPU per request
  again as aiohttp itself (benchmarks/RESULTS.md, "HTTP stack and connection pool").
- `httpcore_transport.HttpcoreTransport`, the default under trio (aiohttp runs only on
  asyncio): httpcore's connections, without httpx's client around them and without
  httpcore's pool scanning every connection for every request (see there).
- `httpx_transport.HttpxTransport`, `http="httpx"`: httpx's client, for what only it does
  (proxies from the environment) and for a caller's own httpx client or transport.

The Authorization header is built once (not an auth flow per request) and kept in
`Headers`, which masks it in any repr; it never goes into a URL, a log line or an error
message. httpx and httpcore are imported only when a client runs on them.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import sniffio

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CONNECT_FAILURES",
    "HTTP_STACKS",
    "JSON_HEADERS",
    "AiohttpTransport",
    "Headers",
    "HttpStack",
    "PoolState",
    "Transport",
    "basic_auth_headers",
    "open_transport",
    "pick_stack",
]

HttpStack = Literal["auto", "aiohttp", "httpcore", "httpx"]
HTTP_STACKS: Final[tuple[HttpStack, ...]] = ("auto", "aiohttp", "httpcore", "httpx")

log: Final = logging.getLogger("dfs_async")

JSON_HEADERS: Final = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
    "User-Agent": "dfs-async/0.1",
}


class Headers(tuple[tuple[str, str], ...]):
    """Request headers as (name, value) pairs, which either stack takes; the Authorization
    value is masked in any repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr([(k, "[secure]" if k.lower() == "authorization" else v) for k, v in self])


def basic_auth_headers(login: str, password: str) -> Headers:
    """Our request headers with Basic auth, built once (masked in reprs)."""
    token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
    return Headers([*JSON_HEADERS.items(), ("Authorization", f"Basic {token}")])


def pick_stack(stack: HttpStack) -> Literal["aiohttp", "httpcore", "httpx"]:
    """The stack for the running event loop: "auto" is aiohttp on asyncio, httpcore
    elsewhere (RuntimeError for "aiohttp" outside asyncio)."""
    library = sniffio.current_async_library()
    if stack == "auto":
        return "aiohttp" if library == "asyncio" else "httpcore"
    if stack == "aiohttp" and library != "asyncio":
        raise RuntimeError(f"http='aiohttp' runs only on asyncio (this is {library})")
    return stack


@dataclass(frozen=True)
class PoolState:
    """`open` connections, `busy` of them serving a request, `requests` in or waiting."""

    open: int
    busy: int
    requests: int


# How `Transport.send` begins the description of an exchange that could not connect
# (`_error_name`'s names; "ClientConnector" for aiohttp errors it leaves unmapped).
CONNECT_FAILURES: Final = ("ConnectError", "ConnectTimeout", "ClientConnector")


def _error_name(exc: Exception) -> str:
    """httpx's name for a failed exchange, whichever stack failed: aiohttp's errors (ours,
    or under a caller's httpx-aiohttp transport, which maps every connection error to
    ConnectTimeout, a refused connection included) are named as httpx itself would."""
    cause = exc.__cause__ if type(exc).__module__.startswith("httpx") else exc
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
        """A POST (every endpoint's task array), as `send` answers: it never raises."""
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


def failed(method: str, path: str, exc: Exception) -> tuple[None, bytes, str]:
    """A failed exchange as a value: httpx's name for it and why, in the OS's words when no
    connection could be made."""
    name = _error_name(exc)
    reason = _connect_reason(exc) if name.startswith(CONNECT_FAILURES) else str(exc)
    error = f"{name}: {reason}" if reason else name
    log.debug("%s %s failed: %s", method, path, error)
    return None, b"", error


def timed_out(method: str, path: str, deadline: float | None) -> tuple[None, bytes, str]:
    log.debug("%s %s: no complete answer within %ss", method, path, deadline)
    return None, b"", f"no complete answer within {deadline:g} s"


def aiohttp_pool_state(connector: Any) -> PoolState:
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
        headers: Headers,
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
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 30.0)),
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
            return failed(method, path, exc)
        except TimeoutError:  # the whole exchange's deadline (aiohttp's `total`)
            return timed_out(method, path, self._deadline)
        log.debug("%s %s -> HTTP %d, %d bytes", method, path, status, len(content))
        return status, content, ""

    def pool_state(self) -> PoolState:
        return aiohttp_pool_state(self._session.connector)

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def aclose(self) -> None:
        await self._session.close()


def open_transport(
    *,
    base_url: str,
    headers: Headers,
    concurrency: int,
    timeout: float,
    verify: bool | str | ssl.SSLContext = True,
    stack: HttpStack = "auto",
    http_client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Transport:
    """The transport for this client in the running event loop (see the module docstring):
    the caller's httpx client or transport if given, else `stack` ("auto": aiohttp under
    asyncio, httpcore elsewhere). RuntimeError for "aiohttp" outside asyncio."""
    picked = pick_stack(stack) if http_client is None and transport is None else "httpx"
    own: dict[str, Any] = {
        "base_url": base_url, "concurrency": concurrency, "timeout": timeout, "verify": verify,
    }  # fmt: skip
    if picked == "aiohttp":
        return AiohttpTransport(headers=headers, **own)
    if picked == "httpcore":
        from dfs_async.httpcore_transport import HttpcoreTransport

        return HttpcoreTransport(headers=headers, **own)
    from dfs_async.httpx_transport import HttpxTransport, make_client

    if http_client is not None:
        return HttpxTransport(
            http_client, base_url=base_url, headers=headers, owned=False, deadline=timeout
        )
    client = make_client(
        concurrency=concurrency,
        timeout=timeout,
        verify=verify,
        transport=transport,
        headers=headers,
    )
    return HttpxTransport(client, base_url=base_url, headers=None, owned=True, deadline=timeout)
