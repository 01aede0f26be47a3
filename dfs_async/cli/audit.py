"""`dfs-async audit DOMAINS_FILE -o audit.csv`: thousands of domains to one table, as one job.

The command line's face of the library's audit (`dfs.audit`, dfs_async/audit.py): every part
runs at once on one client, with one budget, one checkpoint (journal.py) and one total.

By stage: `prepare` checks everything a user can get wrong before the first paid request
(the options, every part's fields through the library's plan, the domains file, the output,
its format's library, the report's, the server and credentials, the checkpoint of a resumed
run) into an `AuditJob`: any problem is one line and exit 2, and nothing is left behind;
`execute` runs it (or its dry run): each answer goes to the journal as it lands, and once
every row is in, the table is written whole (`-o`, in the file's order or `--sort`ed), with
the errors file and the report, and the journal keeps only that the job is complete.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anyio

from dfs_async.audit import OPTIONAL_PARTS, PARTS, AuditPlan
from dfs_async.cli.checkpoint import CheckpointMismatch, fingerprint, finished, is_final
from dfs_async.cli.exits import (
    UsageError,
    usage_error,
)
from dfs_async.cli.fields import option
from dfs_async.cli.job import check_writable, complete_job
from dfs_async.cli.journal import Journal, Resumed
from dfs_async.cli.options import (
    HELP_END,
    add_job_options,
    client_options,
    concurrency_warning,
)
from dfs_async.cli.outputs import FORMATS, check_parquet, format_for
from dfs_async.cli.server import check_server
from dfs_async.cli.targets_file import read_lines
from dfs_async.errors import InvalidTarget, ValidationError
from dfs_async.models.fields import kinds_of
from dfs_async.money import money
from dfs_async.targets import domain_of

if TYPE_CHECKING:
    from dfs_async import PartAnswer

__all__ = ["register"]

PROG: Final = "dfs-async audit"

DESCRIPTION: Final = """\
One row per domain with the figures people compare: rank, backlinks, referring domains and
main domains, spam score, new and lost backlinks and referring domains (since --date-from),
from the bulk_* endpoints (1,000 domains a request), joined by domain; --with summary adds
the summary endpoint's fields (summary_*, one request a domain). Every endpoint runs at once,
with one budget, one checkpoint and one total.

DOMAINS_FILE holds one domain a line (blank lines and # comments skipped); '-' reads stdin.
A page URL is read as its domain (https://www.forbes.com/about -> forbes.com: the summary
says which); two lines of one domain make one row; a line that is no domain gets a row with
empty figures and its failure in the errors file.
"""

EPILOG: Final = (
    """\
the table:
  One row per domain: target, then each endpoint's figures, then new_lost_from and
  new_lost_to, the period the new/lost columns count (to: the day the API answered).
  In the domains file's order, or --sort COLUMN (largest first for figures, A first for
  text; COLUMN,asc or COLUMN,desc to choose). Written whole when every row is in. A domain
  an endpoint failed for keeps its row, that endpoint's columns empty, the failure in
  OUTPUT.errors.jsonl ({"target", "status_code", "status_message", "attempts", "endpoint"}).
  Parquet keeps types (timestamps, dates); CSV and JSONL write them as text.

resume:
  OUTPUT.checkpoint records each answer as it lands. After a crash, kill -9 or Ctrl-C, the
  same command with --resume asks only what is missing (every domain once, nothing paid
  twice but what was in flight), with the same new/lost period. A finished audit's
  checkpoint says it is complete: --resume then sends nothing. --budget is for the whole
  audit, across resumed runs.

exit codes:
  0    every row complete
  1    an endpoint failed for some domain (listed in the errors file)
  2    usage or configuration error, found before any request; nothing is written
  3    stopped by an account error, the budget, a daily limit, a server never reached
       or the shared limits' Redis lost; --resume continues
  130  interrupted (Ctrl-C, SIGTERM); --resume continues

