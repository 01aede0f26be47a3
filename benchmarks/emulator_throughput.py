"""The emulator under load: pages per second, and whole runs of fresh targets through the CLI.

    python benchmarks/emulator_throughput.py [--seconds 5] [--concurrency 8]
    python -m benchmarks.emulator_throughput --runs [--baseline REV]

Throughput: pages of 100 and of 1000 items from one cached 30 000-page target, fetched by
httpx with a few concurrent requests over a real socket; also the app alone (no HTTP) to
show where the time goes. The standalone command prints a table and rewrites that section of
benchmarks/EMULATOR.md; with `--runs`, the runs below (full size) are that file's other
section.

Runs (`scripts/bench --only emulator emulator-endpoints`, sections of RESULTS.md): `dfs-async
emulator` in its own process and the command line fetching every item of fresh targets
from it (`referring-domains` of 200 targets; the other heavy endpoints on fewer), as a user
runs them: the run's wall time, the emulator's CPU time and peak RSS (read every 0.1 s), and
the connections the client saw reset or closed (its retries with no status). With
`--baseline REV` the emulator of REV serves the same run beside ours (the client is always
the current one: the emulator is what is measured). The emulator's rate limit is raised so
that it, not the account's pacing, sets the pace.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from benchmarks.harness import ROOT, Goal, Metric, Row, Section, Size, baseline_checkout
from dfs_async.emulator import Emulator, EmulatorConfig, running_emulator
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY

SUMMARY_PATH = DOMAIN_PAGES_SUMMARY.path

TARGET = "bench.com"
PAGES = 30_000
ALL = {"backlinks_status_type": "all"}  # every page: offsets never run past the end
OUT = Path(__file__).with_name("EMULATOR.md")


async def over_socket(limit: int, seconds: float, concurrency: int) -> tuple[float, float]:
    """(pages/s, items/s) over HTTP."""
    config = EmulatorConfig(target_sizes={TARGET: PAGES}, rate_limit=10**9)
    async with running_emulator(config) as emu:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=emu.base_url, auth=emu.auth, limits=limits, timeout=60
        ) as http:
            for offset in range(0, PAGES, 1000):  # the target's pages built and kept
                task = {"target": TARGET, "limit": 1000, "offset": offset, **ALL}
                await http.post(SUMMARY_PATH, json=[task])
            done = 0
            deadline = time.perf_counter() + seconds
            started = time.perf_counter()

            async def worker(k: int) -> None:
                nonlocal done
                offset = k * limit
                while time.perf_counter() < deadline:
                    task = {"target": TARGET, "limit": limit, "offset": offset % PAGES, **ALL}
                    response = await http.post(SUMMARY_PATH, json=[task])
                    answer = msgspec.json.decode(response.content)
                    assert answer["tasks"][0]["result"][0]["items_count"] > 0
                    done += 1
                    offset += concurrency * limit

            await asyncio.gather(*(worker(k) for k in range(concurrency)))
            elapsed = time.perf_counter() - started
    return done / elapsed, done * limit / elapsed


async def in_process(limit: int, seconds: float) -> float:
    """Pages/s of the ASGI app called directly: the emulator's own cost per page."""
    app = Emulator(EmulatorConfig(target_sizes={TARGET: PAGES}, rate_limit=10**9))
    auth = [(b"authorization", b"Basic ZW11bGF0b3I6ZW11bGF0b3I=")]
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": SUMMARY_PATH,
        "headers": auth,
    }

    async def call(offset: int) -> None:
        body = msgspec.json.encode([{"target": TARGET, "limit": limit, "offset": offset, **ALL}])
        sent = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return sent.pop()

        async def send(message: Any) -> None:
            pass

        await app(scope, receive, send)

    for offset in range(0, PAGES, 1000):  # the target's pages built and kept
        await call(offset)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        await call((done * limit) % PAGES)
        done += 1
    return done / (time.perf_counter() - started)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", action="store_true", help="the command-line runs instead")
    parser.add_argument("--baseline", metavar="REV", help="with --runs: REV's emulator beside")
    args = parser.parse_args()
    if args.runs:
        return write_runs(args.baseline)
    rows = []
    for limit in (100, 1000):
        pages, items = asyncio.run(over_socket(limit, args.seconds, args.concurrency))
        app_pages = asyncio.run(in_process(limit, args.seconds))
        rows.append((limit, pages, items, app_pages))
    header = "| items per page | pages/s (HTTP) | items/s (HTTP) | pages/s (app alone) |"
    lines = [header, "|---:|---:|---:|---:|"]
    lines += [f"| {limit} | {p:,.0f} | {i:,.0f} | {a:,.0f} |" for limit, p, i, a in rows]
    table = "\n".join(lines)
    print(table)
    command = "python benchmarks/emulator_throughput.py " + " ".join(sys.argv[1:])
    section = (
        "## Emulator throughput\n\n"
        f"Command: `{command.strip()}`  \n"
        f"Machine: {machine()}  \n"
        f"Setup: one {PAGES:,}-page target (corpus cached), httpx.AsyncClient with "
        f"{args.concurrency} concurrent requests over 127.0.0.1, {args.seconds:g} s per row; "
        "'app alone' calls the ASGI app in process (no HTTP).  \n"
        f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n{table}\n"
    )
    write_section(section)
    return 0


