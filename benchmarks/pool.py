"""HTTP stacks: the cost per request of each way of sending, at the API's cap and beyond.

httpx's connection pool scans its connections and its waiting requests on every request
(encode/httpx#3215, encode/httpcore#822), so its cost per request grows with concurrency and
with the queue. Each stack runs the same loop (our msgspec decode, pages of 100 items, one
request per target) against the canned server with a fixed 20 ms answer delay, which keeps
`concurrency` requests in flight: once at 30 (the API's cap) and once at 300 (to show the
growth). With our client present, it also runs over each stack via `http_client=`, and under
trio (where aiohttp cannot run: its default there is httpcore's connections, one per slot,
without httpcore's pool, which scans; see `dfs_async/transport/httpcore.py`).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from benchmarks.harness import (
    Metric,
    Row,
    Section,
    Size,
    best_of,
    canned_server,
    engine_missing,
    run_json,
)

LATENCY_MS = 20.0
PER_TARGET = 100
BASELINE = "httpx as is (100 connections, 20 kept alive) + gate"
RAW = {
    BASELINE: "raw-httpx",
    "httpx, pool sized, no gate (requests wait in the pool)": "raw-httpx-nogate",
    "httpx tuned: pool sized to the concurrency + gate": "raw-httpx-tuned",
    "httpx + httpx-aiohttp transport, pool sized + gate": "raw-httpx-aiohttp",
    "httpx2, pool sized + gate": "raw-httpx2",
}
OURS = {
    "ours, default stack": ["ours"],
    "ours over httpx as is": ["ours", "--http", "httpx"],
    "ours over httpx tuned": ["ours", "--http", "httpx-tuned"],
    "ours over httpx-aiohttp": ["ours", "--http", "httpx-aiohttp"],
    "ours under trio, default stack": ["ours", "--backend", "trio"],
    "ours under trio over httpx as is": ["ours", "--backend", "trio", "--http", "httpx"],
}


def run(size: Size) -> Section:
    levels = (30,) if size is Size.TINY else (30, 300)
    requests = {30: size.pick(60, 300, 1500), 300: size.pick(60, 300, 600)}
    repeats = size.pick(1, 1, 2)
    missing = engine_missing()
    section = Section(
        key="pool",
        title="HTTP stack and connection pool",
        what=(
            f"One request per target (pages of {PER_TARGET} items), answers delayed "
            f"{LATENCY_MS:.0f} ms by the canned server; "
            + " and ".join(f"{requests[c]:,} requests at concurrency {c}" for c in levels)
            + f"; best of {repeats}."
        ),
        baseline=BASELINE,
        metrics=[
            m
            for c in levels
            for m in (
                Metric(f"cpu_ms_{c}", f"CPU per request @{c}", "ms", False),
                Metric(f"rps_{c}", f"requests/s @{c}", "req/s", True),
            )
        ],
    )
    variants: dict[str, list[str]] = {name: [kind] for name, kind in RAW.items()}
    if importlib.util.find_spec("httpx2") is None:
        skipped = next(name for name, kind in RAW.items() if kind == "raw-httpx2")
        del variants[skipped]
        section.notes.append(f"{skipped}: skipped, `httpx2` is not installed (pip install httpx2).")
    if not missing:
        variants |= OURS
    results: dict[str, dict[str, float]] = {name: {} for name in variants}
    with canned_server(PER_TARGET, latency_ms=LATENCY_MS) as server:
        for c in levels:
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
            for _ in range(repeats):
                for name, kind in variants.items():
                    args = [*kind, "--url", server.url, "--targets", str(requests[c])]
                    args += ["--limit", str(PER_TARGET), "--concurrency", str(c)]
                    args += ["--expect-items", str(requests[c] * PER_TARGET)]
                    runs[name].append(run_json("benchmarks.clients", args))
            for name, rs in runs.items():
                best = best_of(rs)
                results[name][f"cpu_ms_{c}"] = best["cpu"] / best["requests"] * 1000
                results[name][f"rps_{c}"] = best["requests"] / best["wall"]
    section.rows = [Row(name, values) for name, values in results.items()]
    if missing:
        section.notes.append(f"Our client over each stack: not measured, {missing}.")
    section.notes += recommendation(section)
    return section


def recommendation(section: Section) -> list[str]:
    """The stacks the figures favour at the API's cap (concurrency 30), raw and in our client."""
    cpu = {row.name: row.values["cpu_ms_30"] for row in section.rows}
    raw = {name: cpu[name] for name in RAW if name in cpu and "no gate" not in name}
    best = min(raw, key=raw.__getitem__)
    others = ", ".join(
        f"{name}: {value / raw[best]:.2f}x"
        for name, value in sorted(raw.items(), key=lambda kv: kv[1])
        if name != best
    )
    notes = [
        f"Least CPU per request at concurrency 30: **{best}** ({raw[best]:.3f} ms); "
        f"the others, relative to it: {others}."
    ]
    for backend, names in (
        ("asyncio", [n for n in OURS if "trio" not in n]),
        ("trio", [n for n in OURS if "trio" in n]),
    ):
        ours = {n: cpu[n] for n in names if n in cpu}
        default = next((n for n in ours if "default" in n), None)
        if not ours or default is None:
            continue
        pick = min(ours, key=ours.__getitem__)
        notes.append(
            f"Our client under {backend}: least CPU per request at 30 with **{pick}** "
            f"({ours[pick]:.2f} ms), {ours[default] / ours[pick]:.1f}x less than its default "
            f"stack ({ours[default]:.2f} ms)."
        )
    return notes
