"""The `dfs-async` command line: one subcommand a module, each with `register(subparsers)`.

A subcommand's `register` adds its parser and sets `run` (a function of the parsed arguments
returning the exit code) as the parser's default.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version

# Exit codes shared by every subcommand.
EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_STOPPED = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input found before any request: printed on one line, exit code EXIT_USAGE."""


def build_parser() -> argparse.ArgumentParser:
    from dfs_async.cli import audit
    from dfs_async.emulator import command as emulator_command

    parser = argparse.ArgumentParser(
        prog="dfs-async",
        description="Async batch client for the DataForSEO Backlinks API, and its emulator.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('dfs-async')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    audit.register(sub)
    emulator_command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
