"""Import time: how long `import dfs_async` and the command line's `--help` take to start.

Each command runs in a fresh process (`subprocess`, byte code already compiled: one warm-up
round is not counted), its wall time taken around the whole process (start, imports, work,
exit) and its CPU (user + system, from the children's rusage); rounds are interleaved and
the best of each counts. The baseline is the bare interpreter (`python -c pass`); `import
httpx` is shown for reference. `dfs-async --help` is a latency users feel, so its goal is
absolute: under 0.5 s. `python -X importtime` lists the imports that cost the most.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import (
    ROOT,
    Goal,
    Metric,
    Row,
    Section,
    Size,
    baseline_checkout,
    engine_missing,
)

BARE = "python -c pass"
HTTPX = "python -c 'import httpx' (reference)"
IMPORT = "python -c 'import dfs_async'"
HELP = "dfs-async --help"
HELP_LIMIT = 0.5  # seconds
# The console script's own code (pip's wrapper), for a checkout that is not installed.
CLI = "import sys; from dfs_async.cli import main; sys.argv[0] = 'dfs-async'; sys.exit(main())"


def console_script() -> list[str]:
    """`dfs-async` as installed beside this interpreter, else the same code run with -c."""
    script = Path(sys.executable).parent / "dfs-async"
    return [str(script)] if script.exists() else [sys.executable, "-c", CLI]


def commands() -> dict[str, tuple[list[str], Path]]:
    py = sys.executable
    cmds = {
        BARE: ([py, "-c", "pass"], ROOT),
        HTTPX: ([py, "-c", "import httpx"], ROOT),
        IMPORT: ([py, "-c", "import dfs_async"], ROOT),
        HELP: ([*console_script(), "--help"], ROOT),
    }
    before = baseline_checkout()
    if before is not None:  # `-c` puts the working directory first on the path: REV's code
        rev, checkout = before
        cmds[f"import dfs_async at {rev} (before)"] = ([py, "-c", "import dfs_async"], checkout)
        cmds[f"dfs-async --help at {rev} (before)"] = ([py, "-c", CLI, "--help"], checkout)
    return cmds


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process running `argv`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=60)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]!r}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def slowest_imports(argv: list[str], top: int = 5) -> tuple[list[str], list[str]]:
    """`python -X importtime`: the modules with the most self time, and the third-party
    packages (imported from outside the standard library) with the most cumulative time."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
    entries = [
        (int(m[1]), int(m[2]), m[4])
        for m in map(line.match, proc.stderr.splitlines())
        if m is not None
    ]
    by_self = sorted(entries, reverse=True)[:top]
    packages: dict[str, int] = {}
    for _, cumulative, name in entries:
        root = name.split(".", 1)[0]
        if root in sys.stdlib_module_names or root.startswith("_") or root == "dfs_async":
            continue
        if name == root:
            packages[root] = max(packages.get(root, 0), cumulative)
    by_package = sorted(packages.items(), key=lambda kv: -kv[1])[:top]
    return (
        [f"{name} {own / 1000:.1f} ms ({cum / 1000:.0f} ms in all)" for own, cum, name in by_self],
        [f"{name} {cum / 1000:.0f} ms" for name, cum in by_package],  # with what it imports first
    )


def run(size: Size) -> Section:
    rounds = size.pick(1, 3, 10)
    section = Section(
        key="imports",
        title="Import time",
        what=(
            f"Each command in a fresh process, best of {rounds} interleaved rounds (after one "
            "warm-up round): wall time around the process, and its CPU (user + system)."
        ),
        baseline=BARE,
        metrics=[
            Metric("wall_ms", "wall", "ms", False),
            Metric("cpu_ms", "CPU", "ms", False),
        ],
    )
    missing = engine_missing()
    cmds = {n: c for n, c in commands().items() if not missing or n in (BARE, HTTPX)}
    best: dict[str, list[float]] = {}
    for round_ in range(rounds + 1):
        for name, (argv, cwd) in cmds.items():
            wall, cpu = timed(argv, cwd)
            if round_:  # round 0 warms the byte-code caches up
                prev = best.setdefault(name, [wall, cpu])
                best[name] = [min(prev[0], wall), min(prev[1], cpu)]
    for name, (wall, cpu) in best.items():
        section.rows.append(Row(name, {"wall_ms": wall * 1000, "cpu_ms": cpu * 1000}))
    goal = f"`dfs-async --help` answers in under {HELP_LIMIT} s (wall, best of {rounds})"
    if missing:
        section.goals = [Goal(goal, "-", None, missing)]
        return section
    help_row, import_row = section.row(HELP), section.row(IMPORT)
    assert help_row is not None and import_row is not None
    help_s = help_row.values["wall_ms"] / 1000
    section.goals = [
        Goal(
            goal,
            f"{help_s:.3f} s ({section.ratio(HELP, 'wall_ms'):.1f}x the bare interpreter)",
            help_s < HELP_LIMIT,
            "" if help_s < HELP_LIMIT else "what the command line imports before parsing",
        )
    ]
    section.notes.append(
        f"`import dfs_async`: {import_row.values['wall_ms']:.0f} ms wall, "
        f"{section.ratio(IMPORT, 'wall_ms'):.1f}x the bare interpreter (figure only)."
    )
    script = console_script()
    own, packages = slowest_imports([*(script[1:] if len(script) > 1 else script), "--help"])
    section.notes.append(f"`{HELP}`, most self time (`-X importtime`): " + "; ".join(own) + ".")
    section.notes.append(
        f"`{HELP}`, third-party packages by cumulative time (each with what it imports first): "
        + ", ".join(packages)
        + "."
    )
    return section
