"""The soak: many targets through every fault kind of the emulator at once, checked exactly.

Shared by the short variant in the test suite (tests/reliability/test_soak.py) and the long
one (`scripts/soak`, which runs this module). Nothing is sampled: every item of every target
is compared with the emulator's corpus, through an order-independent digest per target (its
item count and the sum of 64-bit hashes of its items' JSON), so memory stays bounded however
many targets run; duplicates are caught while a target is active (a set of its items'
hashes, freed at its TargetDone).

    python tests/reliability/soak.py --targets 5000     # what scripts/soak runs
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import msgspec

from dfs_async import DataForSEO, Failure, Record, RetryPolicy, TargetDone, normalize_target
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig, running_emulator


def realistic_faults(seed: int, *, latency_max: float, trickle: float) -> FaultConfig:
    """Every fault kind at once, at rates a bad day of a real API could show (5% in all)."""
    return FaultConfig(
        seed=seed,
        latency_min=0.0,
        latency_max=latency_max,
        http_500=0.01,
        envelope_50000=0.01,
        task_40103=0.01,
        task_50401=0.005,
        drop_connection=0.005,
        truncated_body=0.005,
        slow_trickle=0.005,
        slow_trickle_seconds=trickle,
    )


# Targets a person could write that are not targets: each must fail alone, with no request.
INVALID = (
    "not a domain",
    "ftp://files.example.com/x",
    "http://127.0.0.1/",
    "-bad-.com",
    "bad..example.com",
    "example.com/blog",
    "https://user:pw@example.com/",
    "example.com:8080",
    "localhost",
    "",
)
# Valid targets written the ways people write them (normalised by the client).
SPELLINGS = (
    "https://www.Spelled{i}.example.COM/",
    "WWW.spelled{i}.example.org",
    "bücher{i}.example.de",
    "https://spelled{i}.example.net/products/item?id=7",
)


def soak_targets(n: int) -> tuple[list[str], list[str]]:
    """`n` valid targets (some written oddly) with an invalid one every 50: (all, invalid)."""
    targets: list[str] = []
    invalid: list[str] = []
    for i in range(n):
        if i % 10 == 5:
            targets.append(SPELLINGS[(i // 10) % len(SPELLINGS)].format(i=i))
        else:
            targets.append(f"soak{i}.example.com")
        if i % 50 == 25:
            bad = INVALID[(i // 50) % len(INVALID)]
            targets.append(bad)
            invalid.append(bad)
    return targets, invalid


def item_hash(item: Any) -> int:
    return int.from_bytes(hashlib.blake2b(msgspec.json.encode(item), digest_size=8).digest())


@dataclass
class Tally:
    """What a target delivered: items, a multiset digest, and its TargetDone if any."""

    items: int = 0
    digest: int = 0
    seen: set[int] | None = field(default_factory=set)  # while active
    done: TargetDone | None = None

    def add(self, item: Any) -> bool:
        """Count an item; False if it was delivered before (a duplicate)."""
        h = item_hash(item)
        self.items += 1
        self.digest = (self.digest + h) % 2**64
        if self.seen is None or h in self.seen:
            return False
        self.seen.add(h)
        return True


@dataclass
class SoakResult:
    targets: int
    invalid: list[str]
    tallies: dict[str, Tally]
    failures: list[Failure]
    problems: list[str]  # found while streaming (duplicates, records after TargetDone)
    stats: dict[str, Any]
    counters: dict[str, Any]
    elapsed: float
    peak_rss_mb: float
    warnings: list[str]
    transport: Any  # the client's Transport (closed by now)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


async def soak(
    emu: EmulatorHandle, targets: Sequence[str], invalid: Sequence[str], **options: Any
) -> SoakResult:
    """Stream every target through a client of `emu`; `options` go to DataForSEO
    (`limit` to the stream)."""
    limit = options.pop("limit", 1000)
    tallies: dict[str, Tally] = {}
    problems: list[str] = []
    collect = _Collect()
    logging.getLogger().addHandler(collect)
    started = time.monotonic()
    try:
        async with DataForSEO(emu.login, emu.password, base_url=emu.base_url, **options) as dfs:
            transport = dfs.engine.transport
            call = dfs.backlinks.domain_pages_summary
            async with call.stream(iter(targets), limit=limit) as records:
                async for event in records.events():
                    if type(event) is Record:
                        tally = tallies.setdefault(event.target, Tally())
                        if tally.done is not None:
                            problems.append(f"{event.target}: a record after its TargetDone")
                        if not tally.add(event.item):
                            problems.append(f"{event.target}: an item delivered twice")
                    elif type(event) is TargetDone:
                        tally = tallies.setdefault(event.target, Tally())
                        if tally.done is not None:
                            problems.append(f"{event.target}: two TargetDone")
                        tally.done, tally.seen = event, None
            stats = dfs.stats
    finally:
        logging.getLogger().removeHandler(collect)
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counters = emu.app.counters
    return SoakResult(
        targets=len(targets),
        invalid=list(invalid),
        tallies=tallies,
        failures=list(records.failures),
        problems=problems,
        stats={
            "requests": stats.requests,
            "retries": dict(stats.retries),
            "pages": stats.pages,
            "items": stats.items,
            "cost": stats.cost,
            "targets_done": stats.targets_done,
            "targets_failed": stats.targets_failed,
        },
        counters={
            "requests": counters.requests,
            "by_status": dict(counters.by_status),
            "faults": dict(counters.faults),
            "cost": counters.cost,
            "items": counters.items,
            "max_simultaneous": counters.max_simultaneous,
        },
        elapsed=elapsed,
        peak_rss_mb=peak,
        warnings=collect.lines,
        transport=transport,
    )


def check(result: SoakResult, emu: EmulatorHandle, targets: Sequence[str]) -> list[str]:
    """Every broken promise of the soak, as a line each (none: it held)."""
    problems = list(result.problems)
    corpus = emu.app.corpus
    invalid = set(result.invalid)
    for raw in targets:
        if raw in invalid:
            continue
        target = normalize_target(raw)
        _, items = corpus.query({"target": target})
        tally = result.tallies.pop(target, Tally())
        expected = sum(item_hash(item) for item in items) % 2**64
        if tally.done is None:
            problems.append(f"{target}: no TargetDone")
        elif tally.done.items != len(items):
            problems.append(f"{target}: TargetDone says {tally.done.items}, not {len(items)}")
        if (tally.items, tally.digest) != (len(items), expected):
            problems.append(f"{target}: {tally.items} items delivered, {len(items)} expected")
    problems += [f"{t}: records for a target never asked for" for t in result.tallies]
    failed = sorted(f.target for f in result.failures)
    if failed != sorted(result.invalid):
        problems.append(f"failed targets {failed} are not the invalid ones {result.invalid}")
    for f in result.failures:
        if f.status_code != 40501 or f.attempts != 0:
            problems.append(f"{f.target}: failed with {f.status_code} after {f.attempts} tries")
    s, c = result.stats, result.counters
    # A request can be lost before the server counts it (e.g. sent on a kept-alive connection
    # the server closes at that moment): the client counts it and retries it as "no answer"
    # (code 0), at no charge. So the client may count more requests than the server, by at
    # most its code-0 retries, never fewer; cost and items must still agree exactly.
    unseen = s["requests"] - c["requests"]
    if not 0 <= unseen <= s["retries"].get(0, 0):
        problems.append(f"client counted {s['requests']} requests, emulator {c['requests']}")
    if abs(s["cost"] - c["cost"]) > 1e-6:
        problems.append(f"client counted ${s['cost']:.6f}, emulator charged ${c['cost']:.6f}")
    if s["items"] != c["items"]:
        problems.append(f"client delivered {s['items']} items, emulator charged {c['items']}")
    retried = sum(s["retries"].values())
    if retried != c["requests"] - c["by_status"].get(20000, 0) + unseen:
        problems.append(f"{retried} retries for {c['requests']} requests")
    problems += [f"logged: {line}" for line in result.warnings]
    return problems


def report(result: SoakResult, config: EmulatorConfig, command: str) -> str:
    """The soak's figures as Markdown (what RELIABILITY.md quotes)."""
    s, c = result.stats, result.counters
    retries = ", ".join(f"{code}: {n}" for code, n in sorted(s["retries"].items()))
    faults = ", ".join(f"{kind}: {n}" for kind, n in sorted(c["faults"].items()))
    f = config.faults
    rates = ", ".join(f"{k} {v:g}" for k, v in f.rates.items())
    rows = [
        ("command", f"`{command}`"),
        ("targets", f"{result.targets:,} ({len(result.invalid)} invalid)"),
        ("targets done / failed", f"{s['targets_done']:,} / {s['targets_failed']:,}"),
        ("items delivered (= corpus)", f"{s['items']:,}"),
        ("requests client / emulator", f"{s['requests']:,} / {c['requests']:,}"),
        ("pages", f"{s['pages']:,}"),
        ("retries by code (0: no answer)", retries or "none"),
        ("faults injected", faults or "none"),
        ("fault rates", f"{rates}; latency {f.latency_min:g}-{f.latency_max:g} s"),
        ("cost client / emulator", f"${s['cost']:.5f} / ${c['cost']:.5f}"),
        ("most simultaneous requests seen", f"{c['max_simultaneous']}"),
        ("elapsed", f"{result.elapsed:.1f} s"),
        ("peak RSS (client and emulator, one process)", f"{result.peak_rss_mb:.0f} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'figure':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {k:<{width}} | {v} |" for k, v in rows]
    return "\n".join(lines)


async def _main(args: argparse.Namespace) -> int:
    targets, invalid = soak_targets(args.targets)
    config = EmulatorConfig(
        seed=args.seed,
        max_pages=args.max_pages,
        rate_limit=args.rate,
        max_simultaneous=30,
        faults=realistic_faults(args.seed, latency_max=args.latency, trickle=1.0),
    )
    async with running_emulator(config) as emu:
        result = await soak(
            emu,
            targets,
            invalid,
            limit=args.limit,
            rate=args.rate,
            concurrency=30,
            retry_policy=RetryPolicy(max_attempts=5, base=0.2, cap=5.0),
        )
        problems = check(result, emu, targets)
    command = "scripts/soak " + " ".join(sys.argv[1:])
    print(report(result, config, command.strip()))
    for line in problems[:50]:
        print(f"PROBLEM: {line}", file=sys.stderr)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    p = argparse.ArgumentParser(description="Soak the client under every emulator fault.")
    p.add_argument("--targets", type=int, default=5000)
    p.add_argument("--max-pages", type=int, default=3000, help="largest target, in items")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--rate", type=int, default=10_000, help="requests per minute (both sides)")
    p.add_argument("--latency", type=float, default=0.3, help="most added latency, seconds")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    args = p.parse_args()
    return anyio.run(_main, args, backend=args.backend)


if __name__ == "__main__":
    sys.exit(main())
