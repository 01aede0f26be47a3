"""`dfs-async audit DOMAINS_FILE -o audit.csv`: thousands of domains to one table.

One row per domain with the figures people compare: rank, backlinks, referring domains and
main domains, spam score, new and lost backlinks and referring domains since `--date-from`,
from the `bulk_*` endpoints (1,000 domains a request), joined by domain; `--with summary`
adds the `summary` endpoint's fields (`summary_*`, one request a domain).

How: the audit is a sequence of endpoint runs, each the very `dfs-async <endpoint>` run
(endpoint.py: checks, pacing, progress, checkpoint, budget) writing its records to a part
file in `OUTPUT.parts/`, then a join of the parts into OUTPUT in the domains file's order.
So resume is the endpoint runs' own: a finished part leaves `NAME.done` (its cost), the part
in progress its checkpoint; `--resume` skips the first and continues the second. `--budget`
counts the whole audit: each part gets what the parts before it left. A domain an endpoint
failed for still gets its row, with that endpoint's columns empty; its failure is in the
errors file with the endpoint's name. Exit codes: as the endpoint runs' (0 all joined, 1 a
domain failed for some endpoint, 2 usage, 3 stopped, 130 interrupted: --resume continues).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import anyio
import msgspec

from dfs_async.cli.exits import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_STOPPED,
    EXIT_USAGE,
    UsageError,
    usage_error,
)
from dfs_async.cli.job import prepare
from dfs_async.cli.outputs import FORMATS, encoder_for, format_for, jsonl_to_parquet
from dfs_async.cli.server import add_server_options
from dfs_async.endpoints import BY_NAME, Endpoint
from dfs_async.models.fields import fields_of

PROG: Final = "dfs-async audit"
# The bulk endpoints an audit joins, in order; `--with summary` adds `summary`.
PARTS: Final = (
    "bulk_ranks",
    "bulk_backlinks",
    "bulk_referring_domains",
    "bulk_spam_score",
    "bulk_new_lost_backlinks",
    "bulk_new_lost_referring_domains",
)
OPTIONAL: Final = ("summary",)
PREFIX: Final = {"summary": "summary_"}  # its fields would clash with the bulk ones

_decode_line = msgspec.json.Decoder(dict[str, Any])


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "audit",
        help="one row per domain: rank, backlinks, referring domains, spam score, new/lost",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("targets_file", metavar="DOMAINS_FILE", help="one domain a line; '-': stdin")
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the table: .csv, .jsonl, .parquet"
    )
    p.add_argument("--format", choices=FORMATS, help="(default: from the output's extension)")
    p.add_argument(
        "--with",
        dest="with_",
        action="append",
        choices=OPTIONAL,
        default=[],
        help="add an endpoint's fields: summary (one request a domain; see --dry-run)",
    )
    p.add_argument(
        "--date-from",
        metavar="YYYY-MM-DD",
        help="new and lost since (at most a year ago; default: the API's, a month ago)",
    )
    add_server_options(p)
    run = p.add_argument_group("run")
    run.add_argument("--concurrency", metavar="N", help="simultaneous requests (default 30)")
    run.add_argument("--rate", metavar="PER_MINUTE", help="requests per minute")
    run.add_argument("--no-account-limits", action="store_true", help="do not read user_data")
    run.add_argument("--budget", type=float, metavar="USD", help="for the whole audit")
    run.add_argument("--dry-run", action="store_true", help="what each part would send and cost")
    again = run.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the unfinished audit")
    again.add_argument("--restart", action="store_true", help="discard it and start over")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.set_defaults(run=run_command)


class Audit:
    """The audit's files and parts, from its arguments."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.output = Path(args.output)
        fmt = format_for(args.output, args.format)
        if fmt is None:
            raise UsageError(f"cannot tell the format of {args.output}: use --format")
        self.fmt = fmt
        self.parts_dir = self.output.with_name(self.output.name + ".parts")
        self.errors = self.output.with_name(self.output.name + ".errors.jsonl")
        self.names = [*PARTS, *args.with_]
        if args.targets_file == "-":
            raise UsageError("the domains are read once per endpoint: pass a file, not '-'")
        if args.budget is not None and not args.budget > 0:
            raise UsageError(f"--budget: must be more than 0, got {args.budget}")

    def part(self, name: str) -> Path:
        return self.parts_dir / f"{name}.jsonl"

    def done(self, name: str) -> Path:
        return self.parts_dir / f"{name}.done"

    def spent_before(self, name: str) -> float:
        """What the finished parts before `name` cost."""
        spent = 0.0
        for other in self.names[: self.names.index(name)]:
            if self.done(other).exists():
                spent += float(msgspec.json.decode(self.done(other).read_bytes())["cost"])
        return spent

    def argv(self, name: str) -> list[str]:
        """The endpoint run of one part, as its command line."""
        a = self.args
        argv = [name.replace("_", "-"), a.targets_file, "-o", str(self.part(name))]
        argv += ["--errors", str(self.parts_dir / f"{name}.errors.jsonl")]
        if name.startswith("bulk_new_lost") and a.date_from:
            argv += ["--date-from", a.date_from]
        for flag, value in (
            ("--base-url", a.base_url),
            ("--concurrency", a.concurrency),
            ("--shared-limits", a.shared_limits),
        ):
            if value is not None:
                argv += [flag, str(value)]
        if a.rate is not None:
            argv += ["--rate", str(a.rate)]
        flags = ("sandbox", "emulator", "dry-run", "quiet")
        argv += [f"--{flag}" for flag in flags if getattr(a, flag.replace("-", "_"))]
        if a.no_account_limits:
            argv.append("--no-account-limits")
        if a.budget is not None:
            argv += ["--budget", repr(max(a.budget - self.spent_before(name), 1e-9))]
        if self.part(name).with_name(self.part(name).name + ".checkpoint").exists():
            argv.append("--resume")
        return argv


