"""A checked `Job` run: the client opened (on the emulator if asked), the account read, the
stream consumed into the writer while the display ticks, SIGINT/SIGTERM turned into a clean
stop, and the ending handed to `files.finish`."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import anyio

from dfs_async.cli.budget import budget_left
from dfs_async.cli.cache import watch_warnings
from dfs_async.cli.dry_run import dry_run, price_text
from dfs_async.cli.exits import EXIT_OK, EXIT_STOPPED, usage_error
from dfs_async.cli.files import Ending, already_complete, broken_pipe, finish, open_outputs
from dfs_async.cli.job import Job
from dfs_async.cli.progress import Display, Snapshot
from dfs_async.cli.server import start_emulator
from dfs_async.cli.writer import AuditWriter, failure_row
from dfs_async.errors import ConfigurationError, RunStopped

if TYPE_CHECKING:
    from dfs_async import Account, DataForSEO

__all__ = ["execute", "show_account", "watch_signals"]


async def execute(job: Job) -> int:
    """Run `job` (or its dry run); its exit code."""
    # The library's notices (a warning when the account cannot be read) are shown by the
    # display, once: not also by logging's last-resort handler.
    logging.getLogger("dfs_async").addHandler(logging.NullHandler())
    display = Display(Display.choose(job.quiet))
    if job.complete is not None:
        display.message(already_complete(job.prog, job.files.output, job.complete))
        return EXIT_OK
    display.preamble(job.warnings, job.notices)
    with watch_warnings(display.message):
        if job.dry_run:
            return await dry_run(job, display)
        return await _execute(job, display)


async def _execute(job: Job, display: Display) -> int:
    from dfs_async import DataForSEO

    async with AsyncExitStack() as stack:
        options = dict(job.client)
        if job.emulator:
            await start_emulator(stack, options)
        try:  # the first client only estimates what the first request can cost
            first = await _call(DataForSEO(**options), job).estimate(
                job.todo, max_items=job.max_items, show=0, **job.fields
            )
            budget, nothing = budget_left(job, first.request_cost)
            if nothing is not None:
                display.message(f"stopped: {nothing}")
                return EXIT_STOPPED
            dfs = await stack.enter_async_context(DataForSEO(**options, max_cost=budget))
        except (ConfigurationError, ValueError) as exc:
            return usage_error(job.prog, str(exc))
        stopped = await show_account(dfs, [job.endpoint.name], display)
        if stopped is not None:
            return stopped
        try:
            writer = open_outputs(job, stack)
        except OSError as exc:
            return usage_error(job.prog, f"cannot write {exc.filename}: {exc.strerror}")
        return await _run(job, dfs, writer, display)


def _call(dfs: DataForSEO, job: Job) -> Any:
    """The client's call of the job's endpoint."""
    return getattr(dfs.backlinks, job.endpoint.name)


async def show_account(dfs: DataForSEO, names: list[str], display: Display) -> int | None:
    """Read the account before the run (what the first request would do) and show what the
    run goes by (`_account_line`); the exit code if it cannot start (the shared limits'
    Redis lost), else None."""
    try:
        account = await dfs.ready()
    except RunStopped as exc:
        display.message(f"stopped: {exc}")
        return EXIT_STOPPED
    line = _account_line(dfs, account, names)
    if line is not None:
        display.notice(line)
    return None


def _account_line(dfs: DataForSEO, account: Account | None, names: list[str]) -> str | None:
    """The fallback notice, or one line of what the run goes by: the pace; the price and
    the requests left today of each endpoint `names`."""
    if account is None:
        return None
    info = account.info
    if info is None:
        return account.notice
    line = f"account: pacing at {account.rate:,.0f} requests a minute"
    if info.per_minute is not None:
        line += f" (its limit: {info.per_minute:,.0f})"
    prices = {name: price_text(getattr(dfs.backlinks, name).price()) for name in names}
    if len(names) > 1 and len(set(prices.values())) == 1:
        line += f"; {prices[names[0]]} for each endpoint"
        prices = {}
    for name in names:
        price = prices.get(name)
        limit = info.daily_limits.get(name)
        if price is None and limit is None:
            continue
        line += f"; {name}:" + (f" {price}" if price else "")
        if limit is not None:
            left = max(0, limit - info.used_today.get(name, 0))
            line += f"{',' if price else ''} {left:,} of {limit:,} requests a day left today"
    return line


async def watch_signals(
    work: anyio.CancelScope, ending: Ending, dfs: DataForSEO, display: Display
) -> None:
    """SIGINT or SIGTERM stops the client (`stop`): nothing more is sent, and the requests
    in flight land and are written, so nothing paid for is lost; a second one stops at once
    (the requests in flight are then lost, and asked again on resume)."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if ending.interrupted:
                work.cancel()
                return
            ending.interrupted = True
            dfs.stop()
            display.message("stopping: the requests in flight land first (again: stop now)")


