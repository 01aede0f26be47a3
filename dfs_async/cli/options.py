"""The options every job of the command line shares (the endpoint subcommands and `audit`):
where requests go (server.py), the response cache (cache.py) and how the run goes (`run`),
added by `add_job_options`, and the client they make (`client_options`): one place, so an
option added here reaches every job, and every job's client is made the same way.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Final

from dfs_async.cli.cache import CACHE_EPILOG, add_cache_options, cache_options
from dfs_async.cli.server import EMULATOR_ORIGIN, add_server_options, server_options

__all__ = [
    "API_CONCURRENCY",
    "HELP_END",
    "add_job_options",
    "client_options",
    "concurrency_warning",
    "positive_float",
    "positive_int",
]

API_CONCURRENCY: Final = 30  # simultaneous requests the API allows an account

HELP_END: Final = (
    CACHE_EPILOG
    + """
environment:
  DATAFORSEO_LOGIN, DATAFORSEO_PASSWORD   credentials (not needed with --emulator)
  DATAFORSEO_BASE_URL                     the API's address when --base-url is not given
  DATAFORSEO_SHARED_LIMITS                --shared-limits when it is not given
  DATAFORSEO_CACHE                        --cache when it is not given
"""
)
"""The end of every job's --help: the cache, and the environment its options fall back to."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def add_job_options(parser: argparse.ArgumentParser) -> Any:
    """The server options, the cache's, then the run's (returned: a job adds its own to
    it)."""
    add_server_options(parser)
    add_cache_options(parser)
    run = parser.add_argument_group("run")
    run.add_argument(
        "--concurrency",
        type=positive_int,
        default=30,
        metavar="N",
        help="simultaneous requests (default: %(default)s, the API's cap)",
    )
    run.add_argument(
        "--rate",
        type=positive_float,
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
        type=positive_int,
        default=5,
        metavar="N",
        help="tries per request on transient errors (default: %(default)s)",
    )
    run.add_argument(
        "--budget",
        type=positive_float,
        metavar="USD",
        help="for the whole job, across resumed runs: stop (exit 3) before the next request"
        " could pass it (default: no limit)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="check every input, print the first requests and a cost bound, send nothing",
    )
    again = run.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue the unfinished run the checkpoint beside the output records (a"
        " finished one: say so and send nothing)",
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
    return run


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """DataForSEO's options from a job's arguments (no credentials: the environment's, or
    the emulator's)."""
    return {
        **server_options(args),
        "concurrency": args.concurrency,
        "rate": "account" if args.rate is None else args.rate,
        "account_limits": args.account_limits,
        "max_attempts": args.max_attempts,
        "cache_origin": EMULATOR_ORIGIN if args.emulator else None,
        **cache_options(args),
    }


def concurrency_warning(args: argparse.Namespace) -> str | None:
    """A warning when --concurrency is more than the API allows an account."""
    if args.concurrency <= API_CONCURRENCY:
        return None
    return (
        f"warning: the API allows {API_CONCURRENCY} simultaneous requests per account:"
        f" --concurrency {args.concurrency} will meet 40209 (too many requests at once)"
    )
