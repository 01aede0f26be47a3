"""One subcommand per endpoint (`dfs-async domain-pages-summary`, ...): every item of many
targets, to a file, resumably. Nothing here names an endpoint: the subcommand, its request
options (fields.py) and its output columns (outputs.py) are made from the endpoint's spec.

The command checks everything it can before the first request (arguments, the targets file,
every request field through the endpoint's own rules, credentials, the output paths, the
checkpoint of a resumed run): any problem is one line on stderr and exit code 2. Then it
streams the targets through the client, writes each page's records as the page arrives
(writer.py), records each page in a checkpoint (checkpoint.py), from which `--resume` hands
the stream each unfinished target's answered pages, and shows progress (progress.py). Exit
codes: see EPILOG.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import shlex
import signal
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import anyio
import msgspec

from dfs_async.cli import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_STOPPED,
    UsageError,
)
from dfs_async.cli import usage_error as cli_usage_error
from dfs_async.cli.checkpoint import Checkpoint, CheckpointMismatch, Progress, fingerprint
from dfs_async.cli.fields import add_request_options, request_fields
from dfs_async.cli.outputs import (
    FORMATS,
    check_parquet,
    encoder_for,
    format_for,
    jsonl_to_parquet,
)
from dfs_async.cli.progress import Display, Snapshot, money, plural, summary_lines
from dfs_async.cli.server import add_server_options, check_server, start_emulator
from dfs_async.cli.targets_file import Targets, read_targets
from dfs_async.cli.writer import AuditWriter, LazyFile, Sink, failure_row
from dfs_async.codes import BAD_CREDENTIALS, INVALID_FIELD
from dfs_async.endpoints import Endpoint, Price
from dfs_async.errors import (
    AccountError,
    BudgetExhausted,
    ConfigurationError,
    RunStopped,
)
from dfs_async.plan import ONLY_REQUEST, Bulk, PageRequest, pack_fields
from dfs_async.wire import build_task

if TYPE_CHECKING:
    from dfs_async import DataForSEO

API_CONCURRENCY: Final = 30  # simultaneous requests the API allows an account
DRY_RUN_SHOWN: Final = 5  # first-page requests a dry run prints in full
CREDENTIALS_REFUSED: Final = (BAD_CREDENTIALS, 401)  # the API's code, and the HTTP status

DESCRIPTION: Final = """\
Fetch every item of every target from {path}
({how}, concurrently and paced) and write one record per item: `target`, then every
field of the item.

