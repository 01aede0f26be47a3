"""Small answers: 50 items a page, one page per target, where the cost per request shows.

Each target has 50 items and is asked for in pages of 50: one request, one small answer (about
36 KB). With so few items per request, the client's work per request (building the task,
pacing, the HTTP exchange, the envelope, handing the page over) weighs more than its work per
item, so the figure is CPU per *request*. The floor (aiohttp posting the same requests and
decoding with untyped msgspec, nothing else) and ours run alone in fresh processes against the
canned server (no latency), at concurrency 30, interleaved; the best of each counts. Issue
14's goal: ours at most 1.5x the floor's CPU per request. Ours under trio: its figure, also
against the floor under trio (httpcore's bare connections, `floor-trio`: aiohttp runs only
on asyncio), which shows what trio and its HTTP stack cost before any work of ours.
"""

from __future__ import annotations

from benchmarks.harness import (
    Goal,
    Metric,
    Row,
    Section,
    Size,
    Variant,
    before_variant,
    best_on_canned_server,
    engine_missing,
)

PER_TARGET = 50
CONCURRENCY = 30
GOAL = 1.5  # ours / the floor, CPU per request (issue 14)
FLOOR = "floor: aiohttp + msgspec untyped"
OURS = "ours: DataForSEO.stream"
OURS_TRIO = "ours under trio"
FLOOR_TRIO = "floor under trio: httpcore + msgspec untyped"
VARIANTS = {
    FLOOR: Variant(("floor",)),
    OURS: Variant(("ours",)),
    OURS_TRIO: Variant(("ours", "--backend", "trio")),
    FLOOR_TRIO: Variant(("floor-trio",)),
}
GOAL_TEXT = f"client CPU per request ≤ {GOAL}x the floor's ({PER_TARGET} items a page)"


def run(size: Size) -> Section:
    targets = size.pick(20, 500, 1500)
    repeats = size.pick(1, 1, 3)
    missing = engine_missing()
    section = Section(
        key="small",
        title="Small answers",
        what=(
            f"{targets:,} targets x {PER_TARGET} items, pages of {PER_TARGET} ({targets:,} "
            f"requests, one per target) from the canned server; concurrency {CONCURRENCY}; "
            f"best of {repeats}."
        ),
        baseline=FLOOR,
        metrics=[
            Metric("cpu_per_request", "client CPU per request", "ms", False),
            Metric("rps", "requests per second", "req/s", True),
            Metric("cpu_per_1k", "client CPU per 1,000 items", "ms", False),
        ],
    )
    variants = {n: v for n, v in VARIANTS.items() if v.args[0] != "ours" or not missing}
    before = None if missing else before_variant()
    if before is not None:
        variants[before[0]] = before[1]
    bests = best_on_canned_server(
        variants,
        targets=targets,
        per_target=PER_TARGET,
        limit=PER_TARGET,
        concurrency=CONCURRENCY,
        repeats=repeats,
    )
    for name, best in bests.items():
        section.rows.append(
            Row(
                name,
                {
                    "cpu_per_request": best["cpu"] / best["requests"] * 1000,
                    "rps": best["requests"] / best["wall"],
                    "cpu_per_1k": best["cpu"] / best["items"] * 1e6,
                },
            )
        )
    if missing:
        section.goals = [Goal(GOAL_TEXT, "-", None, missing)]
        return section
    ratio = section.ratio(OURS, "cpu_per_request") or float("inf")
    ours = section.row(OURS)
    assert ours is not None
    section.goals = [
        Goal(
            GOAL_TEXT,
            f"{ratio:.2f}x ({ours.values['cpu_per_request']:.3f} ms)",
            ratio <= GOAL,
            "" if ratio <= GOAL else "our per-request Python work (see the profile section)",
        )
    ]
    trio, trio_floor = section.row(OURS_TRIO), section.row(FLOOR_TRIO)
    if trio is not None and trio_floor is not None:
        cost = trio.values["cpu_per_request"]
        section.notes.append(
            f"Ours under trio, figure only: {section.ratio(OURS_TRIO, 'cpu_per_request'):.2f}x"
            f" the floor per request, {cost / trio_floor.values['cpu_per_request']:.2f}x the"
            " floor under trio."
        )
    return section