def write_runs(rev: str | None) -> int:
    """The runs through the command line at full size, as a section of EMULATOR.md."""
    from benchmarks.__main__ import baseline
    from benchmarks.report import section_markdown

    with baseline(rev) if rev else contextlib.nullcontext():
        sections = []
        for measure in (run, run_endpoints):
            started = time.perf_counter()
            section = measure(Size.FULL)
            section.seconds = time.perf_counter() - started
            sections.append(section)
    command = "python -m benchmarks.emulator_throughput " + " ".join(sys.argv[1:])
    lines = [f"## {RUNS}", "", f"Command: `{command.strip()}`  ", f"Machine: {machine()}  "]
    lines += [f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]
    for section in sections:
        lines += [f"### {section.title}", "", *section_markdown(section), ""]
    write_section("\n".join(lines), RUNS)
    print("\n".join(lines))
    return 0 if all(g.met is not False for s in sections for g in s.goals) else 1


RUNS = "Fresh targets through the command line"


def write_section(section: str, heading: str = "Emulator throughput") -> None:
    """Replace a section of EMULATOR.md (the others stay)."""
    text = OUT.read_text() if OUT.exists() else "# Benchmarks: the emulator\n\n"
    start = text.find(f"## {heading}")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    OUT.write_text(text)


# -- whole runs through the command line ----------------------------------------------------

GOAL_WALL = 20.0  # seconds for 200 fresh targets' referring domains
GOAL_RSS = 400.0  # MB, however many targets the emulator has seen
FRESH = "fresh{}.com"
LOGIN = PASSWORD = "bench"
# The other heavy endpoints: the command, how many targets at each size, and how a target
# is written (an intersection takes two targets a line).
ENDPOINTS = (
    ("backlinks", (1, 10, 30)),
    ("anchors", (1, 20, 60)),
    ("domain-pages-summary", (1, 20, 60)),
    ("domain-pages", (1, 20, 60)),
    ("domain-intersection", (1, 20, 60)),
    ("page-intersection", (1, 20, 60)),
)


def targets(command: str, n: int) -> list[str]:
    if command.endswith("intersection"):
        return [f"{FRESH.format(2 * i)},{FRESH.format(2 * i + 1)}" for i in range(n)]
    return [FRESH.format(i) for i in range(n)]


def cli_run(command: str, names: list[str], checkout: Path = ROOT) -> dict[str, Any]:
    """`dfs-async <command>` over `names` against a fresh `dfs-async emulator` of `checkout`
    (the client is always this checkout's): wall, the emulator's CPU and peak RSS, resets."""
    import psutil  # type: ignore[import-untyped]

    argv = [sys.executable, "-m", "dfs_async", "emulator", "--port", "0"]
    argv += ["--rate-limit", "10000000", "--login", LOGIN, "--password", PASSWORD]
    with tempfile.TemporaryDirectory(prefix="dfs-bench-") as tmp:
        listed = Path(tmp) / "targets.txt"
        listed.write_text("".join(f"{t}\n" for t in names))
        with subprocess.Popen(
            argv, cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        ) as emulator:
            try:
                assert emulator.stdout is not None
                url = emulator.stdout.readline().strip()
                if not url.startswith("http"):
                    raise RuntimeError(f"the emulator of {checkout} did not start")
                server = psutil.Process(emulator.pid)
                cpu0 = sum(server.cpu_times()[:2])
                peak = [server.memory_info().rss]
                done = threading.Event()

                def watch() -> None:
                    while not done.wait(0.1):
                        peak[0] = max(peak[0], server.memory_info().rss)

                watcher = threading.Thread(target=watch, daemon=True)
                watcher.start()
                env = {**os.environ, "DATAFORSEO_LOGIN": LOGIN, "DATAFORSEO_PASSWORD": PASSWORD}
                command_line = [sys.executable, "-m", "dfs_async", command, str(listed)]
                command_line += ["--base-url", url, "-o", str(Path(tmp) / "out.jsonl")]
                started = time.perf_counter()
                client = subprocess.run(
                    command_line, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800
                )
                wall = time.perf_counter() - started
                done.set()
                watcher.join()
                cpu = sum(server.cpu_times()[:2]) - cpu0
                peak[0] = max(peak[0], server.memory_info().rss)
            finally:
                emulator.terminate()
        if client.returncode != 0:
            raise RuntimeError(
                f"dfs-async {command} exited {client.returncode}:\n{client.stderr[-2000:]}"
            )
        with (Path(tmp) / "out.jsonl").open("rb") as out:
            records = sum(1 for _ in out)
    retries, resets = read_retries(client.stderr)
    return {
        "wall": wall,
        "cpu": cpu,
        "peak_mb": peak[0] / 2**20,
        "records": records,
        "retries": retries,
        "resets": resets,
    }