Targets: TARGETS_FILE holds one a line (blank lines and # comments skipped, CRLF and a BOM
tolerated); '-' reads them from stdin; --target adds more. Each is normalised
(https://www.Forbes.com/ -> forbes.com); duplicates after normalisation are dropped with a
notice. A target that is not a domain, subdomain or absolute http(s) page URL is not a usage
error: it is reported as a failed target (code 40501, no request) in the errors file while
the others run, and the exit code is 1.
"""

EPILOG: Final = """\
outputs:
  jsonl    one JSON object a line; maps and nested objects stay objects
  csv      a header row; nulls are empty cells; each map, list or object is one cell of
           compact JSON
  parquet  typed columns (int64, string, timestamp, map<string,int64>), needs pyarrow
  Records are written page by page as pages arrive (a target's pages in any order, the
  targets interleaved). A failed target keeps the records of the pages it got and has a
  line in the errors file: {"target", "status_code", "status_message", "attempts"}.

resume:
  With -o FILE, a checkpoint FILE.checkpoint records each page written and each target
  done. After a crash, kill -9 or Ctrl-C, the same command with --resume cuts FILE back to
  its last checkpointed size, skips the done targets and continues the others from the
  pages they lack: every record ends up exactly once, and a kill costs only the pages in
  flight. Without a checkpoint --resume simply starts, so a scheduler can always pass it; a
  checkpoint of other targets or parameters is refused. Failed targets whose failure was
  transient (server errors, timeouts, network errors past their retries) are continued on
  resume; request errors are final. --budget counts what the resumed runs spent. Parquet
  runs write FILE.partial.jsonl and convert it to FILE when complete. The checkpoint is
  deleted when the run completes.

exit codes:
  0    every target done
  1    some targets failed (all listed in the errors file)
  2    usage or configuration error, found before any request
  3    stopped by an account error, the budget, a server never reached (or an
       output that cannot be written); what was written is kept, --resume continues
  130  interrupted (Ctrl-C, SIGTERM); what was written is kept, --resume continues

environment:
  DATAFORSEO_LOGIN, DATAFORSEO_PASSWORD   credentials (not needed with --emulator)
  DATAFORSEO_BASE_URL                     the API's address when --base-url is not given
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def command_name(endpoint: Endpoint) -> str:
    """The subcommand of an endpoint: its name with dashes."""
    return endpoint.name.replace("_", "-")


def register(subparsers: Any, endpoint: Endpoint) -> None:
    name = command_name(endpoint)
    p: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=f"every item of many targets from {endpoint.name}, into a jsonl/csv/parquet file",
        description=DESCRIPTION.format(
            path=endpoint.path,
            how="one request per target"
            if endpoint.paging.max_limit is None
            else "all pages of each target",
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "targets_file",
        nargs="?",
        metavar="TARGETS_FILE",
        help="file of targets, one a line; '-' for stdin (default: none, use --target)",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="T",
        help="a target; repeat for more (added after the file's)",
    )
    largest = endpoint.paging.max_limit
    defaults = {} if largest is None else {"limit": largest}  # the fewest requests per item
    requests = add_request_options(p, endpoint, defaults)
    if largest is not None:
        requests.add_argument(
            "--max-items",
            type=_positive_int,
            metavar="N",
            help="at most N items per target (default: all of them)",
        )

    add_server_options(p)

    run = p.add_argument_group("run")
    run.add_argument(
        "--concurrency",
        type=_positive_int,
        default=30,
        metavar="N",
        help="simultaneous requests (default: %(default)s, the API's cap)",
    )
    run.add_argument(
        "--rate",
        type=_positive_float,
        default=None,
        metavar="PER_MINUTE",
        help="requests per minute, paced steadily (default: the account's limit, read from"
        " /v3/appendix/user_data at the start; 2000 when it cannot be read)",
    )
    run.add_argument(
        "--no-account-limits",
        dest="account_limits",
        action="store_false",
        help="do not read the account (user_data): pace at --rate or 2000 a minute, the"
        " documented prices, no daily limits (default: read it once at the start for the"
        " per-minute limit, the prices and the daily limits)",
    )
    run.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=5,
        metavar="N",
        help="tries per request on transient errors (default: %(default)s)",
    )
    run.add_argument(
        "--budget",
        type=_positive_float,
        metavar="USD",
        help="stop (exit 3) before the cost could pass this (default: no limit)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="check every input, print the first-page requests and a cost bound, send nothing",
    )
    again = run.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue the unfinished run the checkpoint beside the output records",
    )
    again.add_argument(
        "--restart",
        action="store_true",
        help="start over, discarding the unfinished run of the checkpoint beside the output"
        " (default: an unfinished run is refused without --resume or --restart)",
    )
    run.add_argument(
        "--quiet", "-q", action="store_true", help="no progress, notices or summary on stderr"
    )

    out = p.add_argument_group("output")
    out.add_argument(
        "-o", "--output", metavar="FILE", help="where records go (default: stdout, as jsonl)"
    )
    out.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: from the output's extension .jsonl/.ndjson/.csv/.parquet)",
    )
    out.add_argument(
        "--errors",
        metavar="FILE",
        help="failed targets as JSON lines (default: OUTPUT.errors.jsonl; stderr for stdout)",
    )
    p.set_defaults(run=functools.partial(run_command, endpoint), max_items=None)


