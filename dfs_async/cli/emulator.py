"""`dfs-async emulator`: serve the emulator on a socket until SIGINT/SIGTERM.

The first line on stdout is the base URL it listens on, so a script can start it with
`--port 0` and read where it went; the second names the account to use (login, password).
Every config field is a flag; the password can also come from `DFS_EMULATOR_PASSWORD` (a flag
shows in the process list, and then the password is not printed either). `--verbose` logs
each request on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
from typing import Any

from dfs_async.cli.exits import EXIT_OK, Parser, parse, usage_error
from dfs_async.emulator.app import Emulator
from dfs_async.emulator.config import FAULT_KINDS, EmulatorConfig, FaultConfig
from dfs_async.emulator.serve import MISSING_UVICORN, base_url, bind, has_uvicorn, uvicorn_config

PROG = "dfs-async emulator"


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a rate is from 0 to 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 0 to 65535, got {value}")
    return value


def _size(text: str) -> tuple[str, int]:
    host, sep, size = text.partition("=")
    if not sep or not size.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST=PAGES, got {text!r}")
    return host, int(size)


def register(subparsers: Any) -> None:
    d, f = EmulatorConfig(), FaultConfig()
    p = subparsers.add_parser(
        "emulator",
        help="serve a local emulator of the Backlinks API",
        description="Serve a local emulator of the DataForSEO Backlinks API"
        " (every endpoint of the client, appendix/user_data, available_filters).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8080, help="port (0: any free one; default 8080)")
    p.add_argument("--login", default="emulator", help="the account's login (default emulator)")
    p.add_argument(
        "--password",
        default=None,
        help="the account's password (default: $DFS_EMULATOR_PASSWORD, else emulator)",
    )
    p.add_argument("--seed", type=int, default=d.seed, help="corpus seed (default %(default)s)")
    p.add_argument(
        "--rate-limit", type=int, default=d.rate_limit,
        help="requests allowed per window, then 40202 (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--window-seconds", type=float, default=d.window_seconds,
        help="the rate limit's window in seconds (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--max-simultaneous", type=int, default=d.max_simultaneous,
        help="requests in progress at once per account, then 40209 (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--balance", type=float, default=None,
        help="the account's money in USD, then 40210 (default unlimited)",
    )  # fmt: skip
    p.add_argument(
        "--daily-cost-cap", type=float, default=None,
        help="USD the account may spend per UTC day (default no cap)",
    )  # fmt: skip
    p.add_argument(
        "--min-pages", type=int, default=d.min_pages,
        help="fewest pages a target's corpus holds (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--max-pages", type=int, default=d.max_pages,
        help="most pages a target's corpus holds (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--size-skew", type=float, default=d.size_skew,
        help="how strongly corpus sizes lean to the small end (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--target-size", type=_size, action="append", default=[], metavar="HOST=PAGES",
        help="pin a host's number of pages (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--task-log-size", type=int, default=d.task_log_size,
        help="tasks each account's log keeps for errors and id_list (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--fault-seed", type=int, default=f.seed, help="seed of the faults (default %(default)s)"
    )
    p.add_argument(
        "--latency-min", type=float, default=f.latency_min, help="least added latency, seconds"
    )
    p.add_argument(
        "--latency-max", type=float, default=f.latency_max, help="most added latency, seconds"
    )
    for kind in FAULT_KINDS:
        flag = "--" + kind.replace("_", "-")
        p.add_argument(flag, type=_rate, default=0.0, help=f"rate of {kind} faults (0..1)")
    p.add_argument(
        "--slow-trickle-seconds", type=float, default=f.slow_trickle_seconds,
        help="how long a slow_trickle fault takes to send its body (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--max-consecutive", type=int, default=f.max_consecutive,
        help="most faults in a row for the same request (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning"],
        help="the server's log level (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--verbose", "-v", action="store_true", help="log each request on stderr (access log)"
    )
    p.set_defaults(run=run)


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    """The config the flags describe; ValueError names a bad one."""
    password = args.password or os.environ.get("DFS_EMULATOR_PASSWORD") or "emulator"
    faults = FaultConfig(
        seed=args.fault_seed,
        latency_min=args.latency_min,
        latency_max=args.latency_max,
        slow_trickle_seconds=args.slow_trickle_seconds,
        max_consecutive=args.max_consecutive,
        **{kind: getattr(args, kind) for kind in FAULT_KINDS},
    )
    names = {f.name for f in dataclasses.fields(EmulatorConfig)}
    plain = {k: v for k, v in vars(args).items() if k in names and k != "faults"}
    return EmulatorConfig(
        **plain,
        accounts={args.login: password},
        target_sizes=dict(args.target_size),
        faults=faults,
    )


def _account_line(args: argparse.Namespace, config: EmulatorConfig) -> str:
    """The credentials to use; a password given out of sight (flag or variable) stays so."""
    password = "(yours)" if args.password else "$DFS_EMULATOR_PASSWORD"
    if not args.password and not os.environ.get("DFS_EMULATOR_PASSWORD"):
        password = config.accounts[args.login]
    return f"login: {args.login}  password: {password}"


def run(args: argparse.Namespace) -> int:
    if not has_uvicorn():
        return usage_error(PROG, MISSING_UVICORN)
    try:
        config = config_from(args)
    except ValueError as exc:
        return usage_error(PROG, str(exc))
    import uvicorn

    log_level = "info" if args.verbose and args.log_level == "warning" else args.log_level
    server = uvicorn.Server(
        uvicorn_config(Emulator(config), log_level=log_level, access_log=args.verbose)
    )
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        return usage_error(PROG, f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    with sock:
        sock.listen()  # connections wait in the backlog from the moment the URL is printed
        print(base_url(sock), flush=True)
        print(_account_line(args, config), flush=True)
        # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal with the
        # handlers it found: make that a plain return for both.
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """`python -m dfs_async.emulator [options]`: the same command without the CLI's extras."""
    parser = Parser(prog="python -m dfs_async.emulator")
    register(parser.add_subparsers(dest="command"))
    args = parse(parser, ["emulator", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.run(args)
    return code
