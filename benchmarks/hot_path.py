"""Where a client's CPU goes: pyinstrument over one client run against the canned server.

    python -m benchmarks.hot_path [KIND] [--targets N] [--per-target N] [--limit N]
                                  [--latency-ms L] [--concurrency C] [--html FILE]

prints the functions with the most self time (time spent in their own code, not in callees)
and the call tree of the slowest paths; `--html` also writes pyinstrument's page. KIND is any
of `benchmarks.clients` (default `ours`). As a benchmark (`run`), it profiles our client on
small pages, where per-request costs show, and lists the top frames in RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks import clients
from benchmarks.harness import Metric, Row, Section, Size, canned_server, engine_missing


def self_times(session: Any) -> dict[str, float]:
    """Self seconds per function (file:line name), summed over the whole tree."""
    totals: dict[str, float] = defaultdict(float)
    root = session.root_frame()
    stack = [root] if root is not None else []
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if frame.identifier.startswith("["):  # pyinstrument's synthetic frames
            continue
        name = f"{frame.function} ({short(frame.file_path or '?')}:{frame.line_no})"
        totals[name] += frame.total_self_time
    return dict(totals)


def by_package(times: dict[str, float]) -> dict[str, float]:
    """Self time grouped by where the code lives (a package, or the kind of built-in)."""
    groups: dict[str, float] = defaultdict(float)
    for name, t in times.items():
        where = name.rsplit("(", 1)[-1]
        if where.startswith("<built-in>"):
            func = name.split(" ", 1)[0]
            group = {"Decoder": "msgspec decode", "socket": "socket calls (kernel)"}.get(
                func.split(".", 1)[0], "other built-ins"
            )
        elif where.startswith(".11/"):
            parts = where.split("/")
            group = parts[1] if len(parts) > 2 else "stdlib"
        elif where.startswith("<frozen"):
            group = "stdlib"
        else:
            group = where.split("/", 1)[0]
        groups[group] += t
    return dict(groups)


def short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def profile(
    kind: str, url: str, targets: int, limit: int, concurrency: int, stack: str = "default"
) -> tuple[Any, float]:
    import httpx_aiohttp  # noqa: F401
    import trio  # noqa: F401 - httpcore imports it on first use when installed
    from pyinstrument import Profiler

    import dfs_async  # noqa: F401 - imports are not the hot path: keep them out of the profile

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    common = (url, targets, limit, concurrency)
    profiler.start()
    if kind == "ours":
        asyncio.run(clients.ours(*common, stack=stack))
    elif kind == "naive":
        asyncio.run(clients.naive(*common))
    elif kind == "floor":
        asyncio.run(clients.floor(*common))
    elif kind == "official":
        clients.official(*common)
    else:
        asyncio.run(clients.raw(kind.removeprefix("raw-"), *common))
    session = profiler.stop()
    return profiler, session.duration


def top(profiler: Any, n: int) -> list[tuple[str, float]]:
    times = self_times(profiler.last_session)
    total = sum(times.values()) or 1.0
    ranked = sorted(times.items(), key=lambda kv: -kv[1])[:n]
    return [(name, t / total) for name, t in ranked]


def run(size: Size) -> Section:
    targets = size.pick(20, 300, 1500)
    per_target = 100
    section = Section(
        key="profile",
        title="Profile of our client (pyinstrument)",
        what=(
            f"Our client streaming {targets:,} targets x {per_target} items (one request of "
            f"{per_target} items each: per-request costs show) from the canned server, under "
            "pyinstrument in asyncio; the functions with the most self time. Not a race: "
            "the ratio column is each function's share of the profiled time."
        ),
        baseline="",
        metrics=[Metric("share", "share of samples", "%", False)],
    )
    missing = engine_missing()
    if missing:
        section.notes.append(f"Not profiled: {missing}.")
        return section
    with canned_server(per_target) as server:
        profiler, duration = profile("ours", server.url, targets, per_target, 30)
    for name, share in top(profiler, 15):
        section.rows.append(Row(name, {"share": share * 100}))
    groups = by_package(self_times(profiler.last_session))
    total = sum(groups.values()) or 1.0
    section.notes.append(
        "Self time by where the code lives: "
        + ", ".join(
            f"{group} {t / total:.0%}"
            for group, t in sorted(groups.items(), key=lambda kv: -kv[1])
            if t / total >= 0.01
        )
        + "."
    )
    section.notes.append(
        f"Profiled run: {duration:.1f} s for {targets:,} requests "
        f"({duration / targets * 1000:.2f} ms per request, profiler overhead included). "
        "Find the call tree with `python -m benchmarks.hot_path --html profile.html`."
    )
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", nargs="?", default="ours", choices=clients.KINDS)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--per-target", type=int, default=100)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--http", choices=clients.OURS_STACKS, default="default", help="`ours`")
    parser.add_argument("--html", type=Path)
    args = parser.parse_args()
    with canned_server(args.per_target, args.latency_ms) as server:
        profiler, duration = profile(
            args.kind, server.url, args.targets, args.limit, args.concurrency, args.http
        )
    print(f"{args.kind}: {duration:.2f} s profiled\n\nself time, top {args.top}:")
    for name, share in top(profiler, args.top):
        print(f"  {share * 100:5.1f}%  {name}")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        args.html.write_text(profiler.output_html())


if __name__ == "__main__":
    main()
