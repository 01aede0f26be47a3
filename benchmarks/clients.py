"""The measured clients, each run alone in its own process: `python -m benchmarks.clients KIND`.

Every client streams every item of every target (all pages: `offset = 0, limit, 2*limit, ...`
until `total_count`) and prints one JSON line: items, requests, the process's CPU seconds
(`time.process_time`, all threads, set-up included, interpreter start and imports excluded)
and wall seconds.

Kinds:
- `naive`: what a user writes first: `httpx.AsyncClient()` as is, `resp.json()`, targets
  gathered under a semaphore of `concurrency`, each target's pages one after another.
- `official`: the official `dataforseo-client` (sync, urllib3, pydantic) in a thread pool of
  `concurrency` threads, its connection pool sized to match.
- `floor`: aiohttp (connector limit = concurrency) + untyped msgspec decode: about the least
  CPU an asyncio Python client can spend on the same work. With `--rate R` it paces its
  requests steadily, one every `60 / R` seconds (aiolimiter's `AsyncLimiter(1, 60 / R)`,
  taken after the concurrency slot as our client does): the floor of a paced run.
- `floor-trio`: the floor under trio (aiohttp runs only on asyncio): httpcore's bare
  connections, one per slot (no pool: the cheapest way httpcore sends, about 0.1 ms a request
  below a pool of one), the same untyped decode and loop: what trio and its HTTP stack
  cost before any client work.
- `raw-*`: the same loop as `naive` but decoding into our msgspec Structs, over each HTTP stack
  of the pool comparison: `raw-httpx` (as is: 100 connections, 20 kept alive),
  `raw-httpx-tuned` (pool sized to the concurrency), `raw-httpx-nogate` (that pool but no
  semaphore: every request waits inside the pool), `raw-httpx-aiohttp` (the httpx-aiohttp
  transport, pool sized), `raw-httpx2` (pool sized). All but `nogate` are gated by a
  semaphore of `concurrency`.
- `ours`: `DataForSEO(...).backlinks.domain_pages_summary.stream(...)`, with `--http` choosing
  the HTTP stack handed to it (`default`: whatever the client picks by itself), `--rate R`
  its `rate=` (default 10,000,000 a minute: in effect unpaced; `--account-rate`: the
  account's, read from user_data), `--shared-limits URL` its `shared_limits=` and
  `--cache PATH` its response cache (`--cache-empty`: emptied first, so that nothing hits),
  its client closed (what is kept, written) before the clocks stop.

`--start N` names the targets from the N-th on (several processes, each its own targets).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from typing import Any, Literal

import msgspec

from benchmarks.harness import emit
from dfs_async.models import DomainPagesSummaryResponse

PATH = "/v3/backlinks/domain_pages_summary/live"
LOGIN, PASSWORD = "bench", "bench"
RAW_STACKS = ("httpx", "httpx-nogate", "httpx-tuned", "httpx-aiohttp", "httpx2")
OURS_STACKS = ("default", "httpx", "httpx-tuned", "httpx-aiohttp")
KINDS = ("naive", "official", "floor", "floor-trio", *(f"raw-{s}" for s in RAW_STACKS), "ours")

Post = Callable[[bytes], Awaitable[bytes]]
Decode = Callable[[bytes], tuple[int, int]]  # body -> (items on this page, total_count)


def target_names(n: int, start: int = 0) -> Iterator[str]:
    return (f"site{i}.com" for i in range(start, start + n))


def count_dicts(data: Any) -> tuple[int, int]:
    result = data["tasks"][0]["result"][0]
    return len(result["items"] or ()), result["total_count"] or 0


def _typed_decoder() -> Decode:
    decoder = msgspec.json.Decoder(DomainPagesSummaryResponse)

    def decode(body: bytes) -> tuple[int, int]:
        envelope = decoder.decode(body)
        assert envelope.tasks and envelope.tasks[0].result
        result = envelope.tasks[0].result[0]
        return len(result.items or ()), result.total_count or 0

    return decode


async def page_loop(
    post: Post,
    decode: Decode,
    targets: int,
    limit: int,
    concurrency: int | None,
    trio: bool = False,
) -> tuple[int, int]:
    """Every page of every target, a task each (on trio if `trio`); returns (items,
    requests)."""
    gate: Any = None
    if concurrency:
        gate = _trio().Semaphore(concurrency) if trio else asyncio.Semaphore(concurrency)
    items = requests = 0

    async def one(target: str) -> None:
        nonlocal items, requests
        offset, total = 0, 1
        while offset < total:
            body = msgspec.json.encode([{"target": target, "limit": limit, "offset": offset}])
            if gate is None:
                answer = await post(body)
            else:
                async with gate:
                    answer = await post(body)
            got, total = decode(answer)
            del answer  # hold no page while this target waits for its next turn
            items += got
            requests += 1
            offset += limit

    if trio:
        async with _trio().open_nursery() as nursery:
            for target in target_names(targets):
                nursery.start_soon(one, target)
    else:
        await asyncio.gather(*(one(t) for t in target_names(targets)))
    return items, requests


def _trio() -> Any:
    import trio

    return trio


async def naive(url: str, targets: int, limit: int, concurrency: int) -> tuple[int, int]:
    import httpx

    gate = asyncio.Semaphore(concurrency)
    items = requests = 0
    async with httpx.AsyncClient(auth=(LOGIN, PASSWORD)) as client:

        async def one(target: str) -> None:
            nonlocal items, requests
            offset, total = 0, 1
            while offset < total:
                async with gate:
                    task = {"target": target, "limit": limit, "offset": offset}
                    response = await client.post(url + PATH, json=[task])
                got, total = count_dicts(response.json())
                del response  # hold no page while this target waits for its next turn
                items += got
                requests += 1
                offset += limit

        await asyncio.gather(*(one(t) for t in target_names(targets)))
    return items, requests


def official(url: str, targets: int, limit: int, concurrency: int) -> tuple[int, int]:
    from dataforseo_client import ApiClient, Configuration  # type: ignore[import-untyped]
    from dataforseo_client.api.backlinks_api import BacklinksApi  # type: ignore[import-untyped]
    from dataforseo_client.models.backlinks_domain_pages_summary_live_request_info import (  # type: ignore[import-untyped]
        BacklinksDomainPagesSummaryLiveRequestInfo as RequestInfo,
    )

    config = Configuration(host=url, username=LOGIN, password=PASSWORD)
    config.connection_pool_maxsize = concurrency
    api = BacklinksApi(ApiClient(config))

    def one(target: str) -> tuple[int, int]:
        items = requests = 0
        offset, total = 0, 1
        while offset < total:
            task = RequestInfo(target=target, limit=limit, offset=offset)
            response = api.domain_pages_summary_live([task])
            result = response.tasks[0].result[0]
            items += len(result.items or ())
            total = result.total_count or 0
            requests += 1
            offset += limit
        return items, requests

    with ThreadPoolExecutor(concurrency) as pool:
        counts = list(pool.map(one, target_names(targets)))
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


async def floor(
    url: str, targets: int, limit: int, concurrency: int, rate: float | None = None
) -> tuple[int, int]:
    """The floor; `rate` (requests per minute) paces it: one request every 60 / rate s."""
    import aiohttp
    from aiolimiter import AsyncLimiter

    connector = aiohttp.TCPConnector(limit=concurrency)
    token = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": f"Basic {token}"}
    limiter = AsyncLimiter(1, 60 / rate) if rate else None  # a bucket of one: steady spacing
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(body: bytes) -> bytes:
            if limiter is not None:
                await limiter.acquire()
            async with session.post(url + PATH, data=body, headers=headers) as response:
                return await response.read()

        def decode(body: bytes) -> tuple[int, int]:
            return count_dicts(msgspec.json.decode(body))

        return await page_loop(post, decode, targets, limit, concurrency)


async def floor_trio(url: str, targets: int, limit: int, concurrency: int) -> tuple[int, int]:
    """The floor under trio: a free list of httpcore's bare connections, one per slot."""
    import httpcore

    base = httpcore.URL(url)
    origin = httpcore.Origin(base.scheme, base.host, base.port)
    post_url = httpcore.URL(url + PATH)
    token = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode())
    netloc = b"%s:%d" % (base.host, base.port or 80)
    headers = [
        (b"Host", netloc),
        (b"Content-Type", b"application/json"),
        (b"Authorization", b"Basic " + token),
    ]
    free = [httpcore.AsyncHTTPConnection(origin, keepalive_expiry=5.0) for _ in range(concurrency)]

    async def post(body: bytes) -> bytes:
        connection = free.pop()
        try:
            size = [(b"Content-Length", b"%d" % len(body))]
            request = httpcore.Request("POST", post_url, headers=headers + size, content=body)
            response = await connection.handle_async_request(request)
            try:
                return await response.aread()
            finally:
                await response.aclose()
        finally:
            free.append(connection)

    def decode(body: bytes) -> tuple[int, int]:
        return count_dicts(msgspec.json.decode(body))

    try:
        return await page_loop(post, decode, targets, limit, concurrency, trio=True)
    finally:
        for connection in free:
            await connection.aclose()