"""
    + HELP_END
)


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "audit",
        help="one row per domain: rank, backlinks, referring domains, spam score, new/lost",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("targets_file", metavar="DOMAINS_FILE", help="one domain a line; '-': stdin")
    table = p.add_argument_group("the table")
    table.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the table: .csv, .jsonl, .parquet"
    )
    table.add_argument("--format", choices=FORMATS, help="(default: from the output's extension)")
    table.add_argument(
        "--with",
        dest="with_",
        action="append",
        choices=OPTIONAL_PARTS,
        default=[],
        help="add an endpoint's fields: summary (one request a domain; see --dry-run)",
    )
    table.add_argument(
        "--date-from",
        metavar="YYYY-MM-DD",
        help="new and lost since (at most a year ago; default: 30 days ago)",
    )
    table.add_argument(
        "--rank-scale",
        metavar="one_hundred|one_thousand",
        help="the scale of ranks (default: the API's, one_thousand)",
    )
    table.add_argument(
        "--sort",
        metavar="COLUMN[,asc|desc]",
        help="the rows' order (default: the domains file's); figures largest first",
    )
    table.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write a page to look at: charts and the sortable table (needs the report extra)",
    )
    add_job_options(p)
    p.set_defaults(run=run_command)


@dataclass
class AuditJob:
    """An audit, checked: its plan, its files, its client's options and how it ran before."""

    plan: AuditPlan
    fmt: str
    output: Path
    errors: Path
    journal: Path
    report: Path | None
    sort: tuple[str, bool] | None  # column, descending
    client: dict[str, Any]  # DataForSEO's options (no credentials)
    emulator: bool
    server: str  # where requests go, for the report: "emulator", "sandbox", "api" or a URL
    rank_scale: str
    budget: float | None
    dry_run: bool
    quiet: bool
    argv: list[str]
    header: dict[str, Any]
    resumed: Resumed | None = None
    known: list[PartAnswer] = field(default_factory=list)  # of the runs before, to keep
    done_before: int = 0  # rows the runs before completed
    complete: dict[str, Any] | None = None
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_command(args: argparse.Namespace) -> int:
    from dfs_async.cli.audit_run import execute

    try:
        job = prepare(args, sys.argv[1:])
    except UsageError as exc:
        return usage_error(PROG, str(exc))
    code: int = anyio.run(execute, job)
    return code


# -- checked before anything is sent ----------------------------------------------------------

_OPTIONS: Final = {"date_from": "--date-from", "rank_scale": "--rank-scale", "parts": "--with"}


def prepare(args: argparse.Namespace, argv: list[str]) -> AuditJob:
    """Every input checked; UsageError on the first problem. Nothing is written or sent."""
    fmt = format_for(args.output, args.format)
    if fmt is None:
        raise UsageError(f"cannot tell the format of {args.output}: use --format")
    output = Path(args.output)
    errors = output.with_name(output.name + ".errors.jsonl")
    journal = output.with_name(output.name + ".checkpoint")
    check_writable(output, "output")
    if fmt == "parquet" and (missing := check_parquet()):
        raise UsageError(missing)
    report = _report(args.report, output)
    check_server(args, sending=not args.dry_run)
    lines = read_lines(args.targets_file)
    plan = _plan(lines, args, args.date_from)
    sort = _sort(args.sort, plan)
    where = "emulator" if args.emulator else "sandbox" if args.sandbox else "api"
    params = {
        "parts": plan.parts,
        "date_from": args.date_from,
        "rank_scale": args.rank_scale,
        "server": where,
    }
    header = {
        "command": "audit",
        "targets": fingerprint(sorted(plan.rows)),
        "params": fingerprint(params),
        "date_from": None if plan.date_from is None else plan.date_from.isoformat(),
    }
    job = AuditJob(
        plan=plan,
        fmt=fmt,
        output=output,
        errors=errors,
        journal=journal,
        report=report,
        sort=sort,
        client=client_options(args),
        emulator=args.emulator,
        server=args.base_url or where,
        rank_scale=args.rank_scale or "one_thousand",
        budget=args.budget,
        dry_run=args.dry_run,
        quiet=args.quiet,
        argv=argv,
        header=header,
    )
    _checkpoint(job, args, lines)
    _notices(job, args)
    return job


def _report(path: str | None, output: Path) -> Path | None:
    if path is None:
        return None
    from dfs_async.cli.report import check_report

    report = Path(path)
    check_report()
    check_writable(report, "report")
    if report.resolve() == output.resolve():
        raise UsageError("the report must not be the output file")
    return report


