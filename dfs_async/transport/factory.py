"""Which transport a client gets: `open_transport`, on top of the stacks (each imported only
when a client runs on it)."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any, Final, Literal

import sniffio

from dfs_async.transport.base import Headers, Transport

if TYPE_CHECKING:
    import httpx

__all__ = ["HTTP_STACKS", "HttpStack", "open_transport", "pick_stack"]

HttpStack = Literal["auto", "aiohttp", "httpcore", "httpx"]
HTTP_STACKS: Final[tuple[HttpStack, ...]] = ("auto", "aiohttp", "httpcore", "httpx")


def pick_stack(stack: HttpStack) -> Literal["aiohttp", "httpcore", "httpx"]:
    """The stack for the running event loop: "auto" is aiohttp on asyncio, httpcore
    elsewhere (RuntimeError for "aiohttp" outside asyncio)."""
    library = sniffio.current_async_library()
    if stack == "auto":
        return "aiohttp" if library == "asyncio" else "httpcore"
    if stack == "aiohttp" and library != "asyncio":
        raise RuntimeError(f"http='aiohttp' runs only on asyncio (this is {library})")
    return stack


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
    """The transport for this client in the running event loop: the caller's httpx client
    or transport if given, else `stack` ("auto": aiohttp under asyncio, httpcore elsewhere).
    RuntimeError for "aiohttp" outside asyncio."""
    picked = pick_stack(stack) if http_client is None and transport is None else "httpx"
    own: dict[str, Any] = {
        "base_url": base_url, "concurrency": concurrency, "timeout": timeout, "verify": verify,
    }  # fmt: skip
    if picked == "aiohttp":
        from dfs_async.transport.aiohttp import AiohttpTransport

        return AiohttpTransport(headers=headers, **own)
    if picked == "httpcore":
        from dfs_async.transport.httpcore import HttpcoreTransport

        return HttpcoreTransport(headers=headers, **own)
    from dfs_async.transport.httpx import HttpxTransport, make_client

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
