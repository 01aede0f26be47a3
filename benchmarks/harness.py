"""What every benchmark shares: sizes, results as ratios to a baseline, subprocesses, the report.

A figure means little alone on a shared machine, so each section names a baseline measured in
the same run, and every row is shown as a ratio to it beside its absolute value.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "dfs-async",
    "httpx",
    "httpcore",
    "httpx-aiohttp",
    "aiohttp",
    "httpx2",
    "anyio",
    "msgspec",
    "aiolimiter",
    "coredis",
    "trio",
    "uvicorn",
    "dataforseo-client",
    "pydantic",
    "urllib3",
    "psutil",
    "pyinstrument",
)


class Size(enum.Enum):
    """How big a run is: TINY proves it works (tests), QUICK for a glance, FULL for RESULTS.md."""

    TINY = "tiny"
    QUICK = "quick"
    FULL = "full"

    def pick(self, tiny: int, quick: int, full: int) -> int:
        return {Size.TINY: tiny, Size.QUICK: quick, Size.FULL: full}[self]


@dataclass(frozen=True)
class Metric:
    """A measured quantity; `higher_is_better` says which way a ratio is good."""

    key: str
    label: str
    unit: str
    higher_is_better: bool


@dataclass
class Row:
    name: str
    values: dict[str, float]
    note: str = ""


@dataclass
class Goal:
    """A target of the issue, judged from the figures of this run."""

    text: str
    measured: str
    met: bool | None  # None: could not be judged (e.g. the engine is missing)
    limit: str = ""  # what limits it when not met

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "NOT MET", None: "NOT RUN"}[self.met]


@dataclass
class Section:
    key: str
    title: str
    what: str
    baseline: str
    metrics: list[Metric]
    rows: list[Row] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def row(self, name: str) -> Row | None:
        return next((r for r in self.rows if r.name == name), None)

    def ratio(self, name: str, key: str) -> float | None:
        """`name`'s value of `key` over the baseline's (None when either is missing)."""
        row, base = self.row(name), self.row(self.baseline)
        if row is None or base is None or key not in row.values or key not in base.values:
            return None
        b = base.values[key]
        return row.values[key] / b if b else None


def fmt(value: float) -> str:
    """A figure with three significant digits, no exponent for everyday sizes."""
    if value == 0:
        return "0"
    mag = abs(value)
    if mag >= 1000:
        return f"{value:,.0f}"
    if mag >= 100:
        return f"{value:.0f}"
    if mag >= 10:
        return f"{value:.1f}"
    if mag >= 1:
        return f"{value:.2f}"
    if mag >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2e}"


def table(section: Section) -> list[list[str]]:
    """Rows of cells: the variant, then for each metric 'ratio x' and the absolute value."""
    head = ["variant"]
    for m in section.metrics:
        arrow = "↑" if m.higher_is_better else "↓"
        head += [f"{m.label} {arrow} (x baseline)", f"{m.label} [{m.unit}]"]
    lines = [head]
    for row in section.rows:
        name = row.name + (" (baseline)" if row.name == section.baseline else "")
        cells = [name]
        for m in section.metrics:
            if m.key not in row.values:
                cells += ["-", "-"]
                continue
            r = section.ratio(row.name, m.key)
            cells += ["-" if r is None else f"{r:.2f}x", fmt(row.values[m.key])]
        lines.append(cells)
    return lines


def markdown_table(lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out += ["| " + " | ".join(cells) + " |" for cells in lines[1:]]
    return "\n".join(out)


def text_table(lines: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rendered = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(rendered)


def machine() -> dict[str, str]:
    """The machine and the versions, for the report's header."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(ImportError):
        import psutil  # type: ignore[import-untyped]

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(versions),
    }


# --- subprocesses ------------------------------------------------------------------------


