"""`dfs-async audit`: 10,000 domains to one joined table, through the real command against the
emulator over a socket; the same after `kill -9` and `--resume`."""

from __future__ import annotations

import csv
import io
import signal
import time
from pathlib import Path

import pytest

from dfs_async.cli.audit import PARTS, columns
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, serving_emulator
from dfs_async.endpoints import BY_NAME

from .helpers import cli_env, run_cli, start_cli, write_targets

DOMAINS = [f"shop{i}.example.net" for i in range(10_000)]
CONFIG = EmulatorConfig(seed=13)


def expected_rows(emu: EmulatorHandle, domains: list[str]) -> dict[str, dict[str, str]]:
    """Each domain's row as the corpus answers each bulk endpoint, as CSV text."""
    rows: dict[str, dict[str, str]] = {d: {"target": d} for d in domains}
    for column, (name, field) in columns(list(PARTS)).items():
        result, _ = emu.app.corpus.answer_task(name, {"targets": domains})
        for item in result.items:
            value = getattr(item, field)
            rows[item.target][column] = "" if value is None else str(value)
    return rows


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    return {row["target"]: row for row in csv.DictReader(io.StringIO(path.read_text()))}


def per_endpoint(emu: EmulatorHandle) -> dict[str, int]:
    return {name: emu.app.counters.by_path.get(BY_NAME[name].path, 0) for name in PARTS}


@pytest.fixture(scope="module")
def served() -> EmulatorHandle:
    with serving_emulator(CONFIG) as emu:
        yield emu  # type: ignore[misc]


def test_ten_thousand_domains_take_ten_requests_a_bulk_endpoint(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "domains.txt", DOMAINS)
    out = tmp_path / "audit.csv"
    served.app.reset_counters()
    result = run_cli("audit", targets, "-o", out, "--base-url", served.base_url, "--quiet",
                     env=cli_env(served), timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert per_endpoint(served) == dict.fromkeys(PARTS, 10)
    got = read_csv(out)
    assert list(got) == DOMAINS  # one row a domain, in the file's order
    assert got == expected_rows(served, DOMAINS)
    assert not (tmp_path / "audit.csv.parts").exists()
    assert not (tmp_path / "audit.csv.errors.jsonl").exists()


def test_killed_and_resumed_the_table_is_the_same(served: EmulatorHandle, tmp_path: Path) -> None:
    targets = write_targets(tmp_path / "domains.txt", DOMAINS)
    args = ["audit", targets, "--base-url", served.base_url, "--quiet", "--concurrency", "2"]
    env = cli_env(served)
    whole = run_cli(*args, "-o", tmp_path / "whole.csv", env=env, timeout=300)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "out.csv"
    served.app.reset_counters()
    proc = start_cli(*args, "-o", out, env=env)
    deadline = time.monotonic() + 120
    while served.app.counters.requests < 25:  # killed in the third endpoint's run
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    refused = run_cli(*args, "-o", out, env=env)
    assert refused.returncode == 2 and "--resume" in refused.stderr  # nothing thrown away
    resumed = run_cli(*args, "-o", out, "--resume", env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    # a kill costs at most the packs in flight (2 at once) again
    assert sum(per_endpoint(served).values()) <= 60 + 2


def test_a_failed_endpoint_leaves_its_columns_empty_and_its_failure_listed(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "domains.txt", ["good.com", "not a domain", "fine.org"])
    out = tmp_path / "audit.jsonl"
    result = run_cli("audit", targets, "-o", out, "--base-url", served.base_url, "--quiet",
                     env=cli_env(served))  # fmt: skip
    assert result.returncode == 1, result.stderr
    rows = out.read_text().splitlines()
    assert len(rows) == 3 and '"target":"not a domain"' in rows[2] and '"rank":null' in rows[2]
    errors = (tmp_path / "audit.jsonl.errors.jsonl").read_text().splitlines()
    assert len(errors) == len(PARTS) and all('"endpoint":"bulk_' in line for line in errors)


def test_the_dry_run_says_what_each_endpoint_costs_and_sends_nothing(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "domains.txt", DOMAINS[:2500])
    served.app.reset_counters()
    result = run_cli("audit", targets, "-o", tmp_path / "a.csv", "--with", "summary",
                     "--base-url", served.base_url, "--dry-run", env=cli_env(served))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("requests: 3, each POST") == len(PARTS)
    assert "first-page requests: 2500" in result.stdout  # summary: one request a domain
    assert served.app.counters.requests == 0
    assert not (tmp_path / "a.csv.parts").exists()
