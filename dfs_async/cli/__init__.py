"""The `dfs-async` command line: one subcommand a module, each with `register(subparsers)`.

A subcommand's `register` adds its parser and sets `run` (a function of the parsed arguments
returning the exit code) as the parser's default. Every usage error, whether argparse finds
it or a subcommand does, goes through `usage_error`: one line naming the option, then where
to read the subcommand's help.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import NoReturn

# Exit codes shared by every subcommand.
EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_STOPPED = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader that went away


class UsageError(Exception):
    """Bad input found before any request: printed on one line, exit code EXIT_USAGE."""


def usage_error(prog: str, message: str) -> int:
    """Print a usage error the one way every command does; EXIT_USAGE."""
    print(f"{prog}: error: {message}\nsee: {prog} --help", file=sys.stderr)
    return EXIT_USAGE


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) naming the option, for every parser:
    `add_subparsers` makes the subcommands' parsers of this class too."""

    def error(self, message: str) -> NoReturn:
        sys.exit(usage_error(self.prog, message.removeprefix("argument ")))


def build_parser() -> Parser:
    from dfs_async.cli import account, audit, endpoint, utility
    from dfs_async.emulator import command as emulator_command
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
    emulator_command.register(sub)
    return parser


def parse(parser: Parser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse `argv`; an unknown option is reported by the subcommand it was given to (plain
    `parse_args` would report it with the top-level usage)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        owner: Parser = subparsers.choices.get(args.command, parser)
        owner.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


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
