"""The default under asyncio: aiohttp's own client, its pool sized to the concurrency.

A request is one call into aiohttp and nothing around it: httpx's API over aiohttp (the
httpx-aiohttp transport) costs about as much CPU per request again as aiohttp itself
(benchmarks/RESULTS.md, "HTTP stack and connection pool").
"""

from __future__ import annotations

import ssl
from typing import Any

from dfs_async.transport.base import (
    Answer,
    Headers,
    NetworkFailure,
    PoolState,
    answered,
    failed,
    os_reason,
    timed_out,
)

__all__ = ["AiohttpTransport", "aiohttp_failure", "aiohttp_pool_state"]


def aiohttp_failure(exc: BaseException) -> NetworkFailure | None:
    """What an aiohttp error says went wrong (None: not one of aiohttp's). Also read under a
    caller's httpx-aiohttp transport, which maps every connection error to ConnectTimeout,
    a refused connection included."""
    if not type(exc).__module__.startswith("aiohttp"):
        return None
    import aiohttp

    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return NetworkFailure("connect", "connection timed out")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return NetworkFailure("timeout", str(exc) or "the server did not answer in time")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return NetworkFailure("connect", os_reason(exc))
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return NetworkFailure("read", "the server closed the connection")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientConnectionError):
        return NetworkFailure("read", str(exc) or type(exc).__name__)
    return NetworkFailure("protocol", str(exc) or type(exc).__name__)


def aiohttp_pool_state(connector: Any) -> PoolState:
    """aiohttp's connector, from its private state (the only view it gives)."""
    if connector is None or connector.closed:
        return PoolState(0, 0, 0)
    idle = sum(len(conns) for conns in connector._conns.values())
    busy = len(connector._acquired)
    waiting = sum(len(w) for w in connector._waiters.values())
    return PoolState(idle + busy, busy, busy + waiting)


class AiohttpTransport:
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

        self._errors = aiohttp.ClientError
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

    async def send(self, method: str, path: str, body: bytes | None) -> Answer | NetworkFailure:
        try:
            async with self._session.request(method, self._url(path), data=body) as response:
                content = await response.read()
                status = response.status
        except self._errors as exc:
            failure = aiohttp_failure(exc)
            assert failure is not None
            return failed(method, path, failure)
        except TimeoutError:  # the whole exchange's deadline (aiohttp's `total`)
            return timed_out(method, path, self._deadline)
        return answered(method, path, status, content)

    def pool_state(self) -> PoolState:
        return aiohttp_pool_state(self._session.connector)

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def aclose(self) -> None:
        await self._session.close()
