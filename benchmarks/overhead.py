"""Client overhead: the same targets streamed by each client against the canned server.

The canned server answers from precomputed bytes in its own process, so what differs between
rows is the client's own work. Every client runs alone in a fresh process, at the same
concurrency (30, the API's cap), and is measured by its CPU seconds per 1,000 items and its
items per second. Rows are repeated, interleaved, and the best figure of each counts.
"""

from __future__ import annotations

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
    canned_server,
    engine_missing,
    run_json,
)

FLOOR = "floor: aiohttp + msgspec untyped"
NAIVE = "naive: httpx as is + json.loads"
OFFICIAL = "official dataforseo-client, 30 threads"
OURS = "ours: DataForSEO.stream"
OURS_AIOHTTP = "ours over the httpx-aiohttp transport"
KINDS = {
    FLOOR: ["floor"],
    NAIVE: ["naive"],
    OFFICIAL: ["official"],
    OURS: ["ours"],
    OURS_AIOHTTP: ["ours", "--http", "httpx-aiohttp"],
}
CONCURRENCY = 30


def row_from(name: str, result: dict[str, Any]) -> Row:
    items = result["items"]
    return Row(
        name,
        {
            "cpu_per_1k": result["cpu"] / items * 1e6,  # ms per 1,000 items
            "items_s": items / result["wall"],
            "wall": result["wall"],
            "requests": result["requests"],
            "maxrss_mb": result["maxrss_mb"],
        },
    )


def run(size: Size) -> Section:
    targets = size.pick(3, 40, 300)
    per_target = size.pick(250, 2500, 2500)
    limit = size.pick(100, 1000, 1000)
    repeats = size.pick(1, 1, 2)
    missing = engine_missing()
    section = Section(
        key="overhead",
        title="Client overhead",
        what=(
            f"{targets} targets x {per_target:,} items, pages of {limit} "
            f"({targets * per_target:,} items, {targets * -(-per_target // limit):,} requests) "
            f"from the canned server; concurrency {CONCURRENCY}; best of {repeats}."
        ),
        baseline=FLOOR,
        metrics=[
            Metric("cpu_per_1k", "client CPU per 1,000 items", "ms", False),
            Metric("items_s", "items per second", "items/s", True),
            Metric("wall", "wall", "s", False),
            Metric("maxrss_mb", "peak RSS", "MB", False),
        ],
    )
    kinds = {name: kind for name, kind in KINDS.items() if kind[0] != "ours" or not missing}
    where = {name: ROOT for name in kinds}
    before = baseline_checkout()
    if before is not None and not missing:  # the same client, an earlier version: a regression?
        rev, checkout = before
        name = f"ours at {rev} (before)"
        kinds[name], where[name] = ["ours"], checkout
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in kinds}
    expected = targets * per_target
    with canned_server(per_target) as server:
        for _ in range(repeats):
            for name, kind in kinds.items():
                args = [*kind, "--url", server.url, "--targets", str(targets)]
                args += ["--limit", str(limit), "--concurrency", str(CONCURRENCY)]
                args += ["--expect-items", str(expected)]
                runs[name].append(run_json("benchmarks.clients", args, cwd=where[name]))
        served = server.stop()
    for name in kinds:
        section.rows.append(row_from(name, best_of(runs[name])))
    total_wall = sum(r["wall"] for rs in runs.values() for r in rs)
    if served.get("cpu") and total_wall:
        section.notes.append(
            f"The canned server spent {served['cpu']:.1f} CPU s over {total_wall:.1f} s of "
            "client runs: it never held a client back."
        )
    section.goals = goals(section, missing)
    return section


def goals(section: Section, missing: str) -> list[Goal]:
    if missing:
        return [
            Goal(text, "-", None, missing)
            for text in (
                "client CPU per 1,000 items ≤ 1.5x the floor's",
                "wall time ≥ 3x better than the official client",
                "wall time ≥ 2x better than the naive loop",
            )
        ]
    cpu = section.ratio(OURS, "cpu_per_1k") or float("inf")
    ours, official, naive = (section.row(n) for n in (OURS, OFFICIAL, NAIVE))
    assert ours and official and naive
    vs_official = official.values["wall"] / ours.values["wall"]
    vs_naive = naive.values["wall"] / ours.values["wall"]
    cpu_limit = (
        ""
        if cpu <= 1.5
        else "our per-item/per-request Python work (see the profile notes in RESULTS.md)"
    )
    regression = []
    before = next((row for row in section.rows if row.name.endswith("(before)")), None)
    if before is not None:  # the same client, earlier: no regression (5%: the noise of a run)
        now_vs_before = ours.values["cpu_per_1k"] / before.values["cpu_per_1k"]
        regression.append(
            Goal(
                f"client CPU per 1,000 items ≤ 1.05x {before.name}'s",
                f"{now_vs_before:.2f}x",
                now_vs_before <= 1.05,
                "" if now_vs_before <= 1.05 else "this change's own work per item or page",
            )
        )
    return [
        *regression,
        Goal("client CPU per 1,000 items ≤ 1.5x the floor's", f"{cpu:.2f}x", cpu <= 1.5, cpu_limit),
        Goal(
            "wall time ≥ 3x better than the official client",
            f"{vs_official:.1f}x better",
            vs_official >= 3,
            "" if vs_official >= 3 else "client CPU (the canned server answers at once)",
        ),
        Goal(
            "wall time ≥ 2x better than the naive loop",
            f"{vs_naive:.1f}x better",
            vs_naive >= 2,
            "" if vs_naive >= 2 else "client CPU: with a zero-latency server wall time is CPU",
        ),
    ]
