"""One process of a login: `python -m benchmarks.shared_worker URL [options]`.

Sends fake requests (a sleep of `--latency` seconds) through `SharedLimits` (or, with
`--local`, through one process's own `pacing.LocalPacer`, for comparison), `--concurrency` at
once, and prints one JSON line: the requests made, the CPU time and the wall time of the
work, the first and last departure in Redis's time, and the error that stopped it, if any.

For the tests, each request can also report itself:
- `--observer HOST:PORT`: a UDP datagram `S <name> <n>` when it starts and `E <name> <n>`
  when it ends, timed by the receiver (no clock of ours is trusted);
- `--audit`: counted in Redis itself while it runs (the most in flight at once) and its
  start logged with Redis's time.

`--hold K` takes K slots, prints `HELD`, and keeps them until the process is killed.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import time
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio

from dfs_async.errors import DataForSEOError
from dfs_async.pacing import LocalPacer
from dfs_async.redis_link import RedisLink
from dfs_async.shared_limits import SharedLimits

# The audit: the requests in flight at once and their starts, as Redis sees them.
AUDIT_START = """
local n = redis.call('INCR', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or 0) then redis.call('SET', KEYS[2], n) end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], t[1] * 1000000 + t[2], ARGV[1])
return n
"""
AUDIT_END = "return redis.call('DECR', KEYS[1])"
AUDIT_KEYS = ("audit:open", "audit:most", "audit:starts")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shared_worker")
    parser.add_argument("url")
    parser.add_argument("--name", default="w")
    parser.add_argument("--login", default="bench@example.com")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--slots", type=int, default=30)
    parser.add_argument("--rate", type=float, default=None, help="requests a minute")
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--patience", type=float, default=30.0)
    parser.add_argument("--latency", type=float, nargs=2, default=(0.0, 0.0))
    parser.add_argument("--function", default="")
    parser.add_argument("--observer", default=None)
    parser.add_argument("--audit", action="store_true")
    parser.add_argument("--hold", type=int, default=0)
    parser.add_argument("--local", action="store_true", help="pacing.LocalPacer, not shared")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


async def work(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    udp = None
    if args.observer:
        host, port = args.observer.rsplit(":", 1)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.connect((host, int(port)))
    out: dict[str, Any] = {"name": args.name, "requests": 0, "error": None}
    async with RedisLink(args.url) as link:
        keys = [link.key(k) for k in AUDIT_KEYS]
        audit_start, audit_end = link.script(AUDIT_START), link.script(AUDIT_END)
        limits: Any
        if args.local:
            limits = LocalPacer(rate=args.rate, concurrency=args.concurrency, window=args.window)
        else:
            limits = SharedLimits(
                link, args.login, rate=args.rate, concurrency=args.concurrency,
                slots=args.slots, window=args.window, lease=args.lease, poll=args.poll,
                patience=args.patience,
            )  # fmt: skip
        async with _entered(limits) as limits:
            if args.hold:
                await hold(limits, args.hold)
            counter = iter(range(args.requests))
            departures: list[float] = []

            async def one(n: int) -> None:
                async with limits.slot(args.function) if not args.local else limits.slot() as sent:
                    departures.append(sent)
                    if udp is not None:
                        udp.send(f"S {args.name} {n}".encode())
                    if args.audit:
                        await audit_start(keys, [f"{args.name}:{n}"])
                    low, high = args.latency
                    await anyio.sleep(rng.uniform(low, high))
                    if args.audit:
                        await audit_end(keys)
                    if udp is not None:
                        udp.send(f"E {args.name} {n}".encode())
                out["requests"] += 1

            async def worker() -> None:
                for n in counter:
                    await one(n)

            cpu, wall = time.process_time(), time.monotonic()
            try:
                async with anyio.create_task_group() as tg:
                    for _ in range(args.concurrency):
                        tg.start_soon(worker)
            except* DataForSEOError as group:
                out["error"] = str(group.exceptions[0])
                out["error_type"] = type(group.exceptions[0]).__name__
            out["cpu"] = time.process_time() - cpu
            out["wall"] = time.monotonic() - wall
            if departures:
                out["first"], out["last"] = min(departures), max(departures)
    return out


def _entered(limits: Any) -> AbstractAsyncContextManager[Any]:
    """SharedLimits is entered; a LocalPacer needs nothing."""
    if isinstance(limits, SharedLimits):
        return limits

    class _Plain:
        async def __aenter__(self) -> Any:
            return limits

        async def __aexit__(self, *exc: object) -> None:
            pass

    return _Plain()


async def hold(limits: SharedLimits, slots: int) -> None:
    async def take(ready: anyio.Event) -> None:
        async with limits.slot():
            ready.set()
            await anyio.sleep_forever()

    async with anyio.create_task_group() as tg:
        for _ in range(slots):
            ready = anyio.Event()
            tg.start_soon(take, ready)
            await ready.wait()
        print("HELD", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    result = anyio.run(work, args, backend=args.backend)
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
