"""A run's files, from the first byte to the exit code: the writer on fresh or resumed files,
and the end of the run (the summary, what is kept or removed, how to resume, the code)."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from dfs_async.cli.budget import budget_reached
from dfs_async.cli.checkpoint import Checkpoint, write_complete
from dfs_async.cli.exits import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_STOPPED,
)
from dfs_async.cli.job import Job
from dfs_async.cli.outputs import encoder_for, jsonl_to_parquet
from dfs_async.cli.progress import Display, Snapshot, plural, summary_lines
from dfs_async.cli.writer import AuditWriter, LazyFile, Sink, failure_row
from dfs_async.codes import BAD_CREDENTIALS, INVALID_FIELD
from dfs_async.errors import AccountError, BudgetExhausted, Interrupted, RunStopped
from dfs_async.money import money

__all__ = [
    "Ending",
    "already_complete",
    "broken_pipe",
    "complete_facts",
    "finish",
    "open_outputs",
    "resume_hint",
    "stop_message",
]

CREDENTIALS_REFUSED = (BAD_CREDENTIALS, 401)  # the API's code, and the HTTP status


def open_outputs(job: Job, stack: AsyncExitStack) -> AuditWriter:
    """The writer, on fresh files or on the resumed ones cut back to their checkpoint."""
    files = job.files
    encoder = encoder_for(files.fmt, job.endpoint.item)
    records = files.records
    output: BinaryIO
    checkpoint: Checkpoint | None = None
    if records is None:
        output = sys.stdout.buffer
        output.write(encoder.header())
    elif job.resumed is None:
        assert files.checkpoint is not None
        files.checkpoint.unlink(missing_ok=True)  # before the output it describes changes
        output = stack.enter_context(records.open("wb"))
        output.write(encoder.header())
        output.flush()
        os.fsync(output.fileno())
        checkpoint = Checkpoint.create(files.checkpoint, job.header, output.tell())
    else:
        assert files.checkpoint is not None
        output = stack.enter_context(records.open("r+b"))
        output.truncate(job.resumed.output_size)
        output.seek(job.resumed.output_size)
        checkpoint = Checkpoint.reopen(files.checkpoint, job.resumed_sound)
    if checkpoint is not None:
        stack.callback(checkpoint.close)

    errors: Sink
    if files.errors is None:
        errors = sys.stderr.buffer
    else:
        # The errors file as the checkpoint knows it; created at the first failure otherwise.
        kept = job.resumed.final_failures if job.resumed is not None else []
        _rewrite_errors(files.errors, kept)
        lazy = LazyFile(files.errors, "ab")
        stack.callback(lazy.close)
        errors = lazy
    writer = AuditWriter(
        encoder, output, errors, checkpoint, cap=job.max_items, before=_written_before(job)
    )
    done = job.done_before
    for raw, rule in job.targets.invalid:
        if raw not in done:
            row = failure_row(raw, INVALID_FIELD, f"Invalid Field: 'target': {rule}", 0)
            writer.failed_target(row, job.spent_before)
    return writer


def _written_before(job: Job) -> dict[str, int]:
    """About how many items of each unfinished target the resumed runs wrote (their pages
    are full but the last), for the progress of big targets."""
    limit = job.fields.get("limit")
    if job.resumed is None or not isinstance(limit, int):
        return {}
    return {target: len(pages) * limit for target, pages in job.resumed.pages.items()}


def _rewrite_errors(path: Path, failures: list[dict[str, Any]]) -> None:
    """The errors file holding `failures` (retried failures left out), none when empty."""
    if not failures:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        for row in failures:
            f.write(msgspec.json.encode(row) + b"\n")
    os.replace(tmp, path)


def resume_hint(argv: list[str]) -> str:
    """The user's own command, with --resume (and without --restart)."""
    again = [a for a in argv if a != "--restart"]
    again += [] if "--resume" in again else ["--resume"]
    return f"dfs-async {shlex.join(again)}"


@dataclass
class Ending:
    """How a run ended, as far as its files care."""

    stopped: RunStopped | str | None = None  # what stopped the run
    interrupted: bool = False
    broken_pipe: bool = False  # the reader of stdout went away (`| head`)

    def stop(self, why: RunStopped | str) -> None:
        """The run stopped: interrupted (the client was stopped on a signal), or `why`."""
        if isinstance(why, Interrupted):
            self.interrupted = True
        elif self.stopped is None:
            self.stopped = why


