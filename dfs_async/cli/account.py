"""`dfs-async account`: what `GET /v3/appendix/user_data` says of the account.

Prints the login, the balance, the per-minute limit, the backlinks functions' daily limits
(and today's use), today's spend and the backlinks subscription's expiry; `--json` prints the
same as one JSON object (`AccountInfo`'s fields). The call is free (no task, no cost).
Exit codes: 0 read, 2 usage (credentials missing), 3 the account could not be read.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import AsyncExitStack
from typing import Any, Final

import anyio
import msgspec

from dfs_async.account import AccountInfo, AccountUnavailable, fetch_account
from dfs_async.cli import EXIT_OK, EXIT_STOPPED, usage_error
from dfs_async.cli.progress import money
from dfs_async.errors import ConfigurationError

PROG: Final = "dfs-async account"


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "account",
        help="the account's login, balance, limits, today's spend and subscription expiry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="one JSON object (default: text)")
    where = p.add_argument_group("server (default: DATAFORSEO_BASE_URL, else the real API)")
    one = where.add_mutually_exclusive_group()
    one.add_argument("--base-url", metavar="URL", help="the API's base URL")
    one.add_argument(
        "--sandbox", action="store_true", help="DataForSEO's free sandbox (dummy data)"
    )
    one.add_argument(
        "--emulator",
        action="store_true",
        help="the built-in emulator on 127.0.0.1 (its default account); no credentials needed",
    )
    p.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> int:
    if not args.emulator and not (
        os.environ.get("DATAFORSEO_LOGIN") and os.environ.get("DATAFORSEO_PASSWORD")
    ):
        return usage_error(
            PROG,
            "credentials missing: set DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD (or use --emulator)",
        )
    return anyio.run(_account, args)


async def _account(args: argparse.Namespace) -> int:
    from dfs_async import DataForSEO

    options: dict[str, Any] = {"base_url": args.base_url, "sandbox": args.sandbox}
    async with AsyncExitStack() as stack:
        if args.emulator:
            from dfs_async.emulator import EmulatorConfig, running_emulator

            emu = await stack.enter_async_context(running_emulator(EmulatorConfig()))
            options.update(login=emu.login, password=emu.password, base_url=emu.base_url)
        try:
            dfs = DataForSEO(**options, account_limits=False, max_attempts=1)
        except (ConfigurationError, ValueError) as exc:
            return usage_error(PROG, str(exc))
        async with dfs:
            try:
                info = await fetch_account(dfs.engine.transport)
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