async def raw(stack: str, url: str, targets: int, limit: int, concurrency: int) -> tuple[int, int]:
    """Our decode over one HTTP stack, so the stacks differ in nothing else."""
    async with AsyncExitStack() as stack_ctx:
        if stack == "httpx2":
            import httpx2

            limits2 = httpx2.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            )
            client2 = await stack_ctx.enter_async_context(
                httpx2.AsyncClient(auth=(LOGIN, PASSWORD), limits=limits2, base_url=url)
            )

            async def post2(body: bytes) -> bytes:
                response = await client2.post(PATH, content=body, headers=JSON)
                return response.content

            return await page_loop(post2, _typed_decoder(), targets, limit, concurrency)
        client = await stack_ctx.enter_async_context(http_client(stack, url, concurrency))

        async def post(body: bytes) -> bytes:
            response = await client.post(PATH, content=body, headers=JSON)
            content: bytes = response.content
            return content

        gate = None if stack == "httpx-nogate" else concurrency
        return await page_loop(post, _typed_decoder(), targets, limit, gate)


JSON = {"Content-Type": "application/json"}


def http_client(stack: str, url: str, concurrency: int) -> Any:
    """An `httpx.AsyncClient` over the named stack (Basic auth and base URL set)."""
    import httpx

    common: dict[str, Any] = {"auth": (LOGIN, PASSWORD), "base_url": url, "timeout": 130.0}
    if stack == "httpx":
        return httpx.AsyncClient(**common)
    tuned = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    if stack in ("httpx-tuned", "httpx-nogate"):
        return httpx.AsyncClient(limits=tuned, **common)
    if stack == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return httpx.AsyncClient(transport=AiohttpTransport(limits=tuned), **common)
    raise ValueError(f"unknown HTTP stack {stack!r}")


