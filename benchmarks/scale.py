"""Scale: the time per target must stay flat from 10 to 10,000 targets.

Each size is one fresh client process streaming every target (200 items each, pages of 100:
two requests per target, the second after the first told `total_count`) from the canned
server. Wall and CPU per target are compared with the 100-target run (the baseline row); the
floor client (aiohttp + untyped msgspec) runs the same sizes, to show what the setup itself
does with size. The 10-target run is dominated by start-up and shown for completeness.
"""

from __future__ import annotations

from benchmarks.harness import (
    Goal,
    Metric,
    Row,
    Section,
    Size,
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
    section = Section(
        key="scale",
        title="Scale",
        what=(
            f"{', '.join(map(str, counts))} targets, {PER_TARGET} items each in pages of "
            f"{LIMIT}, from the canned server; concurrency 30."
        ),
        baseline=label(100),
        metrics=metrics if not missing else metrics[2:],
    )
    kinds = ["floor"] + ([] if missing else ["ours"])
    with canned_server(PER_TARGET) as server:
        for n in counts:
            row = Row(label(n), {})
            for kind in kinds:
                args = [kind, "--url", server.url, "--targets", str(n), "--limit", str(LIMIT)]
                args += ["--expect-items", str(n * PER_TARGET)]
                r = run_json("benchmarks.clients", args)
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
