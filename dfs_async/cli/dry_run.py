"""`--dry-run`: what a run would send first and what it could cost, sending nothing.

The figures are the client's own estimate (`EndpointCall.estimate`), at the account's price
when there are credentials to read it with (user_data is free: no task is sent), else at the
documented one. With a cache, the client is opened to look the first requests up in it
(nothing is sent either): what it holds is counted apart and left out of the bound.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import msgspec

from dfs_async.cli.exits import EXIT_OK, EXIT_STOPPED, usage_error
from dfs_async.cli.files import broken_pipe
from dfs_async.cli.job import Job
from dfs_async.cli.progress import Display, plural
from dfs_async.errors import ConfigurationError, RunStopped
from dfs_async.money import money

if TYPE_CHECKING:
    from dfs_async import DataForSEO, Estimate, Price

__all__ = ["cached_line", "dry_run", "estimating", "price_text", "print_dry_run", "report"]

SHOWN: Final = 5  # first requests a dry run prints in full


def price_text(price: Price) -> str:
    return f"{money(price.per_request)} a request + {money(price.per_item)} an item"


def cached_line(cached: int, saved: float) -> str:
    """What the response cache holds of a dry run's requests."""
    return (
        f"from the cache: {plural(cached, 'answer')} ({money(saved)} not spent), left out of"
        " the requests and the cost bound above"
    )


@asynccontextmanager
async def estimating(
    options: dict[str, Any], emulator: bool
) -> AsyncIterator[tuple[DataForSEO, str | None]]:
    """A client to estimate with, sending no task, and where its prices come from: the
    account's when there are credentials to read them with (user_data is free), else the
    documented ones. ConfigurationError/ValueError for bad options (or the shared limits'
    Redis unreachable), RunStopped if that Redis is lost while the account is read."""
    from dfs_async import DataForSEO

    # Built to check its options and to estimate: nothing is sent.
    planner = DataForSEO(login="dry-run", password="dry-run", **options)
    where: str | None = None
    if emulator or not options["account_limits"] or options["rate"] != "account":
        pass
    elif not (os.environ.get("DATAFORSEO_LOGIN") and os.environ.get("DATAFORSEO_PASSWORD")):
        where = "price: documented (no credentials to read the account's)"
    else:
        async with DataForSEO(**options) as dfs:
            account = await dfs.ready()
            where = "price: the account's (user_data)"
            if account is None or account.info is None:
                where = account.notice if account is not None else None
            yield dfs, where
        return
    if planner.cache_spec is None:
        yield planner, where  # never opened
        return
    # Opened only to reach its cache: not as one more process of the shared limits.
    alone = {**options, "shared_limits": False}
    async with DataForSEO(login="dry-run", password="dry-run", **alone) as dfs:
        yield dfs, where


def show(text: str) -> int | None:
    """Print a dry run's report on stdout; the exit code if the reader went away."""
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `| head`
        return broken_pipe()
    return None


async def dry_run(job: Job, display: Display) -> int:
    async def lines(dfs: DataForSEO) -> str:
        call = getattr(dfs.backlinks, job.endpoint.name)
        estimate = await call.estimate(job.todo, max_items=job.max_items, show=SHOWN, **job.fields)
        return report(job, estimate)

    return await print_dry_run(job.prog, job.client, job.emulator, display, lines)


async def print_dry_run(
    prog: str,
    options: dict[str, Any],
    emulator: bool,
    display: Display,
    lines: Callable[[DataForSEO], Awaitable[str]],
) -> int:
    """A dry run: the `lines` a client made to estimate with gives (`estimating`) on
    stdout, where its prices come from on stderr; the exit code."""
    try:
        async with estimating(options, emulator) as (dfs, where):
            text = await lines(dfs)
    except (ConfigurationError, ValueError) as exc:  # the shared limits' Redis unreachable too
        return usage_error(prog, str(exc))
    except RunStopped as exc:  # ... or lost while the account was read
        display.message(f"stopped: {exc}")
        return EXIT_STOPPED
    gone = show(text)
    if gone is not None:
        return gone
    if where:
        display.notice(where)
    return EXIT_OK


def report(job: Job, estimate: Estimate) -> str:
    """The dry run's lines: the targets, the first requests, the cost bound, the price."""
    targets, price = job.targets, estimate.price
    todo = estimate.requests
    lines = [
        f"targets: {len(targets.valid)} valid, {len(targets.invalid)} invalid,"
        f" {len(targets.duplicates)} duplicates dropped"
        + (f", {len(job.done_before)} done before" if job.resumed else ""),
    ]
    each = f"each {estimate.method} {estimate.path}"
    tasks = [msgspec.json.encode([task]).decode() for task in estimate.tasks]
    if estimate.packed and not estimate.requests:
        lines.append("requests: none (the cache holds every target)")
    elif estimate.packed:
        lines += [
            f"requests: {estimate.requests:,}, {each} with up to {estimate.page_size:,}"
            " targets, the first:",
            f"  {tasks[0]}" if tasks else "  (none)",
            f"cost bound: {money(estimate.first_cost)} ({money(price.per_request)} a request,"
            f" {money(price.per_item)} a target)",
        ]
    else:
        lines.append(
            f"first-page requests: {todo}, {each} [task]:"
            if todo or not estimate.cached
            else "first-page requests: none (the cache holds every first page)"
        )
        lines += [f"  {task}" for task in tasks]
        if todo > len(tasks):
            lines.append(f"  ... and {todo - len(tasks):,} more")
        request = money(estimate.request_cost)
        if job.endpoint.paging.max_limit is None:
            lines.append(
                f"cost bound: {money(estimate.first_cost)} (one request per target, {request} each)"
            )
        elif estimate.cost is not None:
            lines.append(
                f"cost bound: {money(estimate.cost)} (at most {estimate.most_requests:,}"
                f" requests of up to {estimate.page_size} items, {request} each)"
            )
        else:
            lines.append(
                f"cost bound: {money(estimate.first_cost)} for the first pages ({request} each);"
                f" targets with more than {estimate.page_size} items need more pages: no bound"
                " without --max-items"
            )
    if estimate.cached:
        lines.append(cached_line(estimate.cached, estimate.saved))
    lines.append(f"price: {price_text(price)}")
    return "\n".join(lines)
