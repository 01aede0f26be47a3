"""The family's subcommands through the real command against the emulator over a socket:
a `backlinks` cursor chain killed with `kill -9` mid-chain and resumed, a bulk endpoint, an
unpaged one and a utility."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig, serving_emulator
from dfs_async.endpoints import BY_NAME, ENDPOINTS
from dfs_async.plan import Bulk, Single

from .helpers import cli_env, run_cli, start_cli, write_targets

CONFIG = EmulatorConfig(seed=17, faults=FaultConfig(seed=2, latency_min=0.02, latency_max=0.05))
BIG = "bigsite.com"


@pytest.fixture(scope="module")
def served() -> Iterator[EmulatorHandle]:
    with serving_emulator(CONFIG) as emu:
        yield emu


def lines(path: Path) -> list[str]:
    return sorted(path.read_text().splitlines())


def test_a_cursor_chain_killed_mid_way_resumes_writing_nothing_twice(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    args = ["backlinks", "--target", BIG, "--base-url", served.base_url, "--quiet"]
    env = cli_env(served)
    whole = run_cli(*args, "-o", tmp_path / "whole.jsonl", env=env, timeout=300)
    assert whole.returncode == 0, whole.stderr
    expected = lines(tmp_path / "whole.jsonl")
    total, _ = served.app.corpus.answer_task("backlinks", {"target": BIG, "limit": 1})
    assert len(expected) == total.total_count > 45_000
    out = tmp_path / "out.jsonl"
    served.app.reset_counters()
    proc = start_cli(*args, "-o", out, env=env)
    deadline = time.monotonic() + 120
    while served.app.counters.requests < 30:  # 21 offset pages, then into the chain
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    checkpoint = (tmp_path / "out.jsonl.checkpoint").read_text()
    assert '"page":["bigsite.com",2' in checkpoint  # chain pages (offsets past 20,000) recorded
    resumed = run_cli(*args, "-o", out, "--resume", env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert lines(out) == expected  # every backlink once
    assert served.app.counters.by_status.get(40501, 0) == 0  # no offset above 20,000 sent
    # the resumed run continued the chain from its recorded token: no walk from the start
    assert served.app.counters.requests < 2 * 53


def test_a_bulk_subcommand_writes_a_row_a_target(served: EmulatorHandle, tmp_path: Path) -> None:
    targets = write_targets(tmp_path / "t.txt", [f"d{i}.com" for i in range(2500)] + ["x.invalid"])
    served.app.reset_counters()
    out = tmp_path / "ranks.csv"
    result = run_cli("bulk-ranks", targets, "--base-url", served.base_url, "-o", out, "--quiet",
                     env=cli_env(served))  # fmt: skip
    assert result.returncode == 1, result.stderr  # x.invalid: refused by the server
    rows = out.read_text().splitlines()
    assert rows[0] == "target,rank" and len(rows) == 1 + 2500
    errors = [json.loads(x) for x in (tmp_path / "ranks.csv.errors.jsonl").read_text().splitlines()]
    assert [(e["target"], e["status_code"]) for e in errors] == [("x.invalid", 40501)]


def test_summary_and_a_utility(served: EmulatorHandle, tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    result = run_cli("summary", "--target", "forbes.com", "--base-url", served.base_url,
                     "-o", out, "--quiet", env=cli_env(served))  # fmt: skip
    assert result.returncode == 0, result.stderr
    (row,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert row["target"] == "forbes.com" and row["backlinks"] > 0
    index = run_cli("index", "--base-url", served.base_url, env=cli_env(served))
    assert index.returncode == 0, index.stderr
    assert json.loads(index.stdout)[0]["total_backlinks"] > 0
    bad = run_cli("history", "--target", "forbes.com", "--date-from", "2018-01-01",
                  "--base-url", served.base_url, env=cli_env(served))  # fmt: skip
    assert bad.returncode == 2 and "--date-from" in bad.stderr and "2019-01-01" in bad.stderr


@pytest.mark.parametrize("name", [e.name for e in ENDPOINTS])
def test_every_subcommand_writes_the_corpus_records(
    served: EmulatorHandle, tmp_path: Path, name: str
) -> None:
    """Each endpoint's subcommand, one unit of work, a JSONL row per record of its answer."""
    spec = BY_NAME[name]
    query = "targets" in spec.stand_in and not isinstance(spec.paging, Bulk)  # an intersection
    unit = "alpha.com,beta.org" if query else "alpha.com"
    out = tmp_path / "out.jsonl"
    result = run_cli(spec.name.replace("_", "-"), "--target", unit, "--base-url", served.base_url,
                     "-o", out, "--quiet", env=cli_env(served))  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    key, task = spec.unit(unit)
    if spec.paging.max_limit:
        task["limit"] = 10**6
    answer, _ = served.app.corpus.answer_task(name, task)
    expected = 1 if type(spec.paging) is Single else len(answer.items or ())
    assert len(rows) == expected and all(row["target"] == key for row in rows)
