"""`python -m benchmarks [--quick] [--only NAME ...] [--output FILE] [--no-write]`: run the suite,
print it, write RESULTS.md (with --only, only to --output)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    audit,
    cache,
    decode,
    emulator_throughput,
    family,
    hot_path,
    import_time,
    memory,
    overhead,
    paced,
    pool,
    saturation,
    scale,
    shared_limits,
    small_answers,
)
from benchmarks.harness import ROOT, Goal, Section, Size, machine
from benchmarks.report import render_markdown, render_text

BENCHMARKS: dict[str, Callable[[Size], Section]] = {
    "decode": decode.run,
    "imports": import_time.run,
    "overhead": overhead.run,
    "small": small_answers.run,
    "paced": paced.run,
    "pool": pool.run,
    "saturation": saturation.run,
    "memory": memory.run,
    "scale": scale.run,
    "family": family.run,
    "emulator": emulator_throughput.run,
    "emulator-endpoints": emulator_throughput.run_endpoints,
    "shared": shared_limits.run,
    "profile": hot_path.run,
    "cache": cache.run,
    "audit": audit.run,
}


def failed(name: str, exc: BaseException) -> Section:
    """A benchmark that crashed still gets its place in the report, saying why."""
    section = Section(name, name, "", "", [])
    section.title = f"{name} (failed)"
    lines = traceback.format_exception_only(type(exc), exc)
    section.notes.append("The benchmark failed: " + "".join(lines).strip())
    section.goals.append(Goal(f"{name} ran", "crashed", False, lines[-1].strip()))
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a glance: ~2 min)")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    parser.add_argument(
        "--output",
        type=Path,
        help="where the report goes (default benchmarks/RESULTS.md; with --only, nowhere)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure the client as it was at git revision REV (overhead, small, paced, "
        "imports, family, audit), side by side",
    )
    args = parser.parse_args(argv)
    if args.baseline:
        with baseline(args.baseline):
            return run(args, argv)
    return run(args, argv)


@contextlib.contextmanager
def baseline(rev: str) -> Iterator[None]:
    """REV checked out in a temporary worktree, named in $DFS_BENCH_BASELINE meanwhile."""
    with tempfile.TemporaryDirectory() as tmp:
        checkout = Path(tmp) / "baseline"
        git = ["git", "-C", str(ROOT)]
        subprocess.run([*git, "worktree", "add", "--detach", str(checkout), rev], check=True)
        os.environ["DFS_BENCH_BASELINE"] = f"{rev}={checkout}"
        try:
            yield
        finally:
            del os.environ["DFS_BENCH_BASELINE"]
            subprocess.run([*git, "worktree", "remove", "--force", str(checkout)], check=False)


def run(args: argparse.Namespace, argv: list[str] | None) -> int:
    size = Size.QUICK if args.quick else Size.FULL
    command = "scripts/bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    started = datetime.now(UTC)
    sections: list[Section] = []
    for name in args.only or list(BENCHMARKS):
        print(f"== {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            section = BENCHMARKS[name](size)
        except Exception as exc:
            section = failed(name, exc)
            traceback.print_exc()
        section.seconds = time.perf_counter() - t0
        sections.append(section)
        print(render_text([section]), flush=True)
    info = machine()
    # A part of the suite never replaces the whole report unless asked to (--output).
    output = args.output or (None if args.only else ROOT / "benchmarks" / "RESULTS.md")
    if output is None:
        print("RESULTS.md left as is (--only; --output FILE writes these)", file=sys.stderr)
    elif not args.no_write:
        output.write_text(render_markdown(sections, info, command.strip(), started, size))
        print(f"wrote {output}", file=sys.stderr)
    return 0 if all(g.met is not False for s in sections for g in s.goals) else 1


if __name__ == "__main__":
    sys.exit(main())
