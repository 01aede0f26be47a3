"""The `dfs-async` command line: one subcommand a module, each with `register(subparsers)`.

A subcommand's `register` adds its parser and sets `run` (a function of the parsed arguments
returning the exit code) as the parser's default. Exit codes and usage errors: `exits`. The
command line reaches the library only through its public API (`DataForSEO`, its endpoint
calls and their `estimate`), as any user would.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.metadata import version

from dfs_async.cli.exits import EXIT_INTERRUPTED, Parser, UsageError, parse

__all__ = ["UsageError", "build_parser", "main"]


def build_parser() -> Parser:
    from dfs_async.cli import account, audit, cache, emulator, endpoint, utility
    from dfs_async.endpoints import ENDPOINTS, UTILITIES

    parser = Parser(
        prog="dfs-async",
        description="Async batch client for the DataForSEO Backlinks API, and its emulator.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('dfs-async')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for spec in ENDPOINTS:
        endpoint.register(sub, spec)
    for spec in UTILITIES:
        utility.register(sub, spec)
    audit.register(sub)
    account.register(sub)
    cache.register(sub)
    emulator.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(build_parser(), argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
