"""The new kinds of the family, side by side with the floor: a bulk endpoint and a cursor chain.

- **bulk**: N targets through `bulk_ranks` (1,000 a request) from the emulator in its own
  process: client CPU per 1,000 targets, ours against the floor (aiohttp posting the same
  packed tasks and decoding with msgspec).
- **cursor**: every backlink of a target of more than 45,000 (`backlinks`: 21 offset pages at
  once, then about 30 `search_after_token` pages one after another) with the emulator
  answering each request after 20 ms: wall time per page of the chain against the floor
  walking the same chain, so what the chain adds over the server's latency shows.

With `--baseline REV`, ours as it was at REV runs beside both (`... (before)` rows).
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.harness import (
    ROOT,
    Goal,
    Metric,
    Row,
    Section,
    Size,
    baseline_checkout,
    best_of,
    run_json,
    server_process,
)

FLOOR = "floor: aiohttp + msgspec"
OURS = "ours"
LATENCY = 0.02
REGRESSION = 1.05  # ours now against ours before: at most this (a run's noise)


def _emulator(latency: float) -> Any:
    spec = json.dumps(
        {"rate_limit": 10**7, "faults": {"latency_min": latency, "latency_max": latency}}
    )
    return server_process(["-m", "benchmarks.emulator_process", spec])


def run(size: Size) -> Section:
    n = size.pick(2000, 10_000, 10_000)
    repeats = size.pick(1, 1, 3)
    section = Section(
        key="family",
        title="The new kinds: a bulk endpoint and a cursor chain",
        what=(
            f"bulk_ranks of {n:,} targets (1,000 a request; emulator, no latency); backlinks of a"
            f" target past offset 20,000 (emulator, {LATENCY * 1000:.0f} ms a request); best of"
            f" {repeats}."
        ),
        baseline=f"bulk {FLOOR}",
        metrics=[
            Metric("cpu_per_1k", "client CPU per 1,000 records", "ms", False),
            Metric("wall_per_request", "wall per request", "ms", False),
            Metric("requests", "requests", "", False),
        ],
    )
    before = baseline_checkout()
    clients = {"floor": ("floor", ROOT), "ours": ("ours", ROOT)}
    if before is not None:
        clients[f"ours at {before[0]} (before)"] = ("ours", before[1])
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for what, latency in (("bulk", 0.0), ("cursor", LATENCY)):
        with _emulator(latency) as server:
            for _ in range(repeats):
                for who, (kind, checkout) in clients.items():
                    args = [f"{what}-{kind}", "--url", server.url, "--n", str(n)]
                    runs.setdefault((what, who), []).append(
                        run_json("benchmarks.family_client", args, cwd=checkout)
                    )
            server.stop()
    for (what, who), results in runs.items():
        best = best_of(results)
        section.rows.append(
            Row(
                f"{what} {FLOOR if who == 'floor' else who}",
                {
                    "cpu_per_1k": best["cpu"] / best["records"] * 1e6,
                    "wall_per_request": best["wall"] / best["requests"] * 1000,
                    "requests": best["requests"],
                },
            )
        )
    section.goals = goals(section, n)
    return section


def goals(section: Section, n: int) -> list[Goal]:
    values = {row.name: row.values for row in section.rows}
    bulk_floor, bulk_ours = values[f"bulk {FLOOR}"], values[f"bulk {OURS}"]
    cursor_floor, cursor_ours = values[f"cursor {FLOOR}"], values[f"cursor {OURS}"]
    bulk_cpu = bulk_ours["cpu_per_1k"] / bulk_floor["cpu_per_1k"]
    chain = cursor_ours["wall_per_request"] / cursor_floor["wall_per_request"]
    packed = -(-n // 1000)
    regressions = []
    for name, before in values.items():
        if not name.endswith("(before)"):
            continue
        what = name.split()[0]  # bulk, cursor
        ratio = values[f"{what} {OURS}"]["cpu_per_1k"] / before["cpu_per_1k"]
        regressions.append(
            Goal(
                f"{what}: client CPU per 1,000 records ≤ {REGRESSION}x"
                f" {name.removeprefix(what + ' ')}'s",
                f"{ratio:.2f}x",
                ratio <= REGRESSION,
                "" if ratio <= REGRESSION else "this change's own work per target or page",
            )
        )
    return [
        *regressions,
        Goal(
            f"bulk: at most {packed} requests for {n:,} targets",
            f"{bulk_ours['requests']:.0f}",
            bulk_ours["requests"] <= packed,
            "",
        ),
        Goal(
            "bulk: client CPU per 1,000 targets ≤ 1.5x the floor's",
            f"{bulk_cpu:.2f}x",
            bulk_cpu <= 1.5,
            "" if bulk_cpu <= 1.5 else "per-target records and events",
        ),
        Goal(
            "cursor chain: wall per request ≤ 1.1x the floor's (the chain adds nothing)",
            f"{chain:.2f}x",
            chain <= 1.1,
            "" if chain <= 1.1 else "per-page work between a chain answer and the next request",
        ),
    ]
