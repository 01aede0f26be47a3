"""The engine: every request of a client, its retries, and the record streams.

Rooms of one job each:

- `exchange`: `Engine`, what every request of a client shares, and `Engine.exchange`, the one
  path every request takes (pacing, send, read, settle, feedback);
- `budget`: what may be sent (the budget, the account's daily limits);
- `retries`: the one decision after an outcome that delivered nothing;
- `single`: an awaited call, one request;
- `stream`: what both kinds of stream share (workers, units, delivery, backoff, stopping);
- `pages`: the stream of a paged or unpaged endpoint, a request per page;
- `bulk`: the stream of a bulk endpoint, up to 1,000 targets a request;
- `recall`: the response cache as the engine uses it (what a request takes from it instead
  of the server, what it keeps); imported only by a client that has a cache; `held`:
  which of a bulk endpoint's cached answers holds which target.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any

from dfs_async.endpoints import Endpoint
from dfs_async.engine.budget import Budget
from dfs_async.engine.bulk import BulkRun
from dfs_async.engine.exchange import Engine
from dfs_async.engine.pages import PagesRun
from dfs_async.engine.single import call
from dfs_async.engine.stream import PAGES_AHEAD, Chunk, Run
from dfs_async.plan import Bulk
from dfs_async.records import PageProgress

__all__ = ["PAGES_AHEAD", "Budget", "Chunk", "Engine", "Run", "call", "open_run"]


def open_run(
    endpoint: Endpoint,
    targets: Iterable[Any] | AsyncIterable[Any],
    fields: dict[str, Any],
    *,
    limit: int,
    offset: int = 0,
    max_items: int | None = None,
    concurrency: int = 30,
    resume: Callable[[str], PageProgress | None] | None = None,
) -> Run[Any]:
    """The stream of every item of `targets` (`fields` checked already): a bulk endpoint's
    targets go packed, the others' a request per page."""
    options: dict[str, Any] = {
        "limit": limit, "offset": offset, "max_items": max_items, "concurrency": concurrency,
        "resume": resume,
    }  # fmt: skip
    kind = endpoint.paging
    if isinstance(kind, Bulk):
        return BulkRun(endpoint, targets, fields, kind=kind, **options)
    return PagesRun(endpoint, targets, fields, **options)
