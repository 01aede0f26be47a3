"""One measured client of the family benchmark, in its own process (see family.py).

`python -m benchmarks.family_client KIND --url URL --n N [--backend trio]`, KIND one of
`bulk-floor`, `bulk-ours` (N targets through `bulk_ranks`, 1,000 a request) and `cursor-floor`,
`cursor-ours` (every backlink of one big target: offset pages to 20,000 at once, then the
`search_after_token` chain). The floor is aiohttp posting the same requests and decoding with
msgspec, nothing else. Prints one JSON line: records, requests, CPU and wall seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import importlib
import time
from typing import Any

import msgspec

from benchmarks.emulator_process import LOGIN, PASSWORD
from benchmarks.harness import emit

BULK = "/v3/backlinks/bulk_ranks/live"
BACKLINKS = "/v3/backlinks/backlinks/live"
TARGET = "bigsite.com"


def targets(n: int) -> list[str]:
    return [f"bulk{i}.example.com" for i in range(n)]


async def floor(kind: str, url: str, n: int) -> tuple[int, int]:
    import aiohttp

    token = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": f"Basic {token}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=30)) as session:

        async def post(path: str, task: dict[str, Any]) -> Any:
            body = msgspec.json.encode([task])
            async with session.post(url + path, data=body, headers=headers) as response:
                return msgspec.json.decode(await response.read())["tasks"][0]["result"][0]

        if kind == "bulk":
            names = targets(n)
            packs = [names[i : i + 1000] for i in range(0, n, 1000)]
            results = await asyncio.gather(*(post(BULK, {"targets": p}) for p in packs))
            return sum(len(r["items"]) for r in results), len(packs)
        first = await post(BACKLINKS, {"target": TARGET, "limit": 1000})
        total = first["total_count"]
        offsets = range(1000, min(total, 20_001), 1000)
        pages = [first, *await asyncio.gather(*(
            post(BACKLINKS, {"target": TARGET, "limit": 1000, "offset": o}) for o in offsets
        ))]  # fmt: skip
        records = sum(len(p["items"]) for p in pages)
        last, token = offsets[-1], pages[-1]["search_after_token"]
        requests = len(pages)
        while token and records < total:
            task = {"target": TARGET, "limit": 1000, "offset": last, "search_after_token": token}
            page = await post(BACKLINKS, task)
            records += len(page["items"])
            token = page.get("search_after_token")
            requests += 1
        return records, requests


async def ours(kind: str, url: str, n: int, cache: str | None = None) -> tuple[int, int]:
    from dfs_async import DataForSEO

    async with DataForSEO(LOGIN, PASSWORD, base_url=url, rate=None, cache=cache or False) as dfs:
        call = dfs.backlinks.bulk_ranks if kind == "bulk" else dfs.backlinks.backlinks
        records = 0
        async with call.stream(targets(n) if kind == "bulk" else [TARGET]) as stream:
            async for _ in stream:
                records += 1
        assert not stream.failures, stream.failures[:3]
        return records, dfs.stats.requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("bulk-floor", "bulk-ours", "cursor-floor", "cursor-ours"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    parser.add_argument("--cache", default=None, help="ours: its response cache")
    parser.add_argument("--cache-empty", action="store_true", help="ours: emptied first")
    args = parser.parse_args()
    what, who = args.kind.split("-")
    # Imports are not measured (as in benchmarks.clients): anyio's backend module included,
    # which anyio imports at its first call, and the transport a client opens.
    stack = "aiohttp" if args.backend == "asyncio" else "httpcore"
    names = ("aiohttp", "anyio", "dfs_async", f"dfs_async.transport.{stack}", args.backend)
    for name in (*names, f"anyio._backends._{args.backend}"):
        importlib.import_module(name)
    cache: dict[str, Any] = {}
    if args.cache:
        from benchmarks.clients import prepare_cache

        prepare_cache(args.cache, args.cache_empty)
        cache["cache"] = args.cache
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run = functools.partial(floor if who == "floor" else ours, **cache)
    if args.backend == "trio":
        import anyio

        records, requests = anyio.run(run, what, args.url, args.n, backend="trio")
    else:
        records, requests = asyncio.run(run(what, args.url, args.n))
    emit(
        {
            "kind": args.kind,
            "records": records,
            "requests": requests,
            "cpu": time.process_time() - cpu0,
            "wall": time.perf_counter() - wall0,
        }
    )


if __name__ == "__main__":
    main()
