"""Helpers of the CLI tests: run `dfs-async` as a subprocess, and what its output should hold.

The CLI runs as `python -m dfs_async` (the interpreter of this venv) so the tests work in any
venv. The emulator runs in this process (a thread serving a loopback socket) or inside the
CLI (`--emulator`); either way the CLI talks to it over a real socket. Expected records come
from the emulator's corpus (`corpus.query`), which is deterministic per config, so a second
`Emulator` with the same config tells what a `--emulator` run must have written.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from dfs_async.cli.outputs import columns
from dfs_async.emulator import Emulator, EmulatorConfig, EmulatorHandle
from dfs_async.models import DomainPageSummary, format_api_datetime
from dfs_async.targets import normalize_target

COLUMNS = columns(DomainPageSummary).names
DATETIME_FIELDS = columns(DomainPageSummary).datetimes
MAP_FIELDS = columns(DomainPageSummary).maps

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "dfs_async"]


def cli_env(emu: EmulatorHandle | None = None, **extra: str) -> dict[str, str]:
    """The environment of a CLI run: no inherited DataForSEO settings, an emulator's account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFORSEO_")}
    if emu is not None:
        env["DATAFORSEO_LOGIN"], env["DATAFORSEO_PASSWORD"] = emu.login, emu.password
    env.update(extra)
    return env


def run_cli(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)],
        env=dict(env) if env is not None else cli_env(),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(
    *args: str | Path, env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *map(str, args)],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True)


def expected_records(config: EmulatorConfig, targets: Iterable[str], **fields: Any) -> list[str]:
    """Every record the corpus holds for `targets` (as written), canonical JSON, sorted."""
    corpus = Emulator(config).corpus
    out = []
    for raw in targets:
        target = normalize_target(raw)
        _, items = corpus.query({"target": target, **fields})
        out += [canonical({"target": target, **msgspec.to_builtins(item)}) for item in items]
    return sorted(out)


def page_records(
    config: EmulatorConfig, targets: Iterable[str], limit: int, **fields: Any
) -> dict[tuple[str, int], list[str]]:
    """The corpus's records of `targets` by page (target, offset) at `limit`, canonical."""
    corpus = Emulator(config).corpus
    pages: dict[tuple[str, int], list[str]] = {}
    for raw in targets:
        target = normalize_target(raw)
        _, items = corpus.query({"target": target, **fields})
        rows = [canonical({"target": target, **msgspec.to_builtins(item)}) for item in items]
        for offset in range(0, len(rows), limit):
            pages[(target, offset)] = rows[offset : offset + limit]
    return pages


def whole_pages(written: list[str], config: EmulatorConfig, limit: int) -> set[tuple[str, int]]:
    """The pages `written` (sorted records) is made of; fails unless it is whole pages only,
    each exactly once (what a stopped or killed run leaves: page by page, nothing twice)."""
    targets = {json.loads(r)["target"] for r in written}
    pages = page_records(config, targets, limit)
    present = set(written)
    kept = {key for key, rows in pages.items() if rows[0] in present}
    assert written == sorted(r for key in kept for r in pages[key])
    return kept


def jsonl_records(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert all(list(r)[:1] == ["target"] and tuple(r) == COLUMNS for r in records)
    return sorted(canonical(r) for r in records)


def csv_records(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == COLUMNS
    kinds = _kinds()
    out = []
    for row in rows[1:]:
        record = {name: _cell(cell, kinds[name]) for name, cell in zip(COLUMNS, row, strict=True)}
        out.append(canonical(record))
    return sorted(out)


def parquet_records(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    assert tuple(table.column_names) == COLUMNS
    out = []
    for row in table.to_pylist():
        for name in MAP_FIELDS:
            if row[name] is not None:
                row[name] = dict(row[name])
        for name in DATETIME_FIELDS:  # timestamps: back to the API's text to compare
            if row[name] is not None:
                row[name] = format_api_datetime(row[name])
        out.append(canonical(row))
    return sorted(out)


def _kinds() -> dict[str, str]:
    return {"target": "str", **columns(DomainPageSummary).kinds}


def _cell(cell: str, kind: str) -> Any:
    if cell == "":  # CSV has no null: an empty cell is one (no field holds "" in the corpus)
        return None
    if kind == "map":
        return json.loads(cell)
    if kind == "int":
        return int(cell)
    return cell


def write_targets(path: Path, targets: Sequence[str]) -> Path:
    path.write_text("".join(f"{t}\n" for t in targets), encoding="utf-8")
    return path