@dataclass
class Job:
    """Everything a run needs, checked."""

    endpoint: Endpoint
    targets: Targets
    fields: dict[str, Any]  # request fields but target, nulls dropped
    max_items: int | None
    fmt: str
    output: Path | None  # None: stdout
    errors: Path | None  # None: stderr
    checkpoint: Path | None
    staging: Path | None  # parquet: the JSONL file resume works on
    header: dict[str, Any]
    resumed: Progress | None
    resumed_sound: int
    base_url: str | None
    sandbox: bool
    emulator: bool
    concurrency: int
    rate: float | None  # None: the account's
    account_limits: bool
    max_attempts: int
    budget: float | None
    dry_run: bool
    quiet: bool
    argv: list[str]
    spent: float = 0.0  # what the whole job cost (resumed runs included), once it ran
    notices: list[str] = field(default_factory=list)  # not shown with --quiet
    warnings: list[str] = field(default_factory=list)  # always shown

    @property
    def records_path(self) -> Path | None:
        """The file records are appended to: the staging file for parquet."""
        return self.staging or self.output

    @property
    def done_before(self) -> set[str]:
        return self.resumed.done if self.resumed else set()

    @property
    def todo(self) -> list[str]:
        done = self.done_before
        return [t for t in self.targets.valid if t not in done]

    @property
    def prog(self) -> str:
        return f"dfs-async {command_name(self.endpoint)}"

    @property
    def first_page(self) -> PageRequest:
        """The first request of a target (max_items caps its limit, as the plan does)."""
        paging = self.endpoint.paging
        limit = int(self.fields.get("limit", paging.max_limit or 1))
        if self.max_items is not None:
            limit = min(limit, self.max_items)
        return PageRequest(int(self.fields.get("offset", 0)), limit)


def run_command(endpoint: Endpoint, args: argparse.Namespace) -> int:
    try:
        job = prepare(endpoint, args, sys.argv[1:])
    except UsageError as exc:
        return cli_usage_error(f"dfs-async {command_name(endpoint)}", str(exc))
    return anyio.run(execute, job)


def _check_writable(path: Path, what: str) -> None:
    if path.is_dir():
        raise UsageError(f"{what} {path} is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{what} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{what} {path} cannot be written (permission denied)")


def prepare(endpoint: Endpoint, args: argparse.Namespace, argv: list[str]) -> Job:
    """Check every input; UsageError on the first problem. Nothing is written or sent."""
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
        _check_writable(output, "output")
        checkpoint = output.with_name(output.name + ".checkpoint")
        if fmt == "parquet":
            staging = output.with_name(output.name + ".partial.jsonl")
    if args.errors not in (None, "-"):
        errors = Path(args.errors)
    elif args.errors is None and output is not None:
        errors = output.with_name(output.name + ".errors.jsonl")
    if errors is not None:
        _check_writable(errors, "errors file")
        if output is not None and errors.resolve() == output.resolve():
            raise UsageError("the errors file must not be the output file")

    fields = request_fields(args, endpoint)
    targets = read_targets(args.targets_file, args.target, endpoint.unit)
    where = "emulator" if args.emulator else "sandbox" if args.sandbox else "api"
    header = {
        "command": command_name(endpoint),
        "targets": fingerprint(sorted(targets.valid) + sorted(r for r, _ in targets.invalid)),
        "params": fingerprint(
            {"fields": fields, "max_items": args.max_items, "format": fmt, "server": where}
        ),
    }
    job = Job(
        endpoint=endpoint,
        targets=targets,
        fields=fields,
        max_items=args.max_items,
        fmt=fmt,
        output=output,
        errors=errors,
        checkpoint=checkpoint,
        staging=staging,
        header=header,
        resumed=None,
        resumed_sound=0,
        base_url=args.base_url,
        sandbox=args.sandbox,
        emulator=args.emulator,
        concurrency=args.concurrency,
        rate=args.rate,
        account_limits=args.account_limits,
        max_attempts=args.max_attempts,
        budget=args.budget,
        dry_run=args.dry_run,
        quiet=args.quiet,
        argv=argv,
    )
    if targets.duplicates:
        shown = ", ".join(targets.duplicates[:5]) + (", ..." if len(targets.duplicates) > 5 else "")
        job.notices.append(f"dropped {len(targets.duplicates)} duplicate target(s): {shown}")
    if targets.invalid:
        job.notices.append(
            f"{len(targets.invalid)} invalid target(s), reported as failed: "
            + ", ".join(repr(raw) for raw, _ in targets.invalid[:5])
        )
    if args.concurrency > API_CONCURRENCY:
        job.warnings.append(
            f"warning: the API allows {API_CONCURRENCY} simultaneous requests per account:"
            f" --concurrency {args.concurrency} will meet 40209 (too many requests at once)"
        )
    if checkpoint is not None and checkpoint.exists():
        if args.resume:
            _load_checkpoint(job, checkpoint)
        elif args.restart:
            job.notices.append(f"starting over: the unfinished run of {checkpoint} is discarded")
        else:
            # A paid partial run is never thrown away by forgetting a flag.
            raise UsageError(
                f"{job.records_path} holds an unfinished run ({checkpoint}): add --resume to"
                " continue it, or --restart to discard it and start over"
            )
    elif args.resume:
        job.notices.append("no checkpoint to resume: starting the run")
    return job


