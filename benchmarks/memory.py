"""Memory: streaming a million items must take constant memory, whatever the consumer's pace.

Our client streams 1,000,000 items (100 targets x 10,000, pages of 1000) from the canned
server, in its own process, once with a consumer that keeps up and once with a slow one
(~50,000 items/s, slower than the client can fetch, so only backpressure keeps memory flat).
The process's RSS is read at every 5% of the items (10%, 50% and 100% shown), and its peak
(`ru_maxrss`) at the end. The baseline is the same process's RSS before streaming
(interpreter, imports, client).

Flat means memory does not grow with the volume: the highest RSS over the second half of the
items is at most `FLAT_MB` above the highest over the first half. The first half holds the
warm-up: RSS climbs to the plateau that `concurrency` pages in flight need (the slow
consumer, which holds every slot from the start, is on it at 10% already; a fast one reaches
it by chance alignments of many answers at once, and then it wavers by ~15 MB around it).
Comparing single readings at 10% and 100% would measure that warm-up, not growth.
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

LIMIT = 1000
IDLE = "before streaming (imports and client ready)"
PEAK_LIMIT_MB = 80.0  # issue 14
FLAT_MB = 15.0  # the second half's highest RSS may exceed the first half's by at most this
STEPS = 20  # RSS readings, one every 5% of the items


def run(size: Size) -> Section:
    per_target = size.pick(1000, 10_000, 10_000)
    targets = size.pick(5, 20, 100)
    total = per_target * targets
    marks = [total * i // STEPS for i in range(1, STEPS + 1)]
    section = Section(
        key="memory",
        title="Memory",
        what=(
            f"{total:,} items ({targets} targets x {per_target:,}, pages of {LIMIT}) from the "
            "canned server; RSS of the client process every 5% of the items (10%, 50%, 100% "
            "shown), and its peak."
        ),
        baseline=IDLE,
        metrics=[
            Metric("rss_10", "RSS at 10%", "MB", False),
            Metric("rss_50", "RSS at 50%", "MB", False),
            Metric("rss_100", "RSS at 100%", "MB", False),
            Metric("peak", "peak RSS", "MB", False),
            Metric("items_s", "items per second", "items/s", True),
        ],
    )
    missing = engine_missing()
    if missing:
        section.goals = [
            Goal(f"{c} consumer: peak RSS ≤ {PEAK_LIMIT_MB:.0f} MB and flat", "-", None, missing)
            for c in ("fast", "slow")
        ]
        return section
    idle: list[float] = []
    with canned_server(per_target) as server:
        for consumer in ("fast", "slow"):
            args = ["ours", "--url", server.url, "--targets", str(targets)]
            args += ["--limit", str(LIMIT), "--expect-items", str(total)]
            args += ["--rss-at", ",".join(map(str, marks))]
            args += ["--slow-consumer"] if consumer == "slow" else []
            r = run_json("benchmarks.clients", args)
            idle.append(r["idle_rss_mb"])
            rss = r["rss_mb"]
            rss10, rss50, rss100 = rss[STEPS // 10 - 1], rss[STEPS // 2 - 1], rss[-1]
            first, second = max(rss[: STEPS // 2]), max(rss[STEPS // 2 :])
            section.rows.append(
                Row(
                    f"ours, {consumer} consumer",
                    {
                        "rss_10": rss10,
                        "rss_50": rss50,
                        "rss_100": rss100,
                        "peak": r["maxrss_mb"],
                        "items_s": r["items"] / r["wall"],
                    },
                )
            )
            section.notes.append(
                f"{consumer} consumer, RSS every 5% [MB]: " + " ".join(f"{x:.0f}" for x in rss)
            )
            peak_ok = r["maxrss_mb"] <= PEAK_LIMIT_MB
            flat_ok = second - first <= FLAT_MB
            limit = []
            if not peak_ok:
                limit.append(f"peak {r['maxrss_mb']:.0f} MB")
            if not flat_ok:
                limit.append(f"the second half peaked {second - first:.0f} MB above the first")
            section.goals.append(
                Goal(
                    f"{consumer} consumer: peak RSS ≤ {PEAK_LIMIT_MB:.0f} MB and flat (the "
                    f"second half's highest RSS at most {FLAT_MB:.0f} MB above the first's)",
                    f"peak {r['maxrss_mb']:.0f} MB; {rss10:.0f} → {rss50:.0f} → {rss100:.0f} MB "
                    f"at 10/50/100%; highest {first:.0f} MB in the first half, {second:.0f} MB "
                    "in the second",
                    peak_ok and flat_ok,
                    "; ".join(limit),
                )
            )
    mean_idle = sum(idle) / len(idle)
    section.rows.insert(
        0, Row(IDLE, {k: mean_idle for k in ("rss_10", "rss_50", "rss_100", "peak")})
    )
    return section
