"""The options every command that sends takes, in one place: where its requests go
(`--base-url`, `--sandbox` or `--emulator`) and whether its account's limits are shared with
other processes (`--shared-limits`). `server_options` turns them into the client's.

The built-in emulator listens on a new port each run, but answers alike (it always has the
default config): a job's client caches its answers as coming from `EMULATOR_ORIGIN`
(`cli/options.py`), so a second run finds them.
"""

from __future__ import annotations

import argparse
import os
from contextlib import AsyncExitStack
from typing import Any, Final

from dfs_async.cli.exits import UsageError
from dfs_async.emulator.serve import MISSING_UVICORN, has_uvicorn

EMULATOR_ORIGIN: Final = "dfs-async emulator (its default config)"


def add_server_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("server (default: DATAFORSEO_BASE_URL, else the real API)")
    one = where.add_mutually_exclusive_group()
    one.add_argument("--base-url", metavar="URL", help="the API's base URL")
    one.add_argument(
        "--sandbox", action="store_true", help="DataForSEO's free sandbox (dummy data)"
    )
    one.add_argument(
        "--emulator",
        action="store_true",
        help="start the built-in emulator on 127.0.0.1 for this run; no credentials needed",
    )
    shared = parser.add_argument_group("shared limits (default: DATAFORSEO_SHARED_LIMITS)")
    shared.add_argument(
        "--shared-limits",
        type=_redis_url,
        metavar="URL",
        help="a Redis server (redis://HOST:PORT/DB) shared by every dfs-async process of this"
        " login, on any machine: together they keep the account's requests a minute, its 30"
        " simultaneous requests and its daily limits (default: this process alone)",
    )


def server_options(args: argparse.Namespace) -> dict[str, Any]:
    """The client's options from these: `DataForSEO(**server_options(args), ...)`."""
    return {
        "base_url": args.base_url,
        "sandbox": args.sandbox,
        "shared_limits": args.shared_limits,
    }


def _redis_url(text: str) -> str:
    from dfs_async.errors import ConfigurationError

    try:
        from dfs_async.redis_link import parse_redis_url  # the `redis` extra: only when asked

        parse_redis_url(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def check_server(args: argparse.Namespace, *, sending: bool = True) -> None:
    """UsageError unless the requests can go somewhere: the emulator needs its extra, the
    API credentials. Nothing is needed when nothing is sent (`sending` False: a dry run)."""
    if not sending:
        return
    if args.emulator and not has_uvicorn():
        raise UsageError(MISSING_UVICORN)
    if not args.emulator and not (
        os.environ.get("DATAFORSEO_LOGIN") and os.environ.get("DATAFORSEO_PASSWORD")
    ):
        raise UsageError(
            "credentials missing: set DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD (or use --emulator)"
        )


async def start_emulator(stack: AsyncExitStack, options: dict[str, Any]) -> None:
    """Start the built-in emulator for this run and point the client's `options` at it."""
    from dfs_async.emulator import EmulatorConfig, running_emulator

    emu = await stack.enter_async_context(running_emulator(EmulatorConfig()))
    options.update(login=emu.login, password=emu.password, base_url=emu.base_url)