def read_retries(summary: str) -> tuple[int, int]:
    """(retries, of which with no status: the connection reset or closed) from the run's
    `done:` line (`retries: 3 (no status: 2, 50000: 1)`)."""
    found = re.search(r"retries: ([\d,]+)(?: \(([^)]*)\))?", summary)
    if found is None:
        raise RuntimeError(f"no retries in the run's summary:\n{summary[-1000:]}")
    closed = re.search(r"no status: ([\d,]+)", found.group(2) or "")
    retries = int(found.group(1).replace(",", ""))
    return retries, int(closed.group(1).replace(",", "")) if closed else 0


METRICS = [
    Metric("wall", "wall", "s", False),
    Metric("cpu", "emulator CPU", "s", False),
    Metric("peak_mb", "emulator peak RSS", "MB", False),
    Metric("resets", "connections reset", "", False),
    Metric("records", "records", "", True),
]


def _variants() -> list[tuple[str, Path]]:
    """Ours, and the emulator of `--baseline REV` when one was asked for."""
    before = baseline_checkout()
    variants = [("ours", ROOT)]
    if before is not None:
        variants.insert(0, (f"emulator at {before[0]} (before)", before[1]))
    return variants


def _row(name: str, r: dict[str, Any]) -> Row:
    return Row(name, {m.key: float(r[m.key]) for m in METRICS})


def run(size: Size) -> Section:
    """200 fresh targets' referring domains through the command line (issue 22's run)."""
    n = size.pick(3, 40, 200)
    variants = _variants()
    section = Section(
        key="emulator",
        title="Emulator: fresh targets' referring domains through the command line",
        what=(
            f"`dfs-async referring-domains` of {n} fresh targets ({FRESH.format('N')}) against "
            "`dfs-async emulator` in its own process (rate limit raised): the run's wall time, "
            "the emulator's CPU time and peak RSS, the connections the client saw reset."
        ),
        baseline=variants[0][0],
        metrics=METRICS,
    )
    results = {
        name: cli_run("referring-domains", targets("referring-domains", n), checkout)
        for name, checkout in variants
    }
    section.rows = [_row(name, r) for name, r in results.items()]
    ours = results["ours"]
    scale = f" (at {n} targets, the full run has 200)" if n != 200 else ""
    section.goals = [
        Goal(
            f"{n} fresh targets' referring domains in ≤ {GOAL_WALL:.0f} s{scale}",
            f"{ours['wall']:.1f} s, {ours['records']:,} records",
            ours["wall"] <= GOAL_WALL,
            "" if ours["wall"] <= GOAL_WALL else "the emulator's CPU per item",
        ),
        Goal(
            f"the emulator's peak RSS ≤ {GOAL_RSS:.0f} MB",
            f"{ours['peak_mb']:.0f} MB",
            ours["peak_mb"] <= GOAL_RSS,
        ),
        Goal(
            "no connection reset or closed (no faults configured)",
            f"{ours['resets']} (retries: {ours['retries']})",
            ours["resets"] == 0,
        ),
    ]
    return section


def run_endpoints(size: Size) -> Section:
    """The other heavy endpoints through the command line, ours beside the baseline's."""
    variants = _variants()
    section = Section(
        key="emulator-endpoints",
        title="Emulator: the other heavy endpoints through the command line",
        what=(
            "Each command over fresh targets (an intersection: two a line) against "
            "`dfs-async emulator` in its own process, as in the referring-domains run; rows "
            "per command, ours and (with --baseline) the emulator before."
        ),
        baseline="",
        metrics=METRICS,
    )
    pick = {Size.TINY: 0, Size.QUICK: 1, Size.FULL: 2}[size]
    for command, sizes in ENDPOINTS:
        names = targets(command, sizes[pick])
        results = {name: cli_run(command, names, checkout) for name, checkout in variants}
        section.rows += [_row(f"{command}, {name}", r) for name, r in results.items()]
        ours = results["ours"]
        ok = ours["peak_mb"] <= GOAL_RSS and ours["resets"] == 0
        measured = f"{ours['wall']:.1f} s, CPU {ours['cpu']:.1f} s, {ours['peak_mb']:.0f} MB"
        before = [r for name, r in results.items() if name != "ours"]
        if before:
            b = before[0]
            measured += f" (before: {b['wall']:.1f} s, CPU {b['cpu']:.1f} s, {b['peak_mb']:.0f} MB)"
        section.goals.append(
            Goal(
                f"{command} ({len(names)} targets): peak RSS ≤ {GOAL_RSS:.0f} MB, no reset",
                measured,
                ok,
            )
        )
    return section


if __name__ == "__main__":
    sys.exit(main())