def _load_checkpoint(job: Job, path: Path) -> None:
    records = job.records_path
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


def first_page_task(job: Job, target: str) -> dict[str, Any]:
    """The task of `target`'s first request, as the stream sends it."""
    _, unit = job.endpoint.unit(target)
    return build_task(job.endpoint, job.fields, unit, job.first_page)


def dry_run_report(job: Job, price: Price | None = None) -> str:
    """What a run would send first, and what it could cost (at `price`: the account's, else
    the documented one), without sending anything."""
    todo, endpoint, first = job.todo, job.endpoint, job.first_page
    price = price or endpoint.price
    page_cost = price.worst(first.limit)
    lines = [
        f"targets: {len(job.targets.valid)} valid, {len(job.targets.invalid)} invalid,"
        f" {len(job.targets.duplicates)} duplicates dropped"
        + (f", {len(job.done_before)} done before" if job.resumed else ""),
    ]
    if isinstance(endpoint.paging, Bulk):  # the targets go out packed, capacity a request
        packer = endpoint.paging.packer()
        for target in todo:
            packer.add(target, target)
        packs = []
        while (pack := packer.next_pack()) is not None:
            packs.append(pack)
            packer.on_answered(pack)
        bound = len(packs) * price.per_request + len(todo) * price.per_item
        shown = [build_task(endpoint, job.fields, pack_fields(packs[0].targets), ONLY_REQUEST)]
        more = ["..."] if len(packs[0].targets) > DRY_RUN_SHOWN else []
        shown[0]["targets"] = [*packs[0].targets[:DRY_RUN_SHOWN], *more]
        lines += [
            f"requests: {len(packs):,}, each {endpoint.method} {endpoint.path} with up to"
            f" {packer.capacity:,} targets, the first:",
            "  " + msgspec.json.encode(shown).decode() if packs else "  (none)",
            f"cost bound: {money(bound)} ({money(price.per_request)} a request,"
            f" {money(price.per_item)} a target)",
            f"price: {price_text(price)}",
        ]
        return "\n".join(lines)
    lines.append(
        f"first-page requests: {len(todo)}, each {endpoint.method} {endpoint.path} [task]:"
    )
    lines += [
        "  " + msgspec.json.encode([first_page_task(job, t)]).decode() for t in todo[:DRY_RUN_SHOWN]
    ]
    if len(todo) > DRY_RUN_SHOWN:
        lines.append(f"  ... and {len(todo) - DRY_RUN_SHOWN:,} more")
    limit = first.limit
    if endpoint.paging.max_limit is None:
        lines.append(
            f"cost bound: {money(len(todo) * page_cost)} (one request per target,"
            f" {money(page_cost)} each)"
        )
    elif job.max_items is not None:
        pages = math.ceil(job.max_items / limit)
        # each page asks at most what is left of max_items (the plan): the last one less
        sizes = [min(limit, job.max_items - n * limit) for n in range(pages)]
        bound = len(todo) * sum(price.worst(size) for size in sizes)
        lines.append(
            f"cost bound: {money(bound)} (at most {len(todo) * pages:,} requests of up to"
            f" {sizes[0]} items, {money(page_cost)} each)"
        )
    else:
        lines.append(
            f"cost bound: {money(len(todo) * page_cost)} for the first pages"
            f" ({money(page_cost)} each); targets with more than {limit} items need more pages:"
            " no bound without --max-items"
        )
    lines.append(f"price: {price_text(price)}")
    return "\n".join(lines)


