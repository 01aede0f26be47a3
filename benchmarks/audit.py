"""The audit end to end: `dfs-async audit` of N domains against the emulator in its own process.

- **ours**: the command as a user runs it (`dfs-async audit domains.txt -o audit.csv`, the
  six bulk endpoints; and `--with summary`, a request a domain more), in its own process:
  wall time, requests, and the process's CPU (interpreter, imports, the run, the checkpoint,
  the table: what a user's machine spends);
- **floor**: the same requests through the library's streams alone, one endpoint after
  another in one process, the records counted (no join, no checkpoint, no table): what any
  audit must at least do;
- with `--baseline REV`: the command as it was at REV, beside (`... (before)`).

The emulator answers at once and paces nothing (its per-minute limit far above the load),
so the figures are the client's and the server's work, not an account's pace.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Final

from benchmarks.emulator_process import LOGIN, PASSWORD
from benchmarks.harness import (
    ROOT,
    Goal,
    Metric,
    Row,
    Section,
    Size,
    baseline_checkout,
    emit,
    server_process,
    timed,
)

FLOOR: Final = "floor: the library's streams"
OURS: Final = "ours"


def domains(n: int) -> list[str]:
    return [f"shop{i}.example.net" for i in range(n)]


def run(size: Size) -> Section:
    n = size.pick(500, 2000, 10_000)
    repeats = size.pick(1, 1, 3)
    section = Section(
        key="audit",
        title="The audit as one job: end to end",
        what=(
            f"`dfs-async audit` of {n:,} domains (the six bulk endpoints; and with the summary,"
            " a request a domain) against the emulator in its own process, answering at once,"
            " its domains of at most 20 pages (a summary builds its target's links: big ones"
            " would measure the emulator);"
            f" the process's wall and CPU (interpreter and imports included); best of {repeats}."
        ),
        baseline=f"bulk {FLOOR}",  # or, with --baseline REV, the command at REV
        metrics=[
            Metric("wall", "wall", "s", False),
            Metric("cpu", "client CPU", "s", False),
            Metric("requests", "requests", "", False),
        ],
    )
    before = baseline_checkout()
    variants: dict[str, tuple[str, Path]] = {OURS: ("ours", ROOT)}
    if before is not None:
        variants[f"ours at {before[0]} (before)"] = ("ours", before[1])
        section.baseline = f"bulk ours at {before[0]} (before)"
    results: dict[str, list[dict[str, float]]] = {}
    spec = json.dumps({"rate_limit": 10**7, "max_pages": 20, "accounts": {LOGIN: PASSWORD}})
    env = {**os.environ, "DATAFORSEO_LOGIN": LOGIN, "DATAFORSEO_PASSWORD": PASSWORD}
    with tempfile.TemporaryDirectory(prefix="dfs-bench-audit-") as tmp:
        work = Path(tmp)
        (work / "domains.txt").write_text("".join(f"{d}\n" for d in domains(n)))
        with server_process(["-m", "benchmarks.emulator_process", spec]) as server:
            for round_ in range(repeats):
                for what, extra in (("bulk", []), ("with summary", ["--with", "summary"])):
                    names = list(variants)
                    for who in names if round_ % 2 == 0 else reversed(names):
                        _, checkout = variants[who]
                        out = work / f"audit-{round_}-{len(results)}.csv"
                        argv = ["-m", "dfs_async", "audit", str(work / "domains.txt"), "-o",
                                str(out), "--base-url", server.url, "--quiet", *extra]  # fmt: skip
                        wall, cpu, _ = timed(argv, checkout, env)
                        rows = out.read_bytes().count(b"\n") - 1  # the header
                        assert rows == n, f"{who}: {rows} rows of {n}"
                        results.setdefault(f"{what} {who}", []).append({"wall": wall, "cpu": cpu})
                    floor = ["-m", "benchmarks.audit", "--url", server.url, "--n", str(n), *extra]
                    wall, cpu, out_text = timed(floor, ROOT, env)
                    requests = json.loads(out_text.strip().splitlines()[-1])["requests"]
                    results.setdefault(f"{what} {FLOOR}", []).append(
                        {"wall": wall, "cpu": cpu, "requests": requests}
                    )
    expected = {"bulk": 6 * -(-n // 1000), "with summary": 6 * -(-n // 1000) + n}
    for name, runs in results.items():
        what = "with summary" if name.startswith("with summary") else "bulk"
        section.rows.append(
            Row(
                name,
                {
                    "wall": min(r["wall"] for r in runs),
                    "cpu": min(r["cpu"] for r in runs),
                    "requests": runs[0].get("requests", expected[what]),
                },
            )
        )
    section.goals = goals(section)
    section.notes.append(
        "Requests of `ours` are what the plan sends (the floor counts its own: the same);"
        " every run's table is checked to hold a row a domain."
    )
    return section


def goals(section: Section) -> list[Goal]:
    values = {row.name: row.values for row in section.rows}
    found = []
    for what in ("bulk", "with summary"):
        ours, floor = values[f"{what} {OURS}"], values[f"{what} {FLOOR}"]
        ratio = ours["cpu"] / floor["cpu"]
        found.append(
            Goal(
                f"{what}: the command's CPU ≤ 2x the floor's (imports, checkpoint, join, table)",
                f"{ratio:.2f}x",
                ratio <= 2.0,
                "" if ratio <= 2.0 else "the audit's own work per domain",
            )
        )
        for name, before in values.items():
            if not (name.startswith(what + " ") and name.endswith("(before)")):
                continue
            was = name.removeprefix(what + " ")
            for key, label in (("wall", "wall"), ("cpu", "CPU")):
                ratio = ours[key] / before[key]
                found.append(
                    Goal(
                        f"{what}: {label} ≤ 1.0x {was}'s (one job, the endpoints at once)",
                        f"{ratio:.2f}x",
                        ratio <= 1.0,
                        "" if ratio <= 1.0 else "the audit's own work per domain",
                    )
                )
    return found


# -- the floor, in its own process: `python -m benchmarks.audit --url URL --n N` -------------


async def floor(url: str, n: int, summary: bool) -> dict[str, Any]:
    from dfs_async import DataForSEO
    from dfs_async.audit import PARTS

    names = domains(n)
    records = 0
    async with DataForSEO(LOGIN, PASSWORD, base_url=url, rate=None) as dfs:
        for part in (*PARTS, *(("summary",) if summary else ())):
            async with getattr(dfs.backlinks, part).stream(names) as stream:
                async for _ in stream:
                    records += 1
        return {"records": records, "requests": dfs.stats.requests}


def main() -> None:
    import argparse

    import anyio

    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--with", dest="with_", action="append", default=[])
    args = parser.parse_args()
    emit(anyio.run(floor, args.url, args.n, "summary" in args.with_))


if __name__ == "__main__":
    main()