EXTRA: dict[str, Any] = {}  # what `ours` reports beyond items and requests


async def ours(
    url: str,
    targets: int,
    limit: int,
    concurrency: int,
    stack: str = "default",
    rate: float | Literal["account"] = 10_000_000,
    slow: bool = False,
    marks: tuple[int, ...] = (),
    cache: str | None = None,
    shared_limits: str | None = None,
    start: int = 0,
) -> tuple[int, int]:
    """Our client; `slow` consumes at most ~50,000 items/s (a pause of 2 ms per 100 items);
    `marks` are item counts at which to record the process's RSS (in EXTRA["rss_mb"])."""
    import anyio

    from dfs_async import DataForSEO

    rss: list[float] = []
    process = None
    if marks:
        import psutil  # type: ignore[import-untyped]

        process = psutil.Process()
        EXTRA["idle_rss_mb"] = process.memory_info().rss / 2**20
    async with AsyncExitStack() as ctx:
        kwargs: dict[str, Any] = {}
        if stack != "default":
            kwargs["http_client"] = await ctx.enter_async_context(
                http_client(stack, url, concurrency)
            )
        dfs = await ctx.enter_async_context(
            DataForSEO(
                login=LOGIN,
                password=PASSWORD,
                base_url=url,
                concurrency=concurrency,
                rate=rate,
                cache=cache or False,
                shared_limits=shared_limits,
                **kwargs,
            )
        )
        items = 0
        pending = list(marks)
        async with dfs.backlinks.domain_pages_summary.stream(
            target_names(targets, start), limit=limit
        ) as records:
            async for _ in records:
                items += 1
                if slow and items % 100 == 0:
                    await anyio.sleep(0.002)
                if pending and items == pending[0]:
                    pending.pop(0)
                    assert process is not None
                    rss.append(process.memory_info().rss / 2**20)
        if records.failures:
            raise RuntimeError(f"{len(records.failures)} targets failed: {records.failures[:3]}")
        stats = dfs.stats
        EXTRA.update(
            retries={str(k): v for k, v in stats.retries.items()},
            elapsed=stats.elapsed,
            rss_mb=rss,
        )
        return items, stats.requests


