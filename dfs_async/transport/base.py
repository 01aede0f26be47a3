"""What every HTTP stack shares: the `Transport` protocol, its answers and failures as values,
the request headers and body.

`Transport.send` never raises for what the network or the server does: it returns an
`Answer` (any HTTP status and its body) or a `NetworkFailure` (no usable answer: its `kind`
says what went wrong, its `reason` why, in the OS's words where the OS said it). `wire.read`
turns either into the task's `Outcome`; the engine reads `kind` (a server that could never
be connected to is `Unreachable`; `Stats.retries` counts network failures by kind).
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import ssl
from typing import Final, Literal, Protocol

import msgspec

__all__ = [
    "JSON_HEADERS",
    "Answer",
    "FailureKind",
    "Headers",
    "NetworkFailure",
    "OneChunk",
    "PoolState",
    "Transport",
    "basic_auth_headers",
    "os_reason",
    "timed_out",
]

log: Final = logging.getLogger("dfs_async")

JSON_HEADERS: Final = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
    "User-Agent": "dfs-async/0.1",
}

FailureKind = Literal["connect", "timeout", "read", "protocol", "decode"]
"""- `connect`: no connection could be made (refused, DNS, no route, connect timeout, TLS
  handshake): the one kind that can mean the server is unreachable;
- `timeout`: connected, but no complete answer in time;
- `read`: the connection broke while the answer was awaited or read;
- `protocol`: an answer that is not HTTP as it should be;
- `decode`: a body that does not decode (gzip, or not the API's JSON)."""


class NetworkFailure(msgspec.Struct, frozen=True, gc=False):
    """An exchange that brought no usable answer: what went wrong (`kind`) and why."""

    kind: FailureKind
    reason: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


class Answer(msgspec.Struct, frozen=True, gc=False):
    """What the server answered: any HTTP status, and the body (decompressed)."""

    status: int
    body: bytes


class PoolState(msgspec.Struct, frozen=True):
    """`open` connections, `busy` of them serving a request, `requests` in or waiting."""

    open: int
    busy: int
    requests: int


class Transport(Protocol):
    """Sends requests to one base URL; one long-lived pool of connections."""

    async def send(self, method: str, path: str, body: bytes | None) -> Answer | NetworkFailure:
        """The server's answer, or why there was none; never raises for what the network or
        the server does. A whole exchange has a deadline: a server trickling its answer
        could otherwise hold a slot for ever."""
        ...

    def pool_state(self) -> PoolState:
        """The connection pool as it is now (for tests and diagnostics)."""
        ...

    @property
    def closed(self) -> bool: ...

    async def aclose(self) -> None: ...


class Headers(tuple[tuple[str, str], ...]):
    """Request headers as (name, value) pairs, which every stack takes; the Authorization
    value is masked in any repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr([(k, "[secure]" if k.lower() == "authorization" else v) for k, v in self])


def basic_auth_headers(login: str, password: str) -> Headers:
    """Our request headers with Basic auth, built once: not an auth flow per request. The
    password never goes into a URL, a log line or an error message."""
    token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
    return Headers([*JSON_HEADERS.items(), ("Authorization", f"Basic {token}")])


def os_reason(exc: BaseException) -> str:
    """Why no connection was made, in the OS's words ("connection refused"), from the
    exception's causes: a stack's own text names its internals (aiohttp's names an
    `ssl:default` context even for an http:// URL)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):  # its errno is not the OS's
            verify = getattr(cause, "verify_message", None)
            if verify:
                return f"certificate verify failed: {verify}"
            if getattr(cause, "reason", None):
                return f"TLS handshake failed: {cause.reason.lower()}"
            # a stack's own subclass, around ssl's error (aiohttp's keeps it aside)
            inner = getattr(cause, "certificate_error", None)
            cause = inner or cause.__cause__ or cause.__context__
            continue
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
    return str(exc) or type(exc).__name__


def failed(method: str, path: str, failure: NetworkFailure) -> NetworkFailure:
    log.debug("%s %s failed: %s", method, path, failure)
    return failure


def timed_out(method: str, path: str, deadline: float | None) -> NetworkFailure:
    """The whole exchange's deadline passed."""
    return failed(
        method, path, NetworkFailure("timeout", f"no complete answer within {deadline:g} s")
    )


def answered(method: str, path: str, status: int, body: bytes) -> Answer:
    log.debug("%s %s -> HTTP %d, %d bytes", method, path, status, len(body))
    return Answer(status, body)


class OneChunk:
    """A request body of one chunk, iterated without an async generator: httpcore's and
    httpx's own body streams are ones, and a request cancelled while its body is written
    leaves it suspended, which trio reports as a ResourceWarning when it is collected."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes | None) -> None:
        self._body = body

    def __aiter__(self) -> OneChunk:
        return OneChunk(self._body)

    async def __anext__(self) -> bytes:
        body, self._body = self._body, None
        if body is None:
            raise StopAsyncIteration
        return body
