"""An awaited call: one request of one unit of work, retried by the policy; or its answer
from the response cache (`Engine.recall`), which keeps the answers it fetches."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import anyio

from dfs_async.codes import Action
from dfs_async.endpoints import Endpoint
from dfs_async.engine.exchange import Engine
from dfs_async.engine.retries import Tries
from dfs_async.errors import RunStopped, TaskFailed
from dfs_async.models import PagedResult
from dfs_async.plan import PageRequest
from dfs_async.records import Page
from dfs_async.wire import build_task

__all__ = ["call"]

log: Final = logging.getLogger("dfs_async")


async def call(
    engine: Engine,
    endpoint: Endpoint,
    key: str,
    unit: Mapping[str, Any],
    fields: Mapping[str, Any],
    *,
    rows: int | None = None,
) -> Any:
    """One request of `unit` (named `key`) with `fields` (checked already): what the
    endpoint's paging kind makes of its answer (a `Page`, or the result). `rows`: the most
    rows the answer can hold (a bulk request's targets), else the page's `limit`.

    Raises TaskFailed when the request is wrong or its retries ran out, a RunStopped when
    the run cannot go on (the account, the budget, the daily limit, a server never reached).
    An answer from the cache cost nothing (a `Page`'s `cost` is 0).
    """
    limit = rows if rows is not None else fields.get("limit", endpoint.default_limit or 1)
    page = PageRequest(int(fields.get("offset", 0)), int(limit))
    task = build_task(endpoint, fields, unit)
    tries = Tries()
    await engine.ready()
    recall = engine.recalling() if endpoint.takes_units else None
    keep = None
    if recall is not None:
        cache_key = recall.key(endpoint, task)
        [entry] = await recall.entries((cache_key,))
        hit = None if entry is None else recall.decoded(endpoint, entry)
        if hit is not None:
            answer = endpoint.paging.answer(key, page, hit.results, 0.0)
            recall.served(1, _items(answer), hit.cost)
            return answer
        keep = recall.keeper(cache_key, page)
    while True:
        worst = engine.price(endpoint).worst(page.limit)
        engine.admit(endpoint, worst)
        outcome = await engine.exchange(endpoint, task, worst, keep=keep)
        tries.sent += 1
        if outcome.action is Action.DELIVER:
            answer = endpoint.paging.answer(key, page, outcome.results, outcome.cost)
            engine.delivered(_items(answer))
            if recall is not None and recall.due:
                await recall.flush()
            return answer
        step = engine.after(outcome, tries, key)
        if isinstance(step, RunStopped):
            raise step
        if step is None:
            raise TaskFailed(key, outcome.code, outcome.message)
        engine.stats.count_retry(outcome.cause)
        log.debug("%s: %s %s, retrying in %.2fs", key, outcome.code, outcome.message, step)
        await anyio.sleep(step)


def _items(answer: Any) -> int:
    """The records an answer holds: a page's items, else one."""
    return len(answer.items or ()) if isinstance(answer, Page | PagedResult) else 1
