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
import sys
from typing import Any, Final

import anyio

from dfs_async.cli.exits import UsageError, usage_error
from dfs_async.cli.fields import add_request_options
from dfs_async.cli.job import command_name, prepare
from dfs_async.cli.options import HELP_END, add_job_options, positive_int
from dfs_async.cli.outputs import FORMATS
from dfs_async.cli.run import execute
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

EPILOG: Final = (
    """\
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
  flight; Ctrl-C or SIGTERM sends nothing more and writes the pages in flight first (a
  second one stops at once). Without a checkpoint --resume simply starts; once the run is
  complete the checkpoint says so (one line) and --resume sends nothing, so a scheduler can
  always pass it. A checkpoint of other targets or parameters is refused. Failed targets
  whose failure was transient (server errors, timeouts, network errors past their retries)
  are continued on resume; request errors are final. --budget counts what the resumed runs
  spent. Parquet runs write FILE.partial.jsonl and convert it to FILE when complete. A run
  that paid nothing leaves nothing behind.

exit codes:
  0    every target done
  1    some targets failed (all listed in the errors file)
  2    usage or configuration error, found before any request
  3    stopped by an account error, the budget, a daily limit, a server never reached,
       the shared limits' Redis lost (or an output that cannot be written); what was
       written is kept, --resume continues
  130  interrupted (Ctrl-C, SIGTERM); what was written is kept, --resume continues

"""
    + HELP_END
)


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
            type=positive_int,
            metavar="N",
            help="at most N items per target (default: all of them)",
        )

    add_job_options(p)

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