def broken_pipe() -> int:
    """The reader of stdout went away (`| head`): end quietly, as Unix tools do. stdout is
    pointed at /dev/null so that the interpreter's last flush cannot complain either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def stop_message(stopped: RunStopped | str, budget: float | None, spent: float) -> str:
    """Why a job stopped, in the job's terms (the library speaks of one client's run): its
    `budget`, having spent `spent` in all across resumes."""
    if isinstance(stopped, BudgetExhausted) and budget is not None:
        return budget_reached(budget, spent)
    if isinstance(stopped, AccountError) and stopped.status_code in CREDENTIALS_REFUSED:
        return (
            f"the credentials were refused ({stopped}): check DATAFORSEO_LOGIN and"
            " DATAFORSEO_PASSWORD"
        )
    return str(stopped)


def _nothing_to_resume(job: Job, writer: AuditWriter, now: Snapshot) -> bool:
    """A fresh run that stopped having paid nothing and written no page (refused
    credentials, a server never reached, interrupted at once): its output and checkpoint
    are only clutter that would block the next run, and --resume would start over anyway."""
    return job.resumed is None and writer.pages == 0 and now.cost == 0


def complete_facts(output: Path, cost: float, **counts: int) -> dict[str, Any]:
    """What a finished job's checkpoint keeps: its output's size (a resume checks it is
    still the job's), what it cost, its counts and when it finished."""
    return {
        "out": output.stat().st_size,
        "cost": round(cost, 6),
        **counts,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def already_complete(prog: str, output: Path | None, facts: dict[str, Any]) -> str:
    """The line of a --resume that found the job complete."""
    counts = ", ".join(f"{facts[k]:,} {k}" for k in ("rows", "ok", "failed") if k in facts)
    return (
        f"{prog}: {output} is complete ({counts}; {money(float(facts.get('cost', 0)))},"
        f" finished {facts.get('at', '?')}): nothing sent; run without --resume to run it again"
    )


def _remove_leftovers(job: Job) -> None:
    files = job.files
    for path in (files.output, files.staging, files.checkpoint, files.errors):
        if path is not None:
            path.unlink(missing_ok=True)


def finish(
    job: Job,
    writer: AuditWriter,
    display: Display,
    snapshot: Callable[[], Snapshot],
    ending: Ending,
) -> int:
    """The end of a run: its summary, its files kept (and how to resume) or completed, and
    its exit code."""
    files, cost_before = job.files, job.spent_before
    if ending.stopped or ending.interrupted:
        now = snapshot()
        if ending.stopped:
            stopped = stop_message(ending.stopped, job.budget, cost_before + now.cost)
            display.message(f"stopped: {stopped}")
        else:
            display.message("interrupted")
        for line in summary_lines(now, cost_before, "so far"):
            display.notice(line)
        if _nothing_to_resume(job, writer, now):
            _remove_leftovers(job)
            display.message("nothing was paid or written: the output and checkpoint are removed")
        elif files.output is None:
            display.message("the output went to stdout: rerun with -o FILE to be able to resume")
        else:
            kept: Path | str = files.output
            if files.staging is not None:
                kept = f"{files.staging} (parquet: at the end)"
            display.message(f"records so far are in {kept}; resume: {resume_hint(job.argv)}")
        return EXIT_INTERRUPTED if ending.interrupted else EXIT_STOPPED
    if files.staging is not None and files.output is not None:
        rows = jsonl_to_parquet(files.staging, files.output, job.endpoint.item)
        display.notice(f"wrote {plural(rows, 'row')} to {files.output}")
    failed = writer.failed + (len(job.resumed.final_failures) if job.resumed else 0)
    if files.checkpoint is not None and files.output is not None:
        ok = writer.ok + (len(job.resumed.ok) if job.resumed else 0)
        facts = complete_facts(files.output, job.spent, ok=ok, failed=failed)
        write_complete(files.checkpoint, job.header, facts)
    if files.staging is not None:
        files.staging.unlink(missing_ok=True)
    for line in summary_lines(snapshot(), cost_before):
        display.notice(line)
    if failed:
        where = files.errors if files.errors is not None else "stderr"
        display.notice(f"{plural(failed, 'failed target')} listed in {where}")
        return EXIT_SOME_FAILED
    return EXIT_OK