# What each kind imports lazily, imported before the clocks start: a one-off cost of the
# interpreter, not of the work measured (for `ours` it was 0.2 s more than the floor's).
IMPORTS: dict[str, tuple[str, ...]] = {
    "naive": ("httpx",),
    "official": (
        "dataforseo_client.api.backlinks_api",
        "dataforseo_client.models.backlinks_domain_pages_summary_live_request_info",
    ),
    "floor": ("aiohttp", "aiolimiter"),
    "floor-trio": ("httpcore", "trio"),
    "raw-httpx2": ("httpx2",),
    "ours": (
        "anyio",
        "psutil",
        "dfs_async",
        "aiohttp",
        "dfs_async.transport.aiohttp",
        "aiolimiter",
    ),
}
# `ours` on httpcore or httpx (under trio, or over a given httpx client) imports these besides.
OURS_HTTPX_IMPORTS = ("dfs_async.transport.httpcore", "dfs_async.transport.httpx", "httpx_aiohttp")
RAW_IMPORTS = ("httpx", "httpx_aiohttp")  # the other `raw-*` kinds


def prepare_cache(spec: str, empty: bool) -> None:
    """Before the clocks start: what a client with the cache `spec` imports (the store's
    client too), what its keys are made with (read once per process), and with `empty`, the
    cache emptied."""
    from dfs_async.cache import keys, open_store

    importlib.import_module("dfs_async.engine.recall")
    if spec.startswith("redis://"):
        importlib.import_module("dfs_async.cache.redis_store")
    keys.layout()

    async def clear() -> None:
        store = await open_store(spec)
        try:
            await store.clear()
        finally:
            await store.close()

    if empty:
        asyncio.run(clear())


def measure(args: argparse.Namespace) -> dict[str, Any]:
    common = (args.url, args.targets, args.limit, args.concurrency)
    names = [*IMPORTS.get(args.kind, RAW_IMPORTS), args.backend]
    if args.kind == "ours" and (args.http != "default" or args.backend == "trio"):
        names += OURS_HTTPX_IMPORTS
    if args.kind == "ours" and args.shared_limits:
        names.append("dfs_async.shared_limits")
    if args.kind == "ours":  # anyio imports its backend's module at its first call
        names.append(f"anyio._backends._{args.backend}")
    for name in names:
        importlib.import_module(name)
    if args.cache:
        prepare_cache(args.cache, args.cache_empty)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if args.kind == "official":
        items, requests = official(*common)
    else:
        coro: Coroutine[Any, Any, tuple[int, int]]
        if args.kind == "naive":
            coro = naive(*common)
        elif args.kind == "floor":
            coro = floor(*common, rate=args.rate)
        elif args.kind == "floor-trio":
            coro = floor_trio(*common)
        elif args.kind == "ours":
            marks = tuple(int(m) for m in args.rss_at.split(",")) if args.rss_at else ()
            rate = "account" if args.account_rate else args.rate or 10_000_000
            coro = ours(
                *common, stack=args.http, rate=rate, slow=args.slow_consumer, marks=marks,
                cache=args.cache, shared_limits=args.shared_limits, start=args.start,
            )  # fmt: skip
        else:
            coro = raw(args.kind.removeprefix("raw-"), *common)
        if args.backend == "trio" or args.kind == "floor-trio":
            import anyio

            async def main() -> tuple[int, int]:
                return await coro

            items, requests = anyio.run(main, backend="trio")
        else:
            items, requests = asyncio.run(coro)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "kind": args.kind,
        "items": items,
        "requests": requests,
        "cpu": cpu,
        "wall": wall,
        "maxrss_mb": maxrss,
        **EXTRA,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Run one measured client (see the docstring).")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--url", required=True)
    parser.add_argument("--targets", type=int, required=True)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--http", choices=OURS_STACKS, default="default", help="for `ours`")
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    parser.add_argument(
        "--rate", type=float, default=None, help="`ours` and `floor`: requests/min (paced)"
    )
    parser.add_argument(
        "--account-rate", action="store_true", help="`ours`: the account's rate (user_data)"
    )
    parser.add_argument("--shared-limits", metavar="URL", help="`ours`: shared_limits=")
    parser.add_argument("--start", type=int, default=0, help="`ours`: the first target's number")
    parser.add_argument("--slow-consumer", action="store_true", help="`ours`: ~50k items/s")
    parser.add_argument("--rss-at", default="", help="`ours`: item counts, comma-separated")
    parser.add_argument("--cache", default=None, help="`ours`: its response cache's file")
    parser.add_argument("--cache-empty", action="store_true", help="`ours`: remove it first")
    parser.add_argument("--expect-items", type=int, default=None)
    args = parser.parse_args()
    result = measure(args)
    if args.expect_items is not None and result["items"] != args.expect_items:
        sys.exit(f"{args.kind}: got {result['items']} items, expected {args.expect_items}")
    emit(result)


if __name__ == "__main__":
    main()