def run_json(
    module: str, args: Sequence[str], timeout: float = 600.0, cwd: Path = ROOT
) -> dict[str, Any]:
    """Run `python -m module args` in its own process; its last stdout line is a JSON object.

    `cwd` is the checkout whose code runs (`-m` puts it first on the path): another one runs
    an earlier version of the client (see `baseline_checkout`).
    """
    cmd = [sys.executable, "-m", module, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[2:])} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def timed(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run `python argv` to its end (it must succeed): its wall and CPU seconds (its own
    process and its children), and its stdout."""
    before, started = _cpu_of_children(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=1800
    )
    wall, cpu = time.perf_counter() - started, _cpu_of_children() - before
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return wall, cpu, proc.stdout


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def baseline_checkout() -> tuple[str, Path] | None:
    """The earlier version to measure beside the current code, if one was asked for:
    `scripts/bench --baseline REV` checks REV out and names it in $DFS_BENCH_BASELINE."""
    value = os.environ.get("DFS_BENCH_BASELINE")
    if not value:
        return None
    rev, _, path = value.partition("=")
    return rev, Path(path)


@dataclass
class Served:
    """A server running in its own process: where it listens and how to stop it."""

    url: str
    process: subprocess.Popen[str]
    final: dict[str, Any] = field(default_factory=dict)

    def stop(self, timeout: float = 30.0) -> dict[str, Any]:
        """Close its stdin (its cue to stop) and read its last JSON line, if it writes one."""
        proc = self.process
        if proc.poll() is None:
            try:
                out, _ = proc.communicate(input="", timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate(timeout=10)
        else:
            out, _ = proc.communicate(timeout=10)
        for line in reversed(out.strip().splitlines()):
            if line.startswith("{"):
                self.final = json.loads(line)
                break
        return self.final


@contextlib.contextmanager
def server_process(argv: Sequence[str], ready_timeout: float = 60.0) -> Iterator[Served]:
    """Start `python argv...`, a server that prints its base URL as its first stdout line.

    The server runs in its own process so it never competes with the measured client for the
    GIL. Closing its stdin asks it to stop and print its final figures as a JSON line
    (`Served.stop`); on leaving the block it is stopped that way, or killed.
    """
    with tempfile.TemporaryFile(mode="w+") as errors:  # a pipe could fill and stall it
        proc = subprocess.Popen(
            [sys.executable, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=ROOT,
        )
        served = None
        try:
            assert proc.stdout is not None
            deadline = time.monotonic() + ready_timeout
            url = ""
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                if line.startswith("http://"):
                    url = line.split()[0]
                    break
            if not url:
                proc.kill()
                proc.communicate(timeout=10)
                errors.seek(0)
                raise RuntimeError(f"{' '.join(argv)} did not start:\n{errors.read()[-3000:]}")
            served = Served(url, proc)
            yield served
        finally:
            if served is not None:
                served.stop()
            elif proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)


def emit(result: dict[str, Any]) -> None:
    """A measuring subprocess's last word: one JSON line on stdout."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def engine_missing() -> str:
    """Why our client cannot be measured ('' when it can)."""
    try:
        from dfs_async import DataForSEO  # noqa: F401
    except ImportError as exc:
        return f"the client is not importable yet ({exc})"
    return ""


@contextlib.contextmanager
def canned_server(per_target: int, latency_ms: float = 0.0) -> Iterator[Served]:
    """The canned server (see `benchmarks.canned_server`) in its own process."""
    from benchmarks.pages import write_items

    with tempfile.TemporaryDirectory(prefix="dfs-bench-") as tmp:
        items = write_items(Path(tmp) / "items.json", min(per_target, 5000))
        argv = ["-m", "benchmarks.canned_server", "--items", str(items)]
        argv += ["--per-target", str(per_target), "--latency-ms", str(latency_ms)]
        with server_process(argv) as served:
            yield served


@dataclass(frozen=True)
class Variant:
    """One measured client of `benchmarks.clients`: its KIND and own options, and the checkout
    whose code runs (ROOT, or the `--baseline` revision's worktree)."""

    args: tuple[str, ...]
    cwd: Path = ROOT


def before_variant(*options: str) -> tuple[str, Variant] | None:
    """Our client as it was at `--baseline REV` (with `options`), if one was asked for."""
    before = baseline_checkout()
    if before is None:
        return None
    rev, checkout = before
    return f"ours at {rev} (before)", Variant(("ours", *options), checkout)


def interleaved(
    url: str,
    variants: dict[str, Variant],
    common: Sequence[str],
    repeats: int,
    timeout: float = 600.0,
) -> dict[str, list[dict[str, Any]]]:
    """Every variant against the server at `url` with the `common` options, `repeats` rounds.

    Rounds alternate their order (forwards, then backwards), so a load that comes or goes
    during the run weighs on every variant alike rather than on the last ones.
    """
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    names = list(variants)
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            variant = variants[name]
            args = [*variant.args, "--url", url, *common]
            runs[name].append(
                run_json("benchmarks.clients", args, timeout=timeout, cwd=variant.cwd)
            )
    return runs


def best_on_canned_server(
    variants: dict[str, Variant],
    *,
    targets: int,
    per_target: int,
    limit: int,
    concurrency: int,
    repeats: int,
) -> dict[str, dict[str, Any]]:
    """Every variant streaming `targets` x `per_target` items in pages of `limit` from the
    canned server, `repeats` interleaved rounds; the best figures of each (`best_of`)."""
    common = ["--targets", str(targets), "--limit", str(limit)]
    common += ["--concurrency", str(concurrency), "--expect-items", str(targets * per_target)]
    with canned_server(per_target) as server:
        runs = interleaved(server.url, variants, common, repeats)
    return {name: best_of(results) for name, results in runs.items()}


def best_of(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per figure, the best of repeated runs (least CPU, least wall, least memory)."""
    best = dict(runs[0])
    for run in runs[1:]:
        for key in ("cpu", "wall", "maxrss_mb"):
            if key in run:
                best[key] = min(best[key], run[key])
    return best
