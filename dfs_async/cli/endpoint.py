"""One subcommand per endpoint (`dfs-async domain-pages-summary`, ...): every item of many
targets, to a file, resumably. Nothing here names an endpoint: the subcommand, its request
options (fields.py) and its output columns (outputs.py) are made from the endpoint's spec.

By stage: this module is the argparse face; `job` checks everything it can before the first
request (arguments, the targets file, every request field through the endpoint's own
rules, credentials, the output paths, the checkpoint of a resumed run) into a `Job`: any
problem is one line on stderr and exit code 2; `dry_run` estimates; `budget` carries
`--budget` across resumes; `run` streams the targets through the client, the writer writing
each page's records as the page arrives (writer.py) and recording it in a checkpoint
(checkpoint.py), from which `--resume` hands the stream each unfinished target's answered
pages, with progress shown (progress.py); `files` ends the run. Exit codes: see EPILOG.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
from typing import Any, Final

import anyio

from dfs_async.cli.exits import UsageError, usage_error
from dfs_async.cli.fields import add_request_options
from dfs_async.cli.job import command_name, prepare
from dfs_async.cli.outputs import FORMATS
from dfs_async.cli.run import execute
from dfs_async.cli.server import add_server_options
from dfs_async.endpoints import Endpoint

__all__ = ["register"]

DESCRIPTION: Final = """\
Fetch every item of every target from {path}
({how}, concurrently and paced) and write one record per item: `target`, then every
field of the item.

Targets: TARGETS_FILE holds one a line (blank lines and # comments skipped, CRLF and a BOM
tolerated); '-' reads them from stdin; --target adds more. Each is normalised
(WWW.Forbes.com -> forbes.com; a URL stays a page: https://forbes.com/ is the home page);
duplicates after normalisation are dropped with a notice. A target that is not a domain,
subdomain or absolute http(s) page URL is not a usage error: it is reported as a failed
target (code 40501, no request) in the errors file while the others run, and the exit code
is 1.
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
  3    stopped by an account error, the budget, a daily limit, a server never reached,
       the shared limits' Redis lost (or an output that cannot be written); what was
       written is kept, --resume continues
  130  interrupted (Ctrl-C, SIGTERM); what was written is kept, --resume continues

environment:
  DATAFORSEO_LOGIN, DATAFORSEO_PASSWORD   credentials (not needed with --emulator)
  DATAFORSEO_BASE_URL                     the API's address when --base-url is not given
  DATAFORSEO_SHARED_LIMITS                --shared-limits when it is not given
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


def run_command(endpoint: Endpoint, args: argparse.Namespace) -> int:
    try:
        job = prepare(endpoint, args, sys.argv[1:])
    except UsageError as exc:
        return usage_error(f"dfs-async {command_name(endpoint)}", str(exc))
    return anyio.run(execute, job)