async def _run(job: Job, dfs: DataForSEO, writer: AuditWriter, display: Display) -> int:
    cost_before = job.spent_before
    done_before = len(job.done_before)

    def cost() -> float:
        return cost_before + float(dfs.stats.cost)

    def snapshot() -> Snapshot:
        stats = dfs.stats
        share, left, told = writer.unfinished()
        remaining = len(job.targets) - done_before - writer.ok - writer.failed
        return Snapshot(
            total=len(job.targets),
            done_before=done_before,
            ok=writer.ok,
            failed=writer.failed,
            items=writer.items,
            requests=stats.requests,
            answered=stats.answered,
            retry_codes=dict(stats.retries),
            cost=float(stats.cost),
            elapsed=float(stats.elapsed),
            empty=writer.empty_count,
            empty_names=tuple(writer.empty),
            partial=share,
            items_left=left if 0 < remaining <= told else None,
            cached=stats.cache_hits,
            saved=stats.cache_saved,
        )

    ending = Ending()
    work = anyio.CancelScope()
    todo = job.todo
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_signals, work, ending, dfs, display)
        tg.start_soon(display.run, snapshot)
        with work:
            try:
                if todo:
                    resumed = job.resumed
                    stream = _call(dfs, job).stream(
                        todo,
                        max_items=job.max_items,
                        resume=resumed.page_progress if resumed is not None else None,
                        **job.fields,
                    )
                    async with stream as records:
                        # Caught inside the block: what leaves a task group's block is
                        # wrapped in an ExceptionGroup.
                        try:
                            await _consume(records, writer, cost)
                        except RunStopped as exc:
                            ending.stop(exc)
                        except BrokenPipeError:
                            ending.broken_pipe = True
                        except OSError as exc:
                            ending.stop(f"cannot write the output: {exc}")
            except RunStopped as exc:  # raised by the block's exit
                ending.stop(exc)
        tg.cancel_scope.cancel()
    try:
        writer.sync()
    except BrokenPipeError:
        ending.broken_pipe = True
    except OSError as exc:
        ending.stopped = ending.stopped or f"cannot write the output: {exc}"
    if ending.broken_pipe:
        return broken_pipe()
    job.spent = cost()
    return finish(job, writer, display, snapshot, ending)


async def _consume(records: Any, writer: AuditWriter, cost: Callable[[], float]) -> None:
    """Feed the stream's events to the writer (the hot loop of a run)."""
    from dfs_async import Failure, PageDone, Record, TargetDone

    record = writer.record
    async for event in records.events():
        if type(event) is Record:
            record(event.target, event.item)
        elif type(event) is PageDone:
            writer.page_done(
                event.target, event.offset, event.total_count, event.items, cost(), event.cursor
            )
        elif type(event) is TargetDone:
            writer.done(event.target, cost())
        elif type(event) is Failure:
            row = failure_row(event.target, event.status_code, event.status_message, event.attempts)
            writer.failed_target(row, cost())
