"""Paced runs: CPU per item when the per-minute rate, not the server, sets the pace.

Most real runs are paced by the account's per-minute rate, and pacing raises every client's
CPU per item: requests leave one at a time, each on its own wake-up, instead of in overlapping
bursts. So the paced case is measured against a floor paced the same way: 200 one-page targets
(1,000 items each) from the canned server (which answers at once) at 2,000 requests a minute,
ours with `rate=2000` and the floor (aiohttp + untyped msgspec) with aiolimiter's
`AsyncLimiter(1, 60 / 2000)`: one request every 30 ms, a steady spacing, no window log. Both
also run unpaced, to show what pacing adds to each. Fresh processes, interleaved, the best of
each counts. Issue 14's goal: ours at most the paced floor's CPU per 1,000 items.
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

RATE = 2000  # requests per minute
LIMIT = 1000  # one page of 1,000 items per target
CONCURRENCY = 30
GOAL = 1.0  # ours / the paced floor, CPU per 1,000 items (issue 14)
FLOOR = f"floor: aiohttp + msgspec untyped, paced at {RATE:,}/min"
OURS = f"ours: DataForSEO.stream, rate={RATE}"
FLOOR_UNPACED = "floor, unpaced (reference)"
OURS_UNPACED = "ours, unpaced (reference)"
VARIANTS = {
    FLOOR: Variant(("floor", "--rate", str(RATE))),
    OURS: Variant(("ours", "--rate", str(RATE))),
    FLOOR_UNPACED: Variant(("floor",)),
    OURS_UNPACED: Variant(("ours",)),
}
GOAL_TEXT = (
    f"paced at {RATE:,}/min, one-page targets: client CPU per 1,000 items ≤ {GOAL:.1f}x the "
    "floor paced the same way"
)


def run(size: Size) -> Section:
    targets = size.pick(10, 60, 200)
    repeats = size.pick(1, 1, 3)  # a 6 s paced run moves by ~5% with the machine's load
    missing = engine_missing()
    section = Section(
        key="paced",
        title="Paced runs",
        what=(
            f"{targets} targets x {LIMIT:,} items, one page each ({targets * LIMIT:,} items), "
            f"from the canned server at {RATE:,} requests a minute (~{targets * 60 / RATE:.0f} "
            f"s a run), concurrency {CONCURRENCY}; the floor paced by "
            f"`AsyncLimiter(1, 60 / {RATE})`; best of {repeats}."
        ),
        baseline=FLOOR,
        metrics=[
            Metric("cpu_per_1k", "client CPU per 1,000 items", "ms", False),
            Metric("per_minute", "requests a minute", "req/min", True),
            Metric("wall", "wall", "s", False),
        ],
    )
    variants = {n: v for n, v in VARIANTS.items() if v.args[0] != "ours" or not missing}
    before = None if missing else before_variant("--rate", str(RATE))
    if before is not None:
        variants[f"{before[0]}, rate={RATE}"] = before[1]
    bests = best_on_canned_server(
        variants,
        targets=targets,
        per_target=LIMIT,
        limit=LIMIT,
        concurrency=CONCURRENCY,
        repeats=repeats,
    )
    for name, best in bests.items():
        section.rows.append(
            Row(
                name,
                {
                    "cpu_per_1k": best["cpu"] / best["items"] * 1e6,
                    "per_minute": best["requests"] / best["wall"] * 60,
                    "wall": best["wall"],
                },
            )
        )
    for paced, unpaced, who in ((FLOOR, FLOOR_UNPACED, "floor"), (OURS, OURS_UNPACED, "ours")):
        p, u = section.row(paced), section.row(unpaced)
        if p is not None and u is not None:
            a, b = u.values["cpu_per_1k"], p.values["cpu_per_1k"]
            section.notes.append(
                f"Pacing, {who}: {a:.2f} -> {b:.2f} ms per 1,000 items ({b / a:.2f}x unpaced)."
            )
    if missing:
        section.goals = [Goal(GOAL_TEXT, "-", None, missing)]
        return section
    ratio = section.ratio(OURS, "cpu_per_1k") or float("inf")
    ours = section.row(OURS)
    assert ours is not None
    section.goals = [
        Goal(
            GOAL_TEXT,
            f"{ratio:.2f}x ({ours.values['cpu_per_1k']:.2f} ms)",
            ratio <= GOAL,
            "" if ratio <= GOAL else "our per-request work, and what our pacing costs per wake-up",
        )
    ]
    return section
