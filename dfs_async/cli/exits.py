"""How a command ends: its exit codes, and the one way a usage error is told.

Every usage error, whether argparse finds it or a command does, goes through `usage_error`:
one line naming the option, then where to read the command's help.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, Final, NoReturn

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_STOPPED",
    "EXIT_USAGE",
    "Parser",
    "UsageError",
    "parse",
    "usage_error",
]

EXIT_OK: Final = 0
EXIT_SOME_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_STOPPED: Final = 3
EXIT_INTERRUPTED: Final = 130
EXIT_BROKEN_PIPE: Final = 141  # 128 + SIGPIPE, what a shell reports for a reader that went away


class UsageError(Exception):
    """Bad input found before any request: printed on one line, exit code EXIT_USAGE."""


def usage_error(prog: str, message: str) -> int:
    """Print a usage error the one way every command does; EXIT_USAGE."""
    print(f"{prog}: error: {message}\nsee: {prog} --help", file=sys.stderr)
    return EXIT_USAGE


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) naming the option, and no abbreviated
    options (`--max-item` is not `--max-items`: a typo never runs as another option), for
    every parser: `add_subparsers` makes the subcommands' parsers of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        sys.exit(usage_error(self.prog, message.removeprefix("argument ")))


def parse(parser: Parser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse `argv`; an unknown option is reported by the subcommand it was given to (plain
    `parse_args` would report it with the top-level usage)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        owner: Parser = subparsers.choices.get(args.command, parser)
        owner.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args
