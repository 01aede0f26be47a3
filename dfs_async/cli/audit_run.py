"""A checked `AuditJob` run (audit.py): its dry run, or the audit on one client, each answer
in the journal as it lands, SIGINT/SIGTERM turned into a clean stop; then its end: the
table, the errors file and the report written whole, the journal marked complete, the
summary (the total and each endpoint's share) and the exit code.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from dfs_async.cli.audit import PROG, AuditJob
from dfs_async.cli.cache import watch_warnings
from dfs_async.cli.checkpoint import write_complete
from dfs_async.cli.dry_run import SHOWN, cached_line, price_text, print_dry_run
from dfs_async.cli.exits import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_STOPPED,
    usage_error,
)
from dfs_async.cli.files import Ending, already_complete, complete_facts, resume_hint, stop_message
from dfs_async.cli.journal import Journal
from dfs_async.cli.outputs import write_table
from dfs_async.cli.progress import Display, Snapshot, plural, summary_lines
from dfs_async.cli.run import show_account, watch_signals
from dfs_async.cli.server import start_emulator
from dfs_async.errors import ConfigurationError, RunStopped
from dfs_async.money import money

if TYPE_CHECKING:
    from dfs_async import AuditEstimate, AuditRow, DataForSEO
    from dfs_async.audit import AuditStream

__all__ = ["execute"]


async def execute(job: AuditJob) -> int:
    """Run `job` (or its dry run); its exit code."""
    logging.getLogger("dfs_async").addHandler(logging.NullHandler())
    display = Display(Display.choose(job.quiet))
    if job.complete is not None:
        display.message(already_complete(PROG, job.output, job.complete))
        return EXIT_OK
    display.preamble(job.warnings, job.notices)
    with watch_warnings(display.message):
        if job.dry_run:
            return await _dry_run(job, display)
        return await _execute(job, display)


async def _execute(job: AuditJob, display: Display) -> int:
    from dfs_async import DataForSEO

    async with AsyncExitStack() as stack:
        options = dict(job.client)
        if job.emulator:
            await start_emulator(stack, options)
        spent = job.resumed.cost if job.resumed is not None else 0.0
        budget = None if job.budget is None else max(0.0, job.budget - spent)
        try:
            dfs = await stack.enter_async_context(DataForSEO(**options, max_cost=budget))
        except (ConfigurationError, ValueError) as exc:
            return usage_error(PROG, str(exc))
        stopped = await show_account(dfs, list(job.plan.parts), display)
        if stopped is not None:
            return stopped
        try:
            if job.resumed is None:
                journal = Journal.create(job.journal, job.header)
            else:
                journal = Journal.reopen(job.journal, job.resumed.sound)
        except OSError as exc:
            return usage_error(PROG, f"cannot write {exc.filename}: {exc.strerror}")
        stack.callback(journal.close)
        return await _run(job, dfs, journal, display)


# -- the dry run ------------------------------------------------------------------------------


async def _dry_run(job: AuditJob, display: Display) -> int:
    async def lines(dfs: DataForSEO) -> str:
        return _report(job, await dfs.audit.estimate(job.plan, known=job.known, show=SHOWN))

    return await print_dry_run(PROG, job.client, job.emulator, display, lines)


def _report(job: AuditJob, estimate: AuditEstimate) -> str:
    """Each endpoint's requests and cost bound, then the total."""
    plan = estimate.plan
    facts = [
        plural(len(plan.domains), "domain"),
        f"{plural(len(plan.duplicates), 'duplicate')} dropped",
        f"{len(plan.invalid):,} not a domain",
    ]
    if plan.from_url:
        facts.append(f"{plural(len(plan.from_url), 'URL')} read as a domain")
    lines = [", ".join(facts)]
    if plan.date_from is not None:
        lines.append(f"new/lost: since {plan.date_from} (to the day the API answers)")
    for part, e in estimate.parts.items():
        each = f"{e.method} {e.path}"
        if e.packed:
            what = f"{plural(e.requests, 'request')} of up to {e.page_size:,} domains"
        else:
            what = f"{plural(e.requests, 'request')}, one a domain"
        notes = [f"{e.targets:,} domains left"] if job.resumed is not None else []
        if e.cached:
            notes.append(f"{e.cached:,} domains from the cache")
        if notes:
            what += f" ({', '.join(notes)})"
        if not e.requests:
            lines.append(f"{part}: {what}: nothing to send")
            continue
        lines.append(f"{part}: {what}, cost bound {money(e.cost or 0)}; each {each}, the first:")
        lines += [f"  {msgspec.json.encode([task]).decode()}" for task in e.tasks[:1]]
    total = estimate.cost
    lines.append(
        f"total: {plural(estimate.requests, 'request')},"
        f" cost bound {money(total) if total is not None else 'none'}"
        + (f" (+{money(job.resumed.cost)} spent before)" if job.resumed is not None else "")
    )
    if estimate.cached:
        lines.append(cached_line(estimate.cached, estimate.saved))
    prices = {price_text(e.price) for e in estimate.parts.values()}
    lines.append(f"price: {', '.join(sorted(prices))}")
    return "\n".join(lines)


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the run has seen, for the display and the end."""

    done_before: int  # rows complete from the runs before (the first rows out)
    rows: list[AuditRow] = field(default_factory=list)
    ok: int = 0  # rows of this run with every part
    failed: int = 0  # rows of this run with a part's failure
    answers: int = 0  # part answers of this run


async def _run(job: AuditJob, dfs: DataForSEO, journal: Journal, display: Display) -> int:
    plan = job.plan
    cost_before = job.resumed.cost if job.resumed is not None else 0.0
    costs_before = job.resumed.costs if job.resumed is not None else {}
    tally = Tally(job.done_before)
    audit = dfs.audit(plan, known=job.known)

    def snapshot() -> Snapshot:
        stats = dfs.stats
        left = len(plan.rows) - tally.done_before
        return Snapshot(
            total=len(plan.rows),
            done_before=tally.done_before,
            ok=tally.ok,
            failed=tally.failed,
            items=tally.answers,
            requests=stats.requests,
            answered=stats.answered,
            retry_codes=dict(stats.retries),
            cost=float(stats.cost),
            elapsed=float(stats.elapsed),
            partial=max(0.0, audit.progress * left - tally.ok - tally.failed),
            unit="domain",
            cached=stats.cache_hits,
            saved=stats.cache_saved,
        )

    def costs() -> dict[str, float]:
        spent = dict(costs_before)
        for part, cost in dfs.stats.costs.items():
            spent[part] = round(spent.get(part, 0.0) + cost, 9)
        return spent

    ending = Ending()
    work = anyio.CancelScope()
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_signals, work, ending, dfs, display)
        tg.start_soon(display.run, snapshot)
        with work:
            try:
                async with audit:
                    try:
                        await _consume(audit, journal, tally, dfs, cost_before, costs)
                    except RunStopped as exc:
                        ending.stop(exc)
                    except OSError as exc:
                        ending.stop(f"cannot write the checkpoint: {exc}")
            except RunStopped as exc:  # raised by the block's exit
                ending.stop(exc)
        tg.cancel_scope.cancel()
    try:
        journal.sync()
    except OSError as exc:
        ending.stop(f"cannot write the checkpoint: {exc}")
    spent = cost_before + float(dfs.stats.cost)
    now = snapshot()
    if ending.stopped or ending.interrupted:
        return _stopped(job, tally, now, ending, spent, display)
    return _complete(job, tally, now, spent, costs(), display)


async def _consume(
    audit: AuditStream,
    journal: Journal,
    tally: Tally,
    dfs: DataForSEO,
    cost_before: float,
    costs: Callable[[], dict[str, float]],
) -> None:
    """Each answer into the journal (after what it cost), each row into the tally."""
    from dfs_async import AuditRow

    stats, rows = dfs.stats, tally.rows
    charged = 0.0
    async for event in audit.events():
        if isinstance(event, AuditRow):
            rows.append(event)
            if len(rows) > tally.done_before:
                if event.failures:
                    tally.failed += 1
                else:
                    tally.ok += 1
        else:
            if stats.cost != charged:
                charged = stats.cost
                journal.cost(cost_before + charged, costs())
            journal.answer(event)
            tally.answers += 1
        if not audit.ready:  # what was delivered goes to the OS before waiting for more
            journal.flush()


# -- the end ----------------------------------------------------------------------------------


def _stopped(
    job: AuditJob, tally: Tally, now: Snapshot, ending: Ending, spent: float, display: Display
) -> int:
    if ending.stopped:
        display.message(f"stopped: {stop_message(ending.stopped, job.budget, spent)}")
    else:
        display.message("interrupted")
    for line in summary_lines(now, spent - now.cost, "so far"):
        display.notice(line)
    if job.resumed is None and now.cost == 0 and tally.answers == 0:
        job.journal.unlink(missing_ok=True)
        display.message("nothing was paid or written: the checkpoint is removed")
    else:
        display.message(f"the answers so far are in {job.journal}; resume: {resume_hint(job.argv)}")
    return EXIT_INTERRUPTED if ending.interrupted else EXIT_STOPPED


def _complete(
    job: AuditJob,
    tally: Tally,
    now: Snapshot,
    spent: float,
    costs: dict[str, float],
    display: Display,
) -> int:
    plan = job.plan
    rows = _ordered(job, tally.rows)
    row_type = plan.row_type
    try:
        count = write_table(
            job.output, job.fmt, row_type, ((r.target, row_type(**r.values)) for r in rows)
        )
        failures = _write_errors(job, rows)
        if job.report is not None:
            _write_report(job, rows, spent)
    except OSError as exc:
        display.message(f"stopped: cannot write {exc.filename or 'the table'}: {exc.strerror}")
        display.message(f"nothing is lost: {resume_hint(job.argv)} writes it again, free")
        return EXIT_STOPPED
    failed = sum(1 for r in rows if r.failures)
    facts = complete_facts(job.output, spent, rows=count, failed=failed)
    write_complete(job.journal, job.header, facts)
    for line in summary_lines(now, spent - now.cost):
        display.notice(line)
    display.notice(_shares(plan.parts, costs, spent))
    if plan.date_from is not None:
        ends = {r.values.get("new_lost_to") for r in rows} - {None}
        to = f" to {max(ends)}" if ends else ""  # type: ignore[type-var]
        display.notice(f"new/lost: from {plan.date_from}{to}; rank: {job.rank_scale}")
    order = "in the domains file's order"
    if job.sort is not None:
        column, descending = job.sort
        order = f"sorted by {column}, {'largest' if descending else 'smallest'} first"
    display.notice(f"wrote {plural(count, 'row')} to {job.output} ({order})")
    if job.report is not None:
        display.notice(f"report: {job.report}")
    if failures:
        display.notice(f"{plural(failures, 'failure')} listed in {job.errors}")
        return EXIT_SOME_FAILED
    return EXIT_OK


def _shares(parts: Iterable[str], costs: dict[str, float], spent: float) -> str:
    """`cost by endpoint (this job): bulk_ranks $0.52 (16.7%), ...`: what the API charged."""
    shares = ", ".join(
        f"{part} {money(costs[part])}" + (f" ({costs[part] / spent:.1%})" if spent else "")
        for part in parts
        if part in costs
    )
    return f"cost by endpoint (this job): {shares or 'nothing charged'}"


def _ordered(job: AuditJob, rows: list[AuditRow]) -> list[AuditRow]:
    """The domains file's order, or `--sort`'s (no value last, either way)."""
    index = {target: i for i, target in enumerate(job.plan.rows)}
    rows = sorted(rows, key=lambda r: index[r.target])
    if job.sort is None:
        return rows
    column, descending = job.sort

    def value(row: AuditRow) -> Any:
        return row.target if column == "target" else row.values.get(column)

    known = [r for r in rows if value(r) is not None]
    known.sort(key=value, reverse=descending)  # stable: ties keep the file's order
    return known + [r for r in rows if value(r) is None]


def _write_errors(job: AuditJob, rows: Iterable[AuditRow]) -> int:
    """The errors file, one line a failed part of a domain (none: no file); how many."""
    lines = [
        msgspec.json.encode(
            {
                "target": row.target,
                "status_code": f.status_code,
                "status_message": f.status_message,
                "attempts": f.attempts,
                "endpoint": part,
            }
        )
        for row in rows
        for part, f in row.failures.items()
    ]
    if not lines:
        job.errors.unlink(missing_ok=True)
        return 0
    tmp = job.errors.with_name(job.errors.name + ".tmp")
    tmp.write_bytes(b"\n".join(lines) + b"\n")
    os.replace(tmp, job.errors)
    return len(lines)


def _write_report(job: AuditJob, rows: list[AuditRow], spent: float) -> None:
    from dfs_async.cli.report import ReportInfo, write_report

    assert job.report is not None
    ends = [d for r in rows if (d := r.values.get("new_lost_to")) is not None]
    info = ReportInfo(
        domains=len(rows),
        ran_at=datetime.now(UTC).replace(microsecond=0),
        server=job.server,
        cost=spent,
        date_from=job.plan.date_from,
        date_to=max(ends) if ends else None,
        rank_scale=job.rank_scale,  # type: ignore[arg-type]
    )
    write_report(job.report, ({"target": r.target, **r.values} for r in rows), info)
