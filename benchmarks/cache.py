"""Cache: what a page costs the client from the cache against from the server, what a run with
no hits pays for its cache, and the second run of a 10,000-domain audit.

- **Pages** (the baseline: our client fetching one-page targets of 1,000 items from the
  canned server, no cache): the same run with a cache that holds nothing (every answer
  fetched, then kept: the cost of the cache to a run with no hits), and with a cache that
  holds every page (nothing sent: the cost of a hit), in a local SQLite file and in Redis.
  Each run alone in its own process (`benchmarks.clients ours --cache`), its client closed
  (what is kept, written) before the clocks stop, interleaved over rounds, the best counts.
- **Stores**: one get (a hit) and one put of a 1,000-item page's bytes through
  `dfs_async.cache.Cache` (what a run calls), in SQLite and Redis, under asyncio and trio;
  `calls` a row, timed with `time.process_time()` (all threads of this process: SQLite's
  worker threads count, the Redis server does not). Beside them, what a bulk answer costs
  the cache alone: its 1,000 targets added to a dict of them (the index, which a later
  lookup makes), and its record written to an SQLite log; and what a run's cache costs
  however little it does: the SQLite file opened and closed.
- **Bulk**: `bulk_ranks` of 10,000 targets (1,000 a request) from the emulator in its own
  process (`benchmarks.family_client bulk-ours --cache`): no cache, a cache holding none,
  and a cache holding every target (nothing sent); client CPU per 1,000 targets, the store
  opened and closed within it.
- **Audit**: `dfs-async audit` of 10,000 domains (one job: six bulk endpoints at once, 10
  requests each) against the emulator (in this process; the command in its own): without a
  cache, a first run with one, and the second run, which the cache answers whole. Its wall
  time, its CPU and the requests the emulator saw.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec

from benchmarks.audit import domains as audit_domains
from benchmarks.harness import (
    ROOT,
    Goal,
    Metric,
    Row,
    Section,
    Size,
    Variant,
    best_of,
    canned_server,
    fmt,
    interleaved,
    run_json,
    server_process,
    timed,
)
from benchmarks.pages import page_bytes
from dfs_async.cache import Cache, Entry, open_cache
from dfs_async.models import DomainPagesSummaryResponse

FETCHED = "pages fetched, no cache"
EMPTY = "pages fetched, {store} cache holding none"
HELD = "pages from the {store} cache, nothing sent"
STORES = ("SQLite", "Redis")
LOOPS = ("asyncio", "trio")
LIMIT = 1000
DECODE = "stores: decode the page (our Structs)"
WRITE = "stores: write the page's bytes to a file, nothing else"
INDEX = f"stores: {LIMIT:,} targets of a bulk answer added to a dict of them, nothing else"
LOG = f"stores: SQLite log record of a bulk answer's {LIMIT:,} targets"
OPEN = "stores: SQLite cache opened and closed, nothing else"
BULK = "bulk_ranks of {n:,} targets, {how}"
BULK_RUNS = ("no cache", "SQLite cache holding none", "from the SQLite cache, nothing sent")
AUDIT = "audit of 10,000 domains, {run}"
AUDIT_RUNS = ("no cache", "first run, cache holding none", "second run, from the cache")
NO_HIT_GOAL = 1.05  # a run with no hits, per page, against no cache
HELD_LIMITS = {  # what a hit costs beyond the decode a fetch does too
    "Redis": "the Redis client's reading of a large value: copied into its buffer, out as the"
    " reply, then sliced, 0.7 MB each time",
}
KEY = "page"


def run(size: Size) -> Section:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.redis_server import RedisServer  # the tests' real server, on a free port

    targets, repeats = size.pick(5, 60, 300), size.pick(1, 2, 5)
    rounds, calls = size.pick(1, 3, 5), size.pick(3, 50, 300)
    # A bulk run is short (about 30 ms of CPU at 10,000 targets): a pause of the shared
    # machine weighs more on it than on the pages' runs, so it is repeated more.
    bulk_repeats = 3 * repeats
    domains = size.pick(200, 10_000, 10_000)
    section = Section(
        key="cache",
        title="Cache",
        what=(
            f"Pages: {targets} one-page targets of {LIMIT:,} items from the canned server, "
            f"concurrency 30, best of {repeats} interleaved rounds. Stores: {calls} calls a "
            f"row, best of {rounds}. Bulk: best of {bulk_repeats} interleaved rounds. Audit:"
            f" {domains:,} domains against the emulator, one run "
            "each. CPU per page: the run's CPU over its pages (for the stores, one call)."
        ),
        baseline=FETCHED,
        metrics=[
            Metric("cpu_ms", "CPU per page (stores: per call)", "ms", False),
            Metric("wall_ms", "wall per page (stores: per call)", "ms", False),
            Metric("cpu_per_1k", "CPU per 1,000 bulk targets", "ms", False),
            Metric("run_s", "wall, whole run", "s", False),
            Metric("run_cpu_s", "CPU, whole run", "s", False),
            Metric("requests", "requests sent", "", False),
        ],
    )
    with tempfile.TemporaryDirectory(prefix="dfs-bench-cache-") as tmp:
        server = RedisServer(Path(tmp)).start()
        try:
            url = f"{server.url}/0"
            _pages(section, Path(tmp), url, targets, repeats)
            _stores(section, Path(tmp), url, rounds, calls)
            _bulk(section, Path(tmp), domains, bulk_repeats)
            _audit(section, Path(tmp), domains)
        finally:
            server.stop()
    section.goals = _goals(section)
    return section


# -- pages ---------------------------------------------------------------------------------


def _pages(section: Section, tmp: Path, redis: str, targets: int, repeats: int) -> None:
    variants = {FETCHED: Variant(("ours",))}
    specs = {"SQLite": str(tmp / "held.db"), "Redis": redis}
    for store in STORES:
        empty = str(tmp / "empty.db") if store == "SQLite" else redis.replace("/0", "/1")
        variants[EMPTY.format(store=store)] = Variant(("ours", "--cache", empty, "--cache-empty"))
        variants[HELD.format(store=store)] = Variant(("ours", "--cache", specs[store]))
    common = ["--targets", str(targets), "--limit", str(LIMIT), "--concurrency", "30"]
    common += ["--expect-items", str(targets * LIMIT)]
    with canned_server(LIMIT) as canned:
        for store in STORES:  # fill the caches the hits are read from
            interleaved(canned.url, {store: variants[HELD.format(store=store)]}, common, 1)
        runs = interleaved(canned.url, variants, common, repeats)
    for name in variants:
        best = best_of(runs[name])
        pages = best["items"] / LIMIT
        section.rows.append(
            Row(
                name,
                {
                    "cpu_ms": best["cpu"] / pages * 1e3,
                    "wall_ms": best["wall"] / pages * 1e3,
                    "requests": best["requests"],
                },
            )
        )


# -- stores --------------------------------------------------------------------------------


def _decode_row(body: bytes, calls: int) -> tuple[float, float]:
    decoder = msgspec.json.Decoder(DomainPagesSummaryResponse)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        decoder.decode(body)
    return time.process_time() - cpu, time.perf_counter() - started


def _write_row(body: bytes, calls: int, tmp: Path) -> tuple[float, float]:
    """`calls` plain writes of the page's bytes, one after another, into a file whose space
    is taken ahead (as a segment's is): what the file system charges for the bytes alone."""
    path = tmp / "write-floor"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.posix_fallocate(fd, 0, len(body) * calls)
        started, cpu = time.perf_counter(), time.process_time()
        for n in range(calls):
            os.pwrite(fd, body, n * len(body))
        return time.process_time() - cpu, time.perf_counter() - started
    finally:
        os.close(fd)
        path.unlink()


def _store_row(
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


def _targets(n: int) -> list[str]:
    """The `n`th bulk answer's 1,000 targets, each a domain of its own."""
    return [f"example-domain-{n}-{i}.com" for i in range(LIMIT)]


def _index_row(calls: int) -> tuple[float, float]:
    """CPU and wall seconds of adding `calls` answers' targets to one dict of them (as
    `engine.held` does, the targets' hashes already made: the answer's decode made them)."""
    answers = [_targets(n) for n in range(calls)]
    for targets in answers:
        set(targets)  # their hashes, made and kept
    where: dict[str, object] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for n, targets in enumerate(answers):
        where.update(zip(targets, itertools.repeat(n)))
    return time.process_time() - cpu, time.perf_counter() - started


def _open_row(spec: str, calls: int) -> tuple[float, float]:
    """CPU and wall seconds of opening and closing the cache at `spec` `calls` times, as a
    run does once (its file exists)."""

    async def main() -> tuple[float, float]:
        await (await open_cache(spec, ttl=3600)).close()  # made, and its modules imported
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            await (await open_cache(spec, ttl=3600)).close()
        return time.process_time() - cpu, time.perf_counter() - started

    return anyio.run(main)


def _stores(section: Section, tmp: Path, redis: str, rounds: int, calls: int) -> None:
    body = page_bytes(LIMIT)
    entry = Entry(body, 0.05)

    async def get(cache: Cache) -> None:
        [hit] = await cache.get_many([KEY])
        if hit is None or len(hit.value) != len(body):
            raise RuntimeError("a miss where a hit was stored")

    async def put(cache: Cache) -> None:
        await cache.put_many({KEY: entry})

    batches = itertools.count()
    record = msgspec.msgpack.encode((time.time(), 0.00005, _targets(0)))

    async def log_record(cache: Cache) -> None:  # a bulk answer's record, written
        cache.append(f"{next(batches):040x}", record)
        await cache.flush()

    specs = {"SQLite": str(tmp / "stores.db"), "Redis": redis.replace("/0", "/2")}
    rows: dict[str, Callable[[], tuple[float, float]]] = {
        DECODE: lambda: _decode_row(body, calls),
        WRITE: lambda: _write_row(body, calls, tmp),
        INDEX: lambda: _index_row(calls),
        LOG: lambda: _store_row(specs["SQLite"], "asyncio", log_record, calls),
        OPEN: lambda: _open_row(specs["SQLite"], calls),
    }
    for store in STORES:
        for verb, work in (("get (a hit)", get), ("put", put)):
            for loop in LOOPS:
                rows[f"stores: {store} {verb}, {loop}"] = (
                    lambda spec=specs[store], loop=loop, work=work: _store_row(
                        spec, loop, work, calls
                    )
                )
    for spec in specs.values():
        _store_row(spec, "asyncio", put, 1)  # every get finds the page
    best: dict[str, tuple[float, float]] = {}
    order = list(rows)
    for n in range(rounds):
        for name in order if n % 2 == 0 else reversed(order):
            cpu, wall = rows[name]()
            if name not in best or cpu < best[name][0]:
                best[name] = (cpu, wall)
    for name, (cpu, wall) in best.items():
        section.rows.append(Row(name, {"cpu_ms": cpu / calls * 1e3, "wall_ms": wall / calls * 1e3}))


# -- bulk ----------------------------------------------------------------------------------


def _bulk(section: Section, tmp: Path, n: int, repeats: int) -> None:
    held, empty = str(tmp / "bulk-held.db"), str(tmp / "bulk-empty.db")
    options = {
        BULK_RUNS[0]: [],
        BULK_RUNS[1]: ["--cache", empty, "--cache-empty"],
        BULK_RUNS[2]: ["--cache", held],
    }
    server = server_process(["-m", "benchmarks.emulator_process", '{"rate_limit": 10000000}'])
    with server as emulator:
        common = ["bulk-ours", "--url", emulator.url, "--n", str(n)]
        run_json("benchmarks.family_client", [*common, *options[BULK_RUNS[2]]])  # fills it
        runs: dict[str, list[dict[str, Any]]] = {how: [] for how in options}
        for round_ in range(repeats):
            order = list(options) if round_ % 2 == 0 else list(reversed(options))
            for how in order:
                runs[how].append(run_json("benchmarks.family_client", [*common, *options[how]]))
    for how, results in runs.items():
        best = best_of(results)
        values = {"cpu_per_1k": best["cpu"] / best["records"] * 1e6, "requests": best["requests"]}
        section.rows.append(Row(BULK.format(n=n, how=how), values))


# -- the audit -----------------------------------------------------------------------------


def _audit(section: Section, tmp: Path, domains: int) -> None:
    from dfs_async.emulator import EmulatorConfig, serving_emulator

    path = tmp / "domains.txt"
    path.write_text("".join(f"{domain}\n" for domain in audit_domains(domains)))
    cache = tmp / "audit.db"
    with serving_emulator(EmulatorConfig(rate_limit=10**6)) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFORSEO_")}
        env.update(DATAFORSEO_LOGIN=emu.login, DATAFORSEO_PASSWORD=emu.password)
        for n, name in enumerate(AUDIT_RUNS):
            emu.app.reset_counters()
            options = ["--no-cache"] if n == 0 else ["--cache", str(cache)]
            out = tmp / f"audit{n}.csv"
            argv = ["audit", str(path), "--base-url", emu.base_url, "-o", str(out), "-q"]
            wall, cpu, _ = timed(["-m", "dfs_async", *argv, *options], ROOT, env)
            rows = out.read_text().count("\n") - 1
            if rows != domains:
                raise RuntimeError(f"{name}: {rows} rows for {domains} domains")
            values = {"run_s": wall, "run_cpu_s": cpu, "requests": emu.app.counters.requests}
            section.rows.append(Row(AUDIT.format(run=name), values))


# -- goals ---------------------------------------------------------------------------------


def _write_floor(section: Section, store: str) -> str:
    """What writing a page's bytes costs alone, against fetching the page."""
    write, fetched = section.row(WRITE), section.row(FETCHED)
    if store != "SQLite" or write is None or fetched is None:
        return "the store's own write of each page's bytes"
    ratio = write.values["cpu_ms"] / fetched.values["cpu_ms"]
    return (
        f"the write of each page's bytes: the file system alone takes {fmt(write.values['cpu_ms'])}"
        f" ms a page, {ratio:.0%} of fetching it"
    )


def _bulk_floor(section: Section, request_ms: float, targets: int) -> str:
    """The run's budget (its CPU without a cache times the goal's margin) against what the
    cache costs it whatever it does (the file opened and closed), and what keeping an
    answer costs alone against a request's whole handling."""
    opened, log = section.row(OPEN), section.row(LOG)
    if opened is None or log is None:
        return "the store opened and closed, and a record of each answer"
    fixed = opened.values["cpu_ms"]
    budget = (NO_HIT_GOAL - 1) * request_ms * targets / 1000
    return (
        f"{NO_HIT_GOAL - 1:.0%} of a run of {targets:,} targets is {fmt(budget)} ms; the"
        f" SQLite file opened and closed takes {fmt(fixed)} ms of it alone"
        f" ({fixed / budget:.0%}), before an answer is kept; each answer's record in the"
        f" log, {fmt(log.values['cpu_ms'])} ms alone, against {fmt(request_ms)} ms for a"
        " request's whole handling"
    )


def _bulk_targets(row: str) -> int:
    """The targets of a bulk row, from its name (`BULK`)."""
    return int(row.removeprefix("bulk_ranks of ").split(" ", 1)[0].replace(",", ""))


def _goals(section: Section) -> list[Goal]:
    goals = []
    for store in STORES:
        held = section.ratio(HELD.format(store=store), "cpu_ms")
        empty = section.ratio(EMPTY.format(store=store), "cpu_ms")
        if held is not None:
            goals.append(
                Goal(
                    f"a page from the {store} cache costs the client less CPU than fetching it",
                    f"{held:.2f}x",
                    held < 1.0,
                    "" if held < 1.0 else HELD_LIMITS.get(store, ""),
                )
            )
        if empty is not None:
            goals.append(
                Goal(
                    f"a run with no hits ({store}): CPU per page ≤ {NO_HIT_GOAL}x no cache",
                    f"{empty:.2f}x",
                    empty <= NO_HIT_GOAL,
                    "" if empty <= NO_HIT_GOAL else _write_floor(section, store),
                )
            )
    n = next((row.name for row in section.rows if row.name.startswith("bulk_ranks")), "")
    bulk = {how: section.row(f"{n.rsplit(', ', 1)[0]}, {how}") for how in BULK_RUNS}
    none, empty, held = (bulk[how] for how in BULK_RUNS)
    if none is not None and empty is not None and held is not None:
        cost = empty.values["cpu_per_1k"] / none.values["cpu_per_1k"]
        hit = held.values["cpu_per_1k"] / none.values["cpu_per_1k"]
        goals.append(
            Goal(
                "bulk: a target from the SQLite cache costs the client less CPU than fetching it",
                f"{hit:.2f}x ({fmt(held.values['cpu_per_1k'])} ms a 1,000 against"
                f" {fmt(none.values['cpu_per_1k'])})",
                hit < 1.0,
                "" if hit < 1.0 else "reading and decoding the answers that hold the targets",
            )
        )
        goals.append(
            Goal(
                f"bulk, a run with no hits (SQLite): CPU per 1,000 targets ≤ {NO_HIT_GOAL}x"
                " no cache",
                f"{cost:.2f}x ({fmt(empty.values['cpu_per_1k'])} ms against"
                f" {fmt(none.values['cpu_per_1k'])})",
                cost <= NO_HIT_GOAL,
                ""
                if cost <= NO_HIT_GOAL
                else _bulk_floor(section, none.values["cpu_per_1k"], _bulk_targets(n)),
            )
        )
    second = section.row(AUDIT.format(run=AUDIT_RUNS[2]))
    first = section.row(AUDIT.format(run=AUDIT_RUNS[1]))
    if second is not None and first is not None:
        goals.append(
            Goal(
                "the second run of the audit sends no request",
                f"{second.values['requests']:.0f} requests, {fmt(second.values['run_s'])} s"
                f" (the first: {first.values['requests']:.0f}, {fmt(first.values['run_s'])} s)",
                second.values["requests"] == 0,
            )
        )
    return goals
