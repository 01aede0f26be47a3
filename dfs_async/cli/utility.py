"""The utility endpoints' subcommands (`dfs-async available-filters`, `index`, `errors`,
`id-list`): one call, its results printed as JSON on stdout.

Their options are their request fields (fields.py), checked before anything is sent; the
server options are the other subcommands'. Exit codes: 0 answered, 1 the request failed, 2
usage, 3 the account or the server stopped it.
"""

from __future__ import annotations

import argparse
import functools
import sys
from contextlib import AsyncExitStack
from typing import Any

import anyio
import msgspec

from dfs_async.cli.exits import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_STOPPED,
    UsageError,
    usage_error,
)
from dfs_async.cli.fields import add_request_options, request_fields
from dfs_async.cli.server import (
    add_server_options,
    check_server,
    server_options,
    start_emulator,
)
from dfs_async.endpoints import Endpoint
from dfs_async.errors import ConfigurationError, RunStopped, TaskFailed


def register(subparsers: Any, endpoint: Endpoint) -> None:
    name = endpoint.name.replace("_", "-")
    p: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=f"{endpoint.method} {endpoint.path}, printed as JSON",
        description=f"Call {endpoint.method} {endpoint.path} once and print its results as JSON.",
    )
    if endpoint.fields:
        add_request_options(p, endpoint, {})
    add_server_options(p)
    p.set_defaults(run=functools.partial(run_command, endpoint))


def run_command(endpoint: Endpoint, args: argparse.Namespace) -> int:
    prog = f"dfs-async {endpoint.name.replace('_', '-')}"
    try:
        fields = request_fields(args, endpoint)
        check_server(args)
    except UsageError as exc:
        return usage_error(prog, str(exc))
    return anyio.run(_call, endpoint, args, fields, prog)


async def _call(
    endpoint: Endpoint, args: argparse.Namespace, fields: dict[str, Any], prog: str
) -> int:
    from dfs_async import DataForSEO

    async with AsyncExitStack() as stack:
        options = server_options(args)
        if args.emulator:
            await start_emulator(stack, options)
        try:
            dfs = await stack.enter_async_context(DataForSEO(**options))
        except ConfigurationError as exc:
            return usage_error(prog, str(exc))
        try:
            results = await getattr(dfs.backlinks, endpoint.name)(**fields)
        except RunStopped as exc:
            print(f"{prog}: stopped: {exc}", file=sys.stderr)
            return EXIT_STOPPED
        except TaskFailed as exc:
            print(f"{prog}: failed: {exc.status_code} {exc.status_message}", file=sys.stderr)
            return EXIT_SOME_FAILED
    sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(results)) + b"\n")
    return EXIT_OK
