"""An endpoint subcommand's arguments checked into a `Job`, before anything is written or
sent: any problem is a UsageError (one line, exit 2).

Checked: the output and its format, the errors file, the server and credentials, every
request field through the endpoint's own rules, the targets file, and, with `--resume`, the
checkpoint of the run it continues.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dfs_async.cli.checkpoint import (
    Checkpoint,
    CheckpointMismatch,
    Progress,
    fingerprint,
    finished,
    same_job,
)
from dfs_async.cli.exits import UsageError
from dfs_async.cli.fields import request_fields
from dfs_async.cli.options import client_options, concurrency_warning
from dfs_async.cli.outputs import FORMATS, check_parquet, format_for
from dfs_async.cli.server import check_server
from dfs_async.cli.targets_file import Targets, read_targets
from dfs_async.endpoints import Endpoint

__all__ = ["Files", "Job", "check_writable", "command_name", "complete_job", "prepare"]


def command_name(endpoint: Endpoint) -> str:
    """The subcommand of an endpoint: its name with dashes."""
    return endpoint.name.replace("_", "-")


@dataclass(frozen=True)
class Files:
    """Where a run writes: `output` None for stdout, `errors` None for stderr; `staging` the
    JSONL file a Parquet run writes (and resumes) before converting it."""

    fmt: str
    output: Path | None
    errors: Path | None
    checkpoint: Path | None
    staging: Path | None

    @property
    def records(self) -> Path | None:
        """The file records are appended to: the staging file for parquet."""
        return self.staging or self.output


@dataclass
class Job:
    """One run of an endpoint's subcommand, checked: what to ask (`fields`, `max_items`),
    of which `targets`, through which client (`client`: DataForSEO's options), into which
    `files`; `resumed`, what the runs it continues did."""

    endpoint: Endpoint
    targets: Targets
    fields: dict[str, Any]  # request fields but the target, nulls dropped
    max_items: int | None
    files: Files
    client: dict[str, Any]  # DataForSEO's options (no credentials)
    emulator: bool  # the client goes to an emulator started for the run
    budget: float | None  # USD, for the whole job (resumed runs included)
    dry_run: bool
    quiet: bool
    argv: list[str]
    header: dict[str, Any]  # the checkpoint's: what the run is
    resumed: Progress | None = None
    resumed_sound: int = 0  # the checkpoint's lines that are sound
    complete: dict[str, Any] | None = None  # --resume of a finished job: its facts
    spent: float = 0.0  # what the whole job cost (resumed runs included), once it ran
    notices: list[str] = field(default_factory=list)  # not shown with --quiet
    warnings: list[str] = field(default_factory=list)  # always shown

    @property
    def done_before(self) -> set[str]:
        return self.resumed.done if self.resumed else set()

    @property
    def todo(self) -> list[str]:
        done = self.done_before
        return [t for t in self.targets.valid if t not in done]

    @property
    def spent_before(self) -> float:
        """What the runs this one resumes cost."""
        return self.resumed.cost if self.resumed else 0.0

    @property
    def prog(self) -> str:
        return f"dfs-async {command_name(self.endpoint)}"


def check_writable(path: Path, what: str) -> None:
    """UsageError unless `path` can be written (its directory exists, no directory there)."""
    if path.is_dir():
        raise UsageError(f"{what} {path} is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{what} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{what} {path} cannot be written (permission denied)")


def _files(args: argparse.Namespace) -> Files:
    """Where the run writes, checked."""
    stdout = args.output in (None, "-")
    if not stdout and Path(args.output).is_dir():
        raise UsageError(f"output {args.output} is a directory")
    fmt = format_for(args.output, args.format)
    if fmt is None:
        raise UsageError(
            f"cannot tell the format of {args.output} from its extension: use --format "
            + "|".join(FORMATS)
        )
    if args.resume and stdout:
        raise UsageError("--resume needs -o FILE: output on stdout cannot be resumed")
    check_server(args, sending=not args.dry_run)
    if fmt == "parquet":
        if stdout:
            raise UsageError("parquet output needs -o FILE (it cannot go to stdout)")
        missing = check_parquet()
        if missing:
            raise UsageError(missing)
    output = errors = checkpoint = staging = None
    if not stdout:
        output = Path(args.output)
        check_writable(output, "output")
        checkpoint = output.with_name(output.name + ".checkpoint")
        if fmt == "parquet":
            staging = output.with_name(output.name + ".partial.jsonl")
    if args.errors not in (None, "-"):
        errors = Path(args.errors)
    elif args.errors is None and output is not None:
        errors = output.with_name(output.name + ".errors.jsonl")
    if errors is not None:
        check_writable(errors, "errors file")
        if output is not None and errors.resolve() == output.resolve():
            raise UsageError("the errors file must not be the output file")
    return Files(fmt, output, errors, checkpoint, staging)


def prepare(endpoint: Endpoint, args: argparse.Namespace, argv: list[str]) -> Job:
    """Check every input; UsageError on the first problem. Nothing is written or sent."""
    files = _files(args)
    fields = request_fields(args, endpoint)
    targets = read_targets(args.targets_file, args.target, endpoint.unit)
    where = "emulator" if args.emulator else "sandbox" if args.sandbox else "api"
    header = {
        "command": command_name(endpoint),
        "targets": fingerprint(sorted(targets.valid) + sorted(r for r, _ in targets.invalid)),
        "params": fingerprint(
            {"fields": fields, "max_items": args.max_items, "format": files.fmt, "server": where}
        ),
    }
    client = client_options(args)
    job = Job(
        endpoint=endpoint,
        targets=targets,
        fields=fields,
        max_items=args.max_items,
        files=files,
        client=client,
        emulator=args.emulator,
        budget=args.budget,
        dry_run=args.dry_run,
        quiet=args.quiet,
        argv=argv,
        header=header,
    )
    if targets.duplicates:
        shown = ", ".join(targets.duplicates[:5]) + (", ..." if len(targets.duplicates) > 5 else "")
        job.notices.append(f"dropped {len(targets.duplicates)} duplicate target(s): {shown}")
    if targets.invalid:
        job.notices.append(
            f"{len(targets.invalid)} invalid target(s), reported as failed: "
            + ", ".join(repr(raw) for raw, _ in targets.invalid[:5])
        )
    if warning := concurrency_warning(args):
        job.warnings.append(warning)
    checkpoint = files.checkpoint
    if checkpoint is None or not checkpoint.exists():
        if args.resume:
            job.notices.append("no checkpoint to resume: starting the run")
        return job
    record = finished(checkpoint)
    if record is not None:  # a finished run blocks nothing; with --resume, is it this one?
        if args.resume:
            job.complete = complete_job(checkpoint, record, header, files.output)
            if job.complete is None:
                job.notices.append(f"{checkpoint} is of another, finished job: starting this one")
    elif args.resume:
        _load_checkpoint(job, checkpoint)
    elif args.restart:
        job.notices.append(f"starting over: the unfinished run of {checkpoint} is discarded")
    else:
        # A paid partial run is never thrown away by forgetting a flag.
        raise UsageError(
            f"{files.records} holds an unfinished run ({checkpoint}): add --resume to"
            " continue it, or --restart to discard it and start over"
        )
    return job


def complete_job(
    checkpoint: Path,
    record: tuple[dict[str, Any], dict[str, Any]],
    header: dict[str, Any],
    output: Path | None,
) -> dict[str, Any] | None:
    """The facts of a finished checkpoint's `record` if it is this very job's (nothing is
    left to send), else None: another job's, which does not block a new one. UsageError
    when the job's output is gone or changed since: its money was spent, so running it
    again is asked for explicitly."""
    head, facts = record
    if same_job(head, header) is not None:
        return None
    size = output.stat().st_size if output is not None and output.exists() else None
    if size != facts.get("out"):
        what = "is missing" if size is None else "was changed since"
        raise UsageError(
            f"this job was completed ({checkpoint}) but {output} {what}: run it without"
            " --resume to run it again"
        )
    return facts


def _load_checkpoint(job: Job, path: Path) -> None:
    records = job.files.records
    assert records is not None
    size = records.stat().st_size if records.exists() else -1
    try:
        progress, sound = Checkpoint.load(path, job.header, available=max(size, 0))
    except CheckpointMismatch as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"checkpoint {path} cannot be read: {exc.strerror}") from None
    if size < progress.output_size:
        raise UsageError(
            f"{records} is shorter than its checkpoint {path} says (was it changed?):"
            " start over without --resume"
        )
    job.resumed, job.resumed_sound = progress, sound
    retried = progress.retried
    job.notices.append(
        f"resuming: {len(progress.done)} of {len(job.targets)} targets already done"
        + (f", {progress.partly_done} partly" if progress.partly_done else "")
        + (f", {len(retried)} failed transiently and tried again" if retried else "")
    )
