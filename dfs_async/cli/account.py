"""`dfs-async account`: what `GET /v3/appendix/user_data` says of the account.

Prints the login, the balance, the per-minute limit, the backlinks functions' daily limits
(and today's use), today's spend and the backlinks subscription's expiry; `--json` prints the
same as one JSON object (`AccountInfo`'s fields). The call is free (no task, no cost).
Exit codes: 0 read, 2 usage (credentials missing), 3 the account could not be read.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import AsyncExitStack
from typing import Any, Final

import anyio
import msgspec

from dfs_async import AccountInfo, AccountUnavailable
from dfs_async.cli.exits import EXIT_OK, EXIT_STOPPED, UsageError, usage_error
from dfs_async.cli.server import (
    add_server_options,
    check_server,
    server_options,
    start_emulator,
)
from dfs_async.errors import ConfigurationError
from dfs_async.money import money

PROG: Final = "dfs-async account"


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "account",
        help="the account's login, balance, limits, today's spend and subscription expiry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="one JSON object (default: text)")
    add_server_options(p)
    p.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> int:
    try:
        check_server(args)
    except UsageError as exc:
        return usage_error(PROG, str(exc))
    return anyio.run(_account, args)


async def _account(args: argparse.Namespace) -> int:
    from dfs_async import DataForSEO

    options = server_options(args)
    async with AsyncExitStack() as stack:
        if args.emulator:
            await start_emulator(stack, options)
        try:
            dfs = DataForSEO(**options, account_limits=False, max_attempts=1)
            await stack.enter_async_context(dfs)
        except (ConfigurationError, ValueError) as exc:
            return usage_error(PROG, str(exc))
        try:
            info = await dfs.fetch_account()
        except AccountUnavailable as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return EXIT_STOPPED
    if args.json:
        print(msgspec.json.encode(info.to_dict()).decode())
    else:
        print(text(info))
    return EXIT_OK


def _money(value: float | None, unknown: str = "not listed") -> str:
    return unknown if value is None else money(value)


def text(info: AccountInfo) -> str:
    per_minute = "not listed" if info.per_minute is None else f"{info.per_minute:,.0f}"
    lines = [
        f"login: {info.login or 'not listed'}",
        f"balance: {_money(info.balance)}",
        f"requests a minute: {per_minute}",
        f"spent today: {_money(info.spent_today)}",
        f"daily cost cap: {_money(info.daily_cost_cap, 'none')}",
        f"backlinks subscription expires: {info.backlinks_expiry or 'no subscription'}",
    ]
    if info.daily_limits:
        lines.append("daily limits (requests a day; used today):")
        for name, limit in sorted(info.daily_limits.items()):
            lines.append(f"  {name}: {limit:,}; {info.used_today.get(name, 0):,}")
    else:
        lines.append("daily limits: none listed")
    return "\n".join(lines)
