"""The response cache on the command line: the options every endpoint subcommand and the audit
take (`add_cache_options`, into the client's options by `cache_options`), and `dfs-async cache
stats|prune|clear`, what a store holds and how to empty it.

The library does the rest (`DataForSEO(cache=..., cache_ttl=...)`): it reads
DATAFORSEO_CACHE when `--cache` is not given, refuses a store it cannot use when it opens
(one line, exit 2, before any request), and turns a store that fails during a run into one
warning (`dfs_async.cache` logger; `watch_warnings` shows it on the display).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import anyio
import msgspec

from dfs_async.cli.exits import EXIT_OK, EXIT_SOME_FAILED, usage_error
from dfs_async.cli.progress import duration, plural
from dfs_async.duration import DAY, parse_duration
from dfs_async.errors import CacheError, ConfigurationError
from dfs_async.money import money

if TYPE_CHECKING:
    from dfs_async.cache import CacheStats

__all__ = ["CACHE_EPILOG", "add_cache_options", "cache_options", "register", "watch_warnings"]

PROG: Final = "dfs-async cache"
ENVIRONMENT: Final = "DATAFORSEO_CACHE"

DESCRIPTION: Final = """\
What a response cache holds, and how to empty it. The store is --cache PATH (a local SQLite
file) or --cache redis://HOST:PORT/DB, else DATAFORSEO_CACHE.

  stats  its entries (how many, their size, the oldest and newest), the expired ones not
         yet dropped, and every answer it served with the money those saved
  prune  drop the expired entries (a Redis store drops them by itself)
  clear  drop every entry and the counters

exit codes: 0 done, 1 the store failed (corrupt, locked, lost), 2 usage (no store, or one
that cannot be opened)
"""


CACHE_EPILOG: Final = f"""\
cache:
  With --cache (or {ENVIRONMENT}), every answer the API gives in full is kept, and a
  request whose answer is there, younger than --cache-ttl, is not sent: it costs nothing
  (a bulk endpoint's targets each: a list overlapping an earlier one pays only for the
  new ones). The summary says how many answers came from the cache and what they saved;
  --dry-run counts them and bounds the rest. A store that cannot be used is exit 2 before
  any request; one that fails during the run is one warning, and the run goes on without.
  `dfs-async cache stats|prune|clear` shows what a store holds and empties it.
"""
"""The help's words on the cache, for the epilog of every command that takes it."""


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    """`--cache`, `--cache-ttl` and `--no-cache`, in a group of their own."""
    group = parser.add_argument_group(f"cache (default: {ENVIRONMENT}, else none)")
    which = group.add_mutually_exclusive_group()
    which.add_argument(
        "--cache",
        metavar="PATH|URL",
        help="keep the answers paid for and reuse them: a local file (SQLite; runs at once"
        " may share it) or redis://HOST:PORT/DB (shared by machines); an answer fetched"
        " within --cache-ttl is not asked for again",
    )
    which.add_argument(
        "--no-cache", action="store_true", help=f"no cache, whatever {ENVIRONMENT} says"
    )
    group.add_argument(
        "--cache-ttl",
        type=_duration,
        default=DAY,
        metavar="DURATION",
        help="how long an answer is reused: 90, 90s, 30m, 12h, 7d (default: 1d; the API's"
        " index is updated daily at most)",
    )


def cache_options(args: argparse.Namespace) -> dict[str, Any]:
    """The client's options from `add_cache_options`' (the library reads DATAFORSEO_CACHE
    when `--cache` is not given)."""
    return {"cache": False if args.no_cache else args.cache, "cache_ttl": args.cache_ttl}


@contextmanager
def watch_warnings(show: Callable[[str], None]) -> Iterator[None]:
    """The cache's warnings (a store that failed during the run) shown by `show` meanwhile."""

    class Show(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            show(f"warning: {record.getMessage()}")

    handler = Show(logging.WARNING)
    logger = logging.getLogger("dfs_async.cache")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "cache",
        help="what a response cache holds (stats), and how to empty it (prune, clear)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=("stats", "prune", "clear"), help="see above")
    p.add_argument("--cache", metavar="PATH|URL", help=f"the store (default: {ENVIRONMENT})")
    p.add_argument("--json", action="store_true", help="stats as one JSON object")
    p.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> int:
    spec = args.cache or os.environ.get(ENVIRONMENT)
    if not spec:
        return usage_error(PROG, f"which cache? --cache PATH|URL, or set {ENVIRONMENT}")
    try:
        return anyio.run(_act, args.action, spec, args.json)
    except ConfigurationError as exc:
        return usage_error(PROG, str(exc))
    except CacheError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED


async def _act(action: str, spec: str, as_json: bool) -> int:
    from dfs_async.cache import open_store

    store = await open_store(spec)
    try:
        if action == "stats":
            stats = await store.stats()
            if as_json:
                print(
                    msgspec.json.encode(
                        {"cache": str(store), **msgspec.to_builtins(stats)}
                    ).decode()
                )
            else:
                print(f"cache: {store!r}")
                print(stats_text(stats, time.time()))
        elif action == "prune":
            print(f"dropped {entries(await store.prune())} (expired)")
        else:
            print(f"dropped {entries(await store.clear())}")
    finally:
        await store.close()
    return EXIT_OK


def stats_text(stats: CacheStats, now: float) -> str:
    """A `CacheStats` for a person: entries, size, ages, expired, what it served."""
    lines = [f"entries: {stats.entries:,} ({size(stats.bytes)})"]
    if stats.oldest is not None and stats.newest is not None:
        lines.append(
            f"stored: the oldest {duration(now - stats.oldest)} ago,"
            f" the newest {duration(now - stats.newest)} ago"
        )
    if stats.expired:
        lines.append(f"expired: {stats.expired:,} (dfs-async cache prune drops them)")
    lines.append(
        f"served: {plural(stats.hits, 'answer')} from the cache ({money(stats.saved)} not spent)"
    )
    return "\n".join(lines)


def entries(n: int) -> str:
    return f"{n:,} entr{'y' if n == 1 else 'ies'}"


def size(n: int) -> str:
    """`512 B`, `3.4 KB`, `12.0 MB`, `1.2 GB` (powers of 1,024)."""
    if n < 1024:
        return f"{n} B"
    value = n / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
