"""Client overhead: the same targets streamed by each client against the canned server.

The canned server answers from precomputed bytes in its own process, so what differs between
rows is the client's own work. Every client runs alone in a fresh process, at the same
concurrency (30, the API's cap), and is measured by its CPU seconds per 1,000 items and its
items per second. Two cases, both in pages of 1,000 items:

- **targets of many pages** (2,500 items: three requests each, one after another): every
  client, from the naive loop to the official one;
- **one-page targets** (1,000 items: one request each): the floor and ours only, the case
  where a client's work per target and per request shows most.

Rows are repeated, interleaved (each round in the opposite order to the one before), and the
best figure of each counts. Issue 14's goal: ours at most the floor's CPU per 1,000 items in
both cases; under trio (where aiohttp cannot run) its figure is reported, not judged.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import (
    Goal,
    Metric,
    Row,
    Section,
    Size,
    Variant,
    before_variant,
    best_of,
    canned_server,
    engine_missing,
    fmt,
    interleaved,
)

FLOOR = "floor: aiohttp + msgspec untyped"
NAIVE = "naive: httpx as is + json.loads"
OFFICIAL = "official dataforseo-client, 30 threads"
OURS = "ours: DataForSEO.stream"
OURS_AIOHTTP = "ours over the httpx-aiohttp transport"
OURS_TRIO = "ours under trio"
KINDS = {
    FLOOR: Variant(("floor",)),
    NAIVE: Variant(("naive",)),
    OFFICIAL: Variant(("official",)),
    OURS: Variant(("ours",)),
    OURS_AIOHTTP: Variant(("ours", "--http", "httpx-aiohttp")),
    OURS_TRIO: Variant(("ours", "--backend", "trio")),
}
ONE_PAGE = (FLOOR, OURS, OURS_TRIO)  # the one-page case's rows (and the --baseline one)
CONCURRENCY = 30
LIMIT = 1000
FLOOR_GOAL = 1.0  # ours / the floor, CPU per 1,000 items (issue 14)
REGRESSION = 1.05  # ours / ours at --baseline REV: the noise of a run


def run(size: Size) -> Section:
    targets = size.pick(3, 40, 300)
    per_target = size.pick(250, 2500, 2500)
    limit = size.pick(100, LIMIT, LIMIT)
    repeats = size.pick(1, 1, 2)
    one_targets = size.pick(5, 100, 500)
    one_repeats = size.pick(1, 1, 3)
    missing = engine_missing()
    section = Section(
        key="overhead",
        title="Client overhead",
        what=(
            f"Targets of many pages: {targets} targets x {per_target:,} items, pages of {limit} "
            f"({targets * per_target:,} items, {targets * -(-per_target // limit):,} requests); "
            f"best of {repeats}. One-page targets: {one_targets} targets x {limit:,} items, "
            f"pages of {limit} ({one_targets * limit:,} items, one request each); best of "
            f"{one_repeats}. From the canned server; concurrency {CONCURRENCY}."
        ),
        baseline=FLOOR,
        metrics=[
            Metric("cpu_per_1k", "CPU per 1,000 items, many-page targets", "ms", False),
            Metric("cpu_per_1k_one", "CPU per 1,000 items, one-page targets", "ms", False),
            Metric("items_s", "items per second, many-page", "items/s", True),
            Metric("wall", "wall, many-page", "s", False),
            Metric("maxrss_mb", "peak RSS, many-page", "MB", False),
        ],
    )
    kinds = {name: v for name, v in KINDS.items() if v.args[0] != "ours" or not missing}
    before = None if missing else before_variant()
    if before is not None:  # the same client, an earlier version: a regression?
        kinds[before[0]] = before[1]
    common = ["--limit", str(limit), "--concurrency", str(CONCURRENCY)]
    with canned_server(per_target) as server:
        many = ["--targets", str(targets), "--expect-items", str(targets * per_target)]
        runs = interleaved(server.url, kinds, [*common, *many], repeats)
        served = server.stop()
    one_page = {*ONE_PAGE, *(before[:1] if before else ())}
    one_kinds = {name: v for name, v in kinds.items() if name in one_page}
    with canned_server(limit) as server:
        one = ["--targets", str(one_targets), "--expect-items", str(one_targets * limit)]
        one_runs = interleaved(server.url, one_kinds, [*common, *one], one_repeats)
        one_served = server.stop()
    for name in kinds:
        row = row_from(name, best_of(runs[name]))
        if name in one_runs:
            best = best_of(one_runs[name])
            row.values["cpu_per_1k_one"] = best["cpu"] / best["items"] * 1e6
        section.rows.append(row)
    server_cpu = served.get("cpu", 0.0) + one_served.get("cpu", 0.0)
    total_wall = sum(r["wall"] for rs in (*runs.values(), *one_runs.values()) for r in rs)
    if server_cpu and total_wall:
        section.notes.append(
            f"The canned server spent {server_cpu:.1f} CPU s over {total_wall:.1f} s of "
            "client runs: it never held a client back."
        )
    trio = section.row(OURS_TRIO)
    if trio is not None:
        section.notes.append(
            "Ours under trio (httpcore, a connection per slot; aiohttp cannot run there), figure "
            "only: "
            + ", ".join(
                f"{fmt(trio.values[key])} ms per 1,000 items ({section.ratio(OURS_TRIO, key):.2f}x"
                f" the floor) with {what} targets"
                for key, what in (("cpu_per_1k", "many-page"), ("cpu_per_1k_one", "one-page"))
                if key in trio.values
            )
            + "."
        )
    section.goals = goals(section, missing)
    return section


def row_from(name: str, result: dict[str, Any]) -> Row:
    items = result["items"]
    return Row(
        name,
        {
            "cpu_per_1k": result["cpu"] / items * 1e6,  # ms per 1,000 items
            "items_s": items / result["wall"],
            "wall": result["wall"],
            "maxrss_mb": result["maxrss_mb"],
        },
    )


CPU_GOALS = (
    ("cpu_per_1k", f"targets of many pages (pages of {LIMIT:,})"),
    ("cpu_per_1k_one", f"one-page targets ({LIMIT:,} items)"),
)


def goals(section: Section, missing: str) -> list[Goal]:
    cpu_texts = [
        f"{what}: client CPU per 1,000 items ≤ {FLOOR_GOAL:.1f}x the floor's"
        for _, what in CPU_GOALS
    ]
    if missing:
        return [
            Goal(text, "-", None, missing)
            for text in (
                *cpu_texts,
                "wall time ≥ 3x better than the official client",
                "wall time ≥ 2x better than the naive loop",
            )
        ]
    ours, official, naive = (section.row(n) for n in (OURS, OFFICIAL, NAIVE))
    assert ours and official and naive
    vs_official = official.values["wall"] / ours.values["wall"]
    vs_naive = naive.values["wall"] / ours.values["wall"]
    regression = []
    before = next((row for row in section.rows if row.name.endswith("(before)")), None)
    if before is not None:  # the same client, earlier: no regression (5%: the noise of a run)
        now_vs_before = ours.values["cpu_per_1k"] / before.values["cpu_per_1k"]
        regression.append(
            Goal(
                f"targets of many pages: client CPU per 1,000 items ≤ {REGRESSION}x "
                f"{before.name}'s",
                f"{now_vs_before:.2f}x",
                now_vs_before <= REGRESSION,
                "" if now_vs_before <= REGRESSION else "this change's own work per item or page",
            )
        )
    cpu_goals = []
    for (key, _), text in zip(CPU_GOALS, cpu_texts, strict=True):
        cpu = section.ratio(OURS, key) or float("inf")
        cpu_goals.append(
            Goal(
                text,
                f"{cpu:.2f}x ({fmt(ours.values.get(key, float('nan')))} ms)",
                cpu <= FLOOR_GOAL,
                ""
                if cpu <= FLOOR_GOAL
                else "our per-item/per-request Python work (see the profile section)",
            )
        )
    return [
        *regression,
        *cpu_goals,
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
