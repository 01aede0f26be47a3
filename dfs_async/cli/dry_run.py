"""`--dry-run`: what a run would send first and what it could cost, sending nothing.

The figures are the client's own estimate (`EndpointCall.estimate`), at the account's price
when there are credentials to read it with (user_data is free: no task is sent), else at the
documented one.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

import msgspec

from dfs_async.cli.exits import EXIT_OK, EXIT_STOPPED, usage_error
from dfs_async.cli.job import Job
from dfs_async.cli.progress import Display
from dfs_async.errors import ConfigurationError, RunStopped
from dfs_async.money import money

if TYPE_CHECKING:
    from dfs_async import DataForSEO, Estimate, Price

__all__ = ["dry_run", "price_text", "report"]

SHOWN: Final = 5  # first requests a dry run prints in full


def price_text(price: Price) -> str:
    return f"{money(price.per_request)} a request + {money(price.per_item)} an item"


async def dry_run(job: Job, display: Display) -> int:
    from dfs_async import DataForSEO

    try:  # built to check its options and to estimate: never opened, nothing is sent
        planner = DataForSEO(login="dry-run", password="dry-run", **job.client)
    except (ConfigurationError, ValueError) as exc:
        return usage_error(job.prog, str(exc))
    options = job.client
    where = None
    if job.emulator or not options["account_limits"] or options["rate"] != "account":
        estimate = await _estimate(planner, job)
    elif not (os.environ.get("DATAFORSEO_LOGIN") and os.environ.get("DATAFORSEO_PASSWORD")):
        estimate = await _estimate(planner, job)
        where = "price: documented (no credentials to read the account's)"
    else:
        try:
            async with DataForSEO(**options) as dfs:
                account = await dfs.ready()
                estimate = await _estimate(dfs, job)
        except ConfigurationError as exc:  # the shared limits' Redis unreachable
            return usage_error(job.prog, str(exc))
        except RunStopped as exc:  # ... or lost while it was asked for the account
            display.message(f"stopped: {exc}")
            return EXIT_STOPPED
        where = "price: the account's (user_data)"
        if account is None or account.info is None:
            where = account.notice if account is not None else None
    print(report(job, estimate))
    if where:
        display.notice(where)
    return EXIT_OK


async def _estimate(dfs: DataForSEO, job: Job) -> Estimate:
    call = getattr(dfs.backlinks, job.endpoint.name)
    estimate: Estimate = await call.estimate(
        job.todo, max_items=job.max_items, show=SHOWN, **job.fields
    )
    return estimate


def report(job: Job, estimate: Estimate) -> str:
    """The dry run's lines: the targets, the first requests, the cost bound, the price."""
    targets, price = job.targets, estimate.price
    todo = estimate.targets
    lines = [
        f"targets: {len(targets.valid)} valid, {len(targets.invalid)} invalid,"
        f" {len(targets.duplicates)} duplicates dropped"
        + (f", {len(job.done_before)} done before" if job.resumed else ""),
    ]
    each = f"each {estimate.method} {estimate.path}"
    tasks = [msgspec.json.encode([task]).decode() for task in estimate.tasks]
    if estimate.packed:
        lines += [
            f"requests: {estimate.requests:,}, {each} with up to {estimate.page_size:,}"
            " targets, the first:",
            f"  {tasks[0]}" if tasks else "  (none)",
            f"cost bound: {money(estimate.first_cost)} ({money(price.per_request)} a request,"
            f" {money(price.per_item)} a target)",
        ]
    else:
        lines.append(f"first-page requests: {todo}, {each} [task]:")
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
    lines.append(f"price: {price_text(price)}")
    return "\n".join(lines)