def run_command(args: argparse.Namespace) -> int:
    try:
        audit = Audit(args)
        _check_unfinished(audit)
    except UsageError as exc:
        return usage_error(PROG, str(exc))
    created = not audit.parts_dir.exists()
    audit.parts_dir.mkdir(exist_ok=True)  # a dry run's parts check their paths there too
    try:
        return _run_parts(audit)
    finally:
        if args.dry_run and created:
            shutil.rmtree(audit.parts_dir)


def _run_parts(audit: Audit) -> int:
    args = audit.args
    failed = False
    for name in audit.names:
        if audit.done(name).exists():
            continue
        code = _run_part(audit, name)
        if code == EXIT_SOME_FAILED:
            failed = True
        elif code != EXIT_OK:
            if code in (EXIT_STOPPED, EXIT_INTERRUPTED):
                print(f"{PROG}: stopped in {name}; continue with --resume", file=sys.stderr)
            return code
    if args.dry_run:
        return EXIT_OK
    rows, failures = _join(audit)
    if not args.quiet:
        print(f"{PROG}: wrote {rows:,} rows to {audit.output}", file=sys.stderr)
    shutil.rmtree(audit.parts_dir)
    return EXIT_SOME_FAILED if failed or failures else EXIT_OK


def _check_unfinished(audit: Audit) -> None:
    args = audit.args
    if args.dry_run or not audit.parts_dir.exists():
        return
    if args.restart:
        shutil.rmtree(audit.parts_dir)
    elif not args.resume:
        raise UsageError(
            f"{audit.parts_dir} holds an unfinished audit: add --resume to continue it, or"
            " --restart to discard it and start over"
        )


def _run_part(audit: Audit, name: str) -> int:
    """One endpoint run of the audit, in this process, as its own command would run."""
    from dfs_async.cli import build_parser
    from dfs_async.cli.exits import parse
    from dfs_async.cli.run import execute

    argv = audit.argv(name)
    if not audit.args.quiet:
        print(f"{PROG}: {name} ...", file=sys.stderr, flush=True)
    args = parse(build_parser(), argv)
    try:
        job = prepare(BY_NAME[name], args, argv)
    except UsageError as exc:
        usage_error(PROG, f"{name}: {exc}")
        return EXIT_USAGE
    code: int = anyio.run(execute, job)
    if code in (EXIT_OK, EXIT_SOME_FAILED) and not audit.args.dry_run:
        audit.done(name).write_bytes(msgspec.json.encode({"cost": job.spent}))
    return code


def columns(names: list[str]) -> dict[str, tuple[str, str]]:
    """The table's columns after `target`: `column -> (part, field)`, in part order."""
    out: dict[str, tuple[str, str]] = {}
    for name in names:
        prefix = PREFIX.get(name, "")
        for info in fields_of(BY_NAME[name].item):
            if info.name in ("target", "type") or (not prefix and info.name in out):
                continue
            out[prefix + info.name] = (name, info.name)
    return out


def row_type(names: list[str]) -> type[msgspec.Struct]:
    """The joined row as a Struct, so the output formats (outputs.py) write it as any item."""
    fields: list[tuple[str, Any, Any]] = []
    for column, (name, field) in columns(names).items():
        annotation = next(f.annotation for f in fields_of(BY_NAME[name].item) if f.name == field)
        fields.append((column, annotation, None))
    return msgspec.defstruct("AuditRow", fields, kw_only=True)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    if path.exists():
        with path.open("rb") as f:
            for line in f:
                yield _decode_line.decode(line)


def _join(audit: Audit) -> tuple[int, int]:
    """The parts joined by domain into the output, in the domains' order; (rows, failures)."""
    targets = _targets(audit)
    by_part: dict[str, dict[str, dict[str, Any]]] = {
        name: {r["target"]: r for r in _records(audit.part(name))} for name in audit.names
    }
    cols = columns(audit.names)
    row = row_type(audit.names)
    encoder = encoder_for("jsonl" if audit.fmt == "parquet" else audit.fmt, row)
    staging = audit.output.with_name(audit.output.name + ".partial.jsonl")
    path = staging if audit.fmt == "parquet" else audit.output
    with path.open("wb") as out:
        out.write(encoder.header())
        for target in targets:
            values = {
                column: by_part[name].get(target, {}).get(field)
                for column, (name, field) in cols.items()
            }
            out.write(encoder.encode(target, row(**values)))
    if audit.fmt == "parquet":
        jsonl_to_parquet(staging, audit.output, row)
        staging.unlink()
    failures = 0
    with audit.errors.open("wb") as errors:
        for name in audit.names:
            for failure in _records(audit.parts_dir / f"{name}.errors.jsonl"):
                errors.write(msgspec.json.encode({**failure, "endpoint": name}) + b"\n")
                failures += 1
    if not failures:
        audit.errors.unlink()
    return len(targets), failures


def _targets(audit: Audit) -> list[str]:
    """The domains as every part read them (valid, normalised, no duplicates)."""
    from dfs_async.cli.targets_file import read_targets

    spec: Endpoint = BY_NAME[audit.names[0]]
    targets = read_targets(audit.args.targets_file, [], spec.unit)
    return targets.valid + [raw for raw, _ in targets.invalid]