def _plan(lines: list[str], args: argparse.Namespace, date_from: str | date | None) -> AuditPlan:
    try:
        return AuditPlan.of(
            lines,
            parts=[*PARTS, *args.with_],
            date_from=date_from,
            rank_scale=args.rank_scale,
        )
    except ValidationError as exc:
        raise UsageError(f"{_OPTIONS.get(exc.field, option(exc.field))}: {exc.rule}") from None


def _sort(text: str | None, plan: AuditPlan) -> tuple[str, bool] | None:
    """`--sort COLUMN[,asc|desc]`: the column and whether largest first."""
    if text is None:
        return None
    column, _, direction = text.partition(",")
    kinds = {"target": "str", **kinds_of(plan.row_type)}
    if column not in kinds or kinds[column] in ("map", "list", "object"):
        sortable = ", ".join(c for c, k in kinds.items() if k not in ("map", "list", "object"))
        raise UsageError(f"--sort: no column {column!r} to sort by; one of: {sortable}")
    if direction not in ("", "asc", "desc"):
        raise UsageError(f"--sort: {text!r}: the order is asc or desc")
    return column, direction == "desc" or (not direction and kinds[column] in ("int", "float"))


def _checkpoint(job: AuditJob, args: argparse.Namespace, lines: list[str]) -> None:
    """The checkpoint beside the output: complete (with --resume: nothing to do), unfinished
    (--resume continues it with its new/lost period, --restart discards it, else refused),
    another job's finished one (blocks nothing)."""
    path = job.journal
    if not path.exists():
        if args.resume:
            job.notices.append("no checkpoint to resume: starting the audit")
        return
    record = finished(path)
    if record is not None:
        if args.resume:
            job.complete = complete_job(path, record, job.header, job.output)
            if job.complete is None:
                job.notices.append(f"{path} is of another, finished job: starting this one")
        return
    if args.restart:
        job.notices.append(f"starting over: the unfinished audit of {path} is discarded")
        return
    if not args.resume:
        raise UsageError(
            f"{path} holds an unfinished audit: add --resume to continue it, or --restart to"
            " discard it and start over"
        )
    try:
        resumed = Journal.load(path, job.header)
    except CheckpointMismatch as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"checkpoint {path} cannot be read: {exc.strerror}") from None
    job.resumed = resumed
    if resumed.date_from is not None and resumed.date_from != job.plan.date_from:
        try:
            job.plan = _plan(lines, args, resumed.date_from)
        except UsageError:
            raise UsageError(
                f"the new/lost period of this audit starts on {resumed.date_from}, which is"
                " now more than a year back: start over with --restart"
            ) from None
        job.header["date_from"] = resumed.date_from.isoformat()
    # A transient failure (a server error past its retries) is asked again.
    job.known = [
        a
        for a in resumed.answers
        if a.failure is None or is_final({"status_code": a.failure.status_code})
    ]
    have: dict[str, set[str]] = {}
    for answer in job.known:
        have.setdefault(answer.target, set()).add(answer.part)
    missing = sum(len(have.get(d, ())) < len(job.plan.parts) for d in job.plan.domains)
    job.done_before = len(job.plan.rows) - missing
    job.notices.append(
        f"resuming: {job.done_before:,} of {len(job.plan.rows):,} domains already done,"
        f" {money(resumed.cost)} spent"
    )


def _as_domain(raw: str) -> str:
    """A line as written, and the domain it was read as if that is another text."""
    try:
        domain = domain_of(raw).domain
    except InvalidTarget:
        return raw
    return raw if domain == raw else f"{raw} ({domain})"


def _notices(job: AuditJob, args: argparse.Namespace) -> None:
    plan = job.plan
    if plan.duplicates:
        shown = ", ".join(map(_as_domain, plan.duplicates[:5]))
        shown += ", ..." if len(plan.duplicates) > 5 else ""
        job.notices.append(f"dropped {len(plan.duplicates)} duplicate domain(s): {shown}")
    if plan.from_url:
        shown = ", ".join(f"{url} -> {d}" for url, d in plan.from_url[:3])
        more = ", ..." if len(plan.from_url) > 3 else ""
        job.notices.append(f"read {len(plan.from_url)} URL(s) as their domain: {shown}{more}")
    if plan.invalid:
        job.notices.append(
            f"{len(plan.invalid)} line(s) not a domain, reported as failed: "
            + ", ".join(repr(raw) for raw, _ in plan.invalid[:5])
        )
    if warning := concurrency_warning(args):
        job.warnings.append(warning)