def price_text(price: Price) -> str:
    return f"{money(price.per_request)} a request + {money(price.per_item)} an item"


def _client_options(job: Job) -> dict[str, Any]:
    return {
        "base_url": job.base_url,
        "sandbox": job.sandbox,
        "concurrency": job.concurrency,
        "rate": "account" if job.rate is None else job.rate,
        "account_limits": job.account_limits,
        "max_attempts": job.max_attempts,
    }


def _budget_left(job: Job) -> tuple[float | None, str | None]:
    """What this invocation may spend, and why it may spend nothing.

    --budget counts the whole job: the runs a resume continues spent part of it already.
    """
    if job.budget is None or job.resumed is None:
        return job.budget, None
    left = job.budget - job.resumed.cost
    next_page = job.endpoint.price.worst(job.first_page.limit)
    if left >= next_page or not job.todo:
        return left, None
    return left, (
        f"budget reached: spent {money(job.resumed.cost)} of {money(job.budget)} (this job,"
        f" across resumed runs) and a request can cost up to {money(next_page)}: resume with"
        f" a higher --budget, e.g. --budget {money(job.budget * 2)[1:]}"
    )


async def execute(job: Job) -> int:
    # The library's notices (a warning when the account cannot be read) are shown by the
    # display, once: not also by logging's last-resort handler.
    logging.getLogger("dfs_async").addHandler(logging.NullHandler())
    display = Display(Display.choose(job.quiet))
    for warning in job.warnings:
        display.message(warning)
    for notice in job.notices:
        display.notice(notice)
    from dfs_async import DataForSEO

    if job.dry_run:
        try:  # built only to check its options: never opened, nothing is sent
            DataForSEO(login="dry-run", password="dry-run", **_client_options(job))
        except (ConfigurationError, ValueError) as exc:
            return cli_usage_error(job.prog, str(exc))
        price, where = await _dry_run_price(job)
        print(dry_run_report(job, price))
        if where:
            display.notice(where)
        return EXIT_OK
    budget, spent = _budget_left(job)
    if spent is not None:
        display.message(f"stopped: {spent}")
        return EXIT_STOPPED
    async with AsyncExitStack() as stack:
        options = _client_options(job)
        if job.emulator:
            await start_emulator(stack, options)
        try:
            dfs = await stack.enter_async_context(DataForSEO(**options, max_cost=budget))
        except (ConfigurationError, ValueError) as exc:
            return cli_usage_error(job.prog, str(exc))
        account = await _read_account(dfs, job.endpoint)
        if account is not None:
            display.notice(account)
        try:
            writer = _open_outputs(job, stack)
        except OSError as exc:
            return cli_usage_error(job.prog, f"cannot write {exc.filename}: {exc.strerror}")
        return await _run(job, dfs, writer, display)


async def _read_account(dfs: DataForSEO, endpoint: Endpoint) -> str | None:
    """Read the account before the run (what the first request would do): the fallback
    notice, or one line of what the run goes by."""
    await dfs.engine.ready()
    account = dfs.account
    if account is None:
        return None
    if account.info is None:
        return account.notice
    info = account.info
    line = f"account: pacing at {account.rate:,.0f} requests a minute"
    if info.per_minute is not None:
        line += f" (its limit: {info.per_minute:,.0f})"
    line += f"; {endpoint.name}: {price_text(dfs.engine.price(endpoint))}"
    limit = info.daily_limits.get(endpoint.name)
    if limit is not None:
        left = max(0, limit - info.used_today.get(endpoint.name, 0))
        line += f"; {left:,} of {limit:,} requests a day left today"
    return line


