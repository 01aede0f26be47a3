"""Scale: the time per target must stay flat from 10 to 10,000 targets.

Each size is a fresh client process streaming every target (200 items each, pages of 100:
two requests per target, the second after the first told `total_count`) from the canned
server. Wall and CPU per target are compared with the 100-target run (the baseline row); the
floor client (aiohttp + untyped msgspec) runs the same sizes, to show what the setup itself
does with size. The 10-target run is dominated by start-up and shown for completeness. At
full size each is run three times, the sizes interleaved, and the best kept: one run of a
size is seconds long, and a busy spell of the shared machine made one size look 35% dearer.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import (
    Goal,
    Metric,
    Row,
    Section,
    Size,
    best_of,
    canned_server,
    engine_missing,
    run_json,
)

PER_TARGET = 200
LIMIT = 100
FLAT = 1.3  # no run may take 30% more time per target than a smaller run


def label(n: int) -> str:
    return f"{n:,} targets"


def run(size: Size) -> Section:
    sizes = {Size.TINY: (10, 100), Size.QUICK: (10, 100, 1000), Size.FULL: (10, 100, 1000, 10_000)}
    counts = sizes[size]
    missing = engine_missing()
    metrics = [
        Metric("wall_ms", "ours: wall per target", "ms", False),
        Metric("cpu_ms", "ours: CPU per target", "ms", False),
        Metric("floor_wall_ms", "floor: wall per target", "ms", False),
    ]
    repeats = size.pick(1, 1, 3)
    section = Section(
        key="scale",
        title="Scale",
        what=(
            f"{', '.join(map(str, counts))} targets, {PER_TARGET} items each in pages of "
            f"{LIMIT}, from the canned server; concurrency 30"
            + (f"; best of {repeats}, the sizes interleaved." if repeats > 1 else ".")
        ),
        baseline=label(100),
        metrics=metrics if not missing else metrics[2:],
    )
    kinds = ["floor"] + ([] if missing else ["ours"])
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    with canned_server(PER_TARGET) as server:
        for _ in range(repeats):  # interleaved: a busy spell on the shared machine hits all
            for n in counts:
                for kind in kinds:
                    args = [kind, "--url", server.url, "--targets", str(n)]
                    args += ["--limit", str(LIMIT), "--expect-items", str(n * PER_TARGET)]
                    runs.setdefault((n, kind), []).append(run_json("benchmarks.clients", args))
    for n in counts:
        row = Row(label(n), {})
        for kind in kinds:
            r = best_of(runs[n, kind])
            prefix = "floor_" if kind == "floor" else ""
            row.values[f"{prefix}wall_ms"] = r["wall"] / n * 1000
            if kind == "ours":
                row.values["cpu_ms"] = r["cpu"] / n * 1000
        section.rows.append(row)
    goal = (
        f"time per target flat from 100 to {counts[-1]:,} targets (no run {FLAT - 1:.0%} "
        "slower per target than a smaller one; fixed start-up makes small runs dearer)"
    )
    if missing:
        section.goals.append(Goal(goal, "-", None, missing))
        return section
    walls = [row.values["wall_ms"] for n, row in zip(counts, section.rows, strict=True) if n >= 100]
    growth = max(walls[j] / walls[i] for j in range(len(walls)) for i in range(j + 1))
    section.goals.append(
        Goal(
            goal,
            f"worst growth {growth:.2f}x; "
            + " -> ".join(f"{w:.2f}" for w in walls)
            + " ms per target",
            growth <= FLAT,
            "" if growth <= FLAT else "work that grows with the number of targets",
        )
    )
    return section
