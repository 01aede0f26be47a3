"""Cache: the client's CPU for one hit (a 1,000-item page's bytes got from the local store
or from Redis) and one put, beside decoding that page, which every answer costs anyway.

Each row is one store through `dfs_async.cache.Cache` (what a run calls) on one event
loop: `calls` gets (or puts) of one key, timed with `time.process_time()` (all threads of
this process: SQLite's worker threads count, the Redis server, another process, does not).
Rows are interleaved over rounds, each round in the opposite order; the best counts. The
side by side with a page fetched from the canned server comes with the wiring of the cache
into the client.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import msgspec

from benchmarks.harness import ROOT, Metric, Row, Section, Size
from benchmarks.pages import page_bytes
from dfs_async.cache import Cache, Entry, open_cache
from dfs_async.models import DomainPagesSummaryResponse

BASELINE = "decode the page (our Structs)"
KEY = "page"
STORES = ("SQLite", "Redis")
LOOPS = ("asyncio", "trio")


def decode_row(body: bytes, calls: int) -> tuple[float, float]:
    decoder = msgspec.json.Decoder(DomainPagesSummaryResponse)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        decoder.decode(body)
    return time.process_time() - cpu, time.perf_counter() - started


def store_row(
    spec: str, backend: str, work: Callable[[Cache], Awaitable[None]], calls: int
) -> tuple[float, float]:
    """CPU and wall seconds of `calls` times `work` on a cache opened on `spec`."""

    async def main() -> tuple[float, float]:
        cache = await open_cache(spec, ttl=3600)
        try:
            await work(cache)  # warm: connections made, the page in the OS's cache
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                await work(cache)
            elapsed = (time.process_time() - cpu, time.perf_counter() - started)
            if not cache.on:
                raise RuntimeError(f"the cache failed: {cache.failure}")
            return elapsed
        finally:
            await cache.close()

    return anyio.run(main, backend=backend)


def run(size: Size) -> Section:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.redis_server import RedisServer  # the tests' real server, on a free port

    rounds, calls = size.pick(1, 3, 5), size.pick(3, 50, 300)
    body = page_bytes(1000)
    section = Section(
        key="cache",
        title="Cache",
        what=(
            f"One hit: a 1,000-item page's bytes ({len(body):,}) got through `Cache.get_many` "
            "from a local SQLite file and from a Redis server on loopback, and one put of "
            f"it, under asyncio and trio, beside decoding the page; {calls} calls a row, "
            f"best of {rounds} interleaved rounds."
        ),
        baseline=BASELINE,
        metrics=[
            Metric("cpu_ms", "CPU per call", "ms", False),
            Metric("wall_ms", "wall per call", "ms", False),
        ],
    )
    entry = Entry(body, 0.05)

    async def get(cache: Cache) -> None:
        [hit] = await cache.get_many([KEY])
        if hit is None or len(hit.value) != len(body):
            raise RuntimeError("a miss where a hit was stored")

    async def put(cache: Cache) -> None:
        await cache.put_many({KEY: entry})

    with tempfile.TemporaryDirectory(prefix="dfs-bench-cache-") as tmp:
        server = RedisServer(Path(tmp)).start()
        try:
            specs = {"SQLite": str(Path(tmp) / "cache.db"), "Redis": f"{server.url}/0"}
            rows: dict[str, Callable[[], tuple[float, float]]] = {
                BASELINE: lambda: decode_row(body, calls)
            }
            for store in STORES:
                for verb, work in (("get (a hit)", get), ("put", put)):
                    for loop in LOOPS:
                        rows[f"{store} {verb}, {loop}"] = (
                            lambda spec=specs[store], loop=loop, work=work: store_row(
                                spec, loop, work, calls
                            )
                        )
            for spec in specs.values():
                store_row(spec, "asyncio", put, 1)  # every get finds the page
            best: dict[str, tuple[float, float]] = {}
            order = list(rows)
            for n in range(rounds):
                for name in order if n % 2 == 0 else reversed(order):
                    cpu, wall = rows[name]()
                    if name not in best or cpu < best[name][0]:
                        best[name] = (cpu, wall)
        finally:
            server.stop()
    for name, (cpu, wall) in best.items():
        section.rows.append(Row(name, {"cpu_ms": cpu / calls * 1e3, "wall_ms": wall / calls * 1e3}))
    hits = [section.ratio(f"{s} get (a hit), {loop}", "cpu_ms") for s in STORES for loop in LOOPS]
    section.notes.append(
        "A hit costs "
        + ", ".join(f"{r:.2f}x" for r in hits if r is not None)
        + " the CPU of decoding its page (SQLite then Redis, asyncio then trio): the decode "
        "follows a hit as it follows a fetch."
    )
    return section