async def _dry_run_price(job: Job) -> tuple[Price | None, str | None]:
    """The account's price of the endpoint for a dry run's estimate (user_data: free, no
    task is sent), when there are credentials and the account is to be read; else None
    (the documented price)."""
    from dfs_async import DataForSEO

    if job.emulator or not job.account_limits or job.rate is not None:
        return None, None
    if not (os.environ.get("DATAFORSEO_LOGIN") and os.environ.get("DATAFORSEO_PASSWORD")):
        return None, "price: documented (no credentials to read the account's)"
    async with DataForSEO(**_client_options(job)) as dfs:
        await dfs.engine.ready()
        account = dfs.account
        if account is None or account.info is None:
            return None, account.notice if account is not None else None
        return dfs.engine.price(job.endpoint), "price: the account's (user_data)"


def _open_outputs(job: Job, stack: AsyncExitStack) -> AuditWriter:
    """The writer, on fresh files or on the resumed ones cut back to their checkpoint."""
    encoder = encoder_for(job.fmt, job.endpoint.item)
    records = job.records_path
    output: BinaryIO
    checkpoint: Checkpoint | None = None
    if records is None:
        output = sys.stdout.buffer
        output.write(encoder.header())
    elif job.resumed is None:
        assert job.checkpoint is not None
        job.checkpoint.unlink(missing_ok=True)  # before the output it describes changes
        output = stack.enter_context(records.open("wb"))
        output.write(encoder.header())
        output.flush()
        os.fsync(output.fileno())
        checkpoint = Checkpoint.create(job.checkpoint, job.header, output.tell())
    else:
        assert job.checkpoint is not None
        output = stack.enter_context(records.open("r+b"))
        output.truncate(job.resumed.output_size)
        output.seek(job.resumed.output_size)
        checkpoint = Checkpoint.reopen(job.checkpoint, job.resumed_sound)
    if checkpoint is not None:
        stack.callback(checkpoint.close)

    errors: Sink
    if job.errors is None:
        errors = sys.stderr.buffer
    else:
        # The errors file as the checkpoint knows it; created at the first failure otherwise.
        kept = job.resumed.final_failures if job.resumed is not None else []
        _rewrite_errors(job.errors, kept)
        lazy = LazyFile(job.errors, "ab")
        stack.callback(lazy.close)
        errors = lazy
    writer = AuditWriter(encoder, output, errors, checkpoint)
    done = job.done_before
    for raw, rule in job.targets.invalid:
        if raw not in done:
            row = failure_row(raw, INVALID_FIELD, f"Invalid Field: 'target': {rule}", 0)
            writer.failed_target(row, job.resumed.cost if job.resumed else 0.0)
    return writer


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


@dataclass
class _Outcome:
    stopped: RunStopped | str | None = None  # what stopped the run
    interrupted: bool = False
    broken_pipe: bool = False  # the reader of stdout went away (`| head`)


async def _watch_signals(work: anyio.CancelScope, outcome: _Outcome) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            outcome.interrupted = True
            work.cancel()
            return


