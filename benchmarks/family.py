"""The new kinds of the family, side by side with the floor: a bulk endpoint and a cursor chain.

- **bulk**: N targets through `bulk_ranks` (1,000 a request) from the emulator in its own
  process: client CPU per 1,000 targets, ours against the floor (aiohttp posting the same
  packed tasks and decoding with msgspec).
- **cursor**: every backlink of a target of more than 45,000 (`backlinks`: 21 offset pages at
  once, then about 30 `search_after_token` pages one after another) with the emulator
  answering each request after 20 ms: wall time per page of the chain against the floor
  walking the same chain, so what the chain adds over the server's latency shows.
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.harness import Goal, Metric, Row, Section, Size, best_of, run_json, server_process

FLOOR = "floor: aiohttp + msgspec"
OURS = "ours"
LATENCY = 0.02


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
    runs: dict[str, list[dict[str, Any]]] = {}
    for what, latency in (("bulk", 0.0), ("cursor", LATENCY)):
        with _emulator(latency) as server:
            for _ in range(repeats):
                for who in ("floor", "ours"):
                    args = [f"{what}-{who}", "--url", server.url, "--n", str(n)]
                    runs.setdefault(f"{what}-{who}", []).append(
                        run_json("benchmarks.family_client", args)
                    )
            server.stop()
    for key, results in runs.items():
        best = best_of(results)
        what, who = key.split("-")
        section.rows.append(
            Row(
                f"{what} {FLOOR if who == 'floor' else OURS}",
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
    return [
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
