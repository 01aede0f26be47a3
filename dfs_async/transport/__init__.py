"""The HTTP side: one long-lived connection pool, POST with Basic auth, failures as values.

`base` holds what every stack shares (the `Transport` protocol, its `Answer` and
`NetworkFailure` values, the headers, the one-chunk body); one module per HTTP stack; `factory`
picks one for the running event loop:

- `aiohttp`: the default under asyncio (the least CPU per request of the stacks measured);
- `httpcore`: the default under trio, where aiohttp cannot run: httpcore's connections,
  without httpx's client around them and without httpcore's pool;
- `httpx`: `http="httpx"`, for what only httpx's client does (proxies from the environment)
  and for a caller's own httpx client or transport.

httpx and httpcore are imported only when a client runs on them.
"""

from dfs_async.transport.base import (
    JSON_HEADERS,
    Answer,
    FailureKind,
    Headers,
    NetworkFailure,
    PoolState,
    Transport,
    basic_auth_headers,
)
from dfs_async.transport.factory import HTTP_STACKS, HttpStack, open_transport, pick_stack

__all__ = [
    "HTTP_STACKS",
    "JSON_HEADERS",
    "Answer",
    "FailureKind",
    "Headers",
    "HttpStack",
    "NetworkFailure",
    "PoolState",
    "Transport",
    "basic_auth_headers",
    "open_transport",
    "pick_stack",
]