async def _run(job: Job, dfs: Any, writer: AuditWriter, display: Display) -> int:
    cost_before = job.resumed.cost if job.resumed else 0.0
    done_before = len(job.done_before)

    def cost() -> float:
        return cost_before + float(dfs.stats.cost)

    def snapshot() -> Snapshot:
        stats = dfs.stats
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
        )

    outcome = _Outcome()
    work = anyio.CancelScope()
    todo = job.todo
    async with anyio.create_task_group() as tg:
        tg.start_soon(_watch_signals, work, outcome)
        tg.start_soon(display.run, snapshot)
        with work:
            try:
                if todo:
                    resumed = job.resumed
                    stream = getattr(dfs.backlinks, job.endpoint.name).stream(
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
                            outcome.stopped = exc
                        except BrokenPipeError:
                            outcome.broken_pipe = True
                        except OSError as exc:
                            outcome.stopped = f"cannot write the output: {exc}"
            except RunStopped as exc:  # raised by the block's exit
                outcome.stopped = exc
        tg.cancel_scope.cancel()
    try:
        writer.sync()
    except BrokenPipeError:
        outcome.broken_pipe = True
    except OSError as exc:
        outcome.stopped = outcome.stopped or f"cannot write the output: {exc}"
    if outcome.broken_pipe:
        return _broken_pipe()
    job.spent = cost()
    return _finish(job, writer, display, snapshot, cost_before, outcome)


def _broken_pipe() -> int:
    """The reader of stdout went away (`| head`): end quietly, as Unix tools do. stdout is
    pointed at /dev/null so that the interpreter's last flush cannot complain either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


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


def _stop_message(job: Job, stopped: RunStopped | str, spent: float) -> str:
    """Why the run stopped, in the job's terms (the library speaks of one client's run)."""
    if isinstance(stopped, BudgetExhausted) and job.budget is not None:
        return (
            f"budget reached: spent {money(spent)} of {money(job.budget)} (this job, across"
            " resumed runs); the next request could have passed it: resume with a higher"
            " --budget to go on"
        )
    if isinstance(stopped, AccountError) and stopped.status_code in CREDENTIALS_REFUSED:
        return (
            f"the credentials were refused ({stopped}): check DATAFORSEO_LOGIN and"
            " DATAFORSEO_PASSWORD"
        )
    return str(stopped)


def _nothing_to_resume(job: Job, writer: AuditWriter, outcome: _Outcome) -> bool:
    """The account refused the very first request of a fresh run: no page was written, so
    the output and checkpoint are only clutter, and --resume would start over anyway."""
    return isinstance(outcome.stopped, AccountError) and job.resumed is None and writer.pages == 0


def _remove_leftovers(job: Job) -> None:
    for path in (job.output, job.staging, job.checkpoint, job.errors):
        if path is not None:
            path.unlink(missing_ok=True)


def _finish(
    job: Job,
    writer: AuditWriter,
    display: Display,
    snapshot: Callable[[], Snapshot],
    cost_before: float,
    outcome: _Outcome,
) -> int:
    if outcome.stopped or outcome.interrupted:
        now = snapshot()
        if outcome.stopped:
            stopped = _stop_message(job, outcome.stopped, cost_before + now.cost)
            display.message(f"stopped: {stopped}")
        else:
            display.message("interrupted")
        for line in summary_lines(now, cost_before, "so far"):
            display.notice(line)
        if _nothing_to_resume(job, writer, outcome):
            _remove_leftovers(job)
            display.message("nothing was written (the output and checkpoint are removed)")
        elif job.output is None:
            display.message("the output went to stdout: rerun with -o FILE to be able to resume")
        else:
            again = [a for a in job.argv if a != "--restart"]
            again += [] if "--resume" in again else ["--resume"]
            kept = job.output if job.staging is None else f"{job.staging} (parquet: at the end)"
            display.message(f"records so far are in {kept}; resume: dfs-async {shlex.join(again)}")
        return EXIT_INTERRUPTED if outcome.interrupted else EXIT_STOPPED
    if job.staging is not None and job.output is not None:
        rows = jsonl_to_parquet(job.staging, job.output, job.endpoint.item)
        display.notice(f"wrote {plural(rows, 'row')} to {job.output}")
    if job.checkpoint is not None:
        job.checkpoint.unlink(missing_ok=True)
    if job.staging is not None:
        job.staging.unlink(missing_ok=True)
    failed = writer.failed + (len(job.resumed.final_failures) if job.resumed else 0)
    for line in summary_lines(snapshot(), cost_before):
        display.notice(line)
    if failed:
        where = job.errors if job.errors is not None else "stderr"
        display.notice(f"{plural(failed, 'failed target')} listed in {where}")
        return EXIT_SOME_FAILED
    return EXIT_OK
