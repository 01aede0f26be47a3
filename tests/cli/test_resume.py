"""Resume: runs killed with SIGKILL at several points end with exactly the uninterrupted records.

The emulator answers with some latency and the run is paced (--rate 1500, 25 requests a
second for some 130 requests) so that each kill lands mid-run: before the first
checkpoint line, after a few pages, and late in the run. The kill points are chosen by
watching the checkpoint grow, not by timing, so they do not depend on the machine's speed.

A kill between a page's records reaching the output and its checkpoint line leaves a tail
that resume must cut. That window is now a few microseconds wide (a flush, then one line),
too narrow to hit by watching; when the second kill missed it, the test leaves such a tail
itself (the first half of a record, as a write cut short would), and the resume must cut it.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dfs_async.cli.checkpoint import finished
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig
from dfs_async.emulator.pytest_plugin import EmulatorFactory

from .helpers import (
    cli_env,
    csv_records,
    expected_records,
    jsonl_records,
    parquet_records,
    run_cli,
    start_cli,
    write_targets,
)

CMD = "domain-pages-summary"
SIZES = {f"shop{i}.example.com": 150 + 60 * (i % 5) for i in range(40)}
TARGETS = [*SIZES, "not a target"]
READERS = {"jsonl": jsonl_records, "csv": csv_records, "parquet": parquet_records}


def _config() -> EmulatorConfig:
    latency = FaultConfig(seed=5, latency_min=0.03, latency_max=0.12, task_50401=0.05)
    return EmulatorConfig(seed=21, max_pages=300, target_sizes=SIZES, faults=latency)


def _commits(checkpoint: Path) -> int:
    """Complete commit lines in the checkpoint (its header not counted)."""
    try:
        return max(0, checkpoint.read_bytes().count(b"\n") - 1)
    except FileNotFoundError:
        return -1


def _run_killed(
    args: list[str | Path], emu: EmulatorHandle, ready: Callable[[], bool], cwd: Path
) -> None:
    proc = start_cli(*args, env=cli_env(emu), cwd=cwd)
    deadline = time.monotonic() + 60
    while not ready() and proc.poll() is None:
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.005)
    assert proc.poll() is None, f"the run ended before its kill point: {proc.stderr}"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_killed_runs_resume_to_exactly_the_records(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory, fmt: str
) -> None:
    config = _config()
    emu = dfs_emulator_factory(config)
    targets = write_targets(tmp_path / "targets.txt", TARGETS)
    out = tmp_path / f"pages.{fmt}"
    records = out if fmt != "parquet" else tmp_path / "pages.parquet.partial.jsonl"
    checkpoint = tmp_path / f"pages.{fmt}.checkpoint"
    args: list[str | Path] = [
        CMD, targets, "--base-url", emu.base_url, "-o", out, "--limit", "100",
        "--concurrency", "4", "--rate", "1500", "--quiet", "--resume",
    ]  # fmt: skip

    # 1. killed as soon as the run has started (the checkpoint may not even exist yet)
    _run_killed(args, emu, lambda: emu.app.counters.requests >= 1, tmp_path)
    # 2. killed after a few more pages; then the output has an unrecorded tail
    start = max(_commits(checkpoint), 0)
    _run_killed(args, emu, lambda: _commits(checkpoint) >= start + 3, tmp_path)
    recorded = json.loads(checkpoint.read_bytes().split(b"\n")[-2])["out"]  # last whole line
    if records.stat().st_size <= recorded:
        with records.open("ab") as f:  # what a kill amid a page's records leaves
            f.write(b'{"target":"shop0.example.com","url":"https://sh')
    tail = records.stat().st_size - recorded
    # 3. killed again later on
    later = _commits(checkpoint) + 2
    _run_killed(args, emu, lambda: _commits(checkpoint) >= later, tmp_path)

    # the resumed run completes
    result = run_cli(*args, env=cli_env(emu), cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # "not a target" failed
    valid = [t for t in TARGETS if t != "not a target"]
    assert READERS[fmt](out) == expected_records(config, valid)
    errors_file = tmp_path / f"pages.{fmt}.errors.jsonl"
    errors = [json.loads(line) for line in errors_file.read_text().splitlines()]
    assert [e["target"] for e in errors] == ["not a target"]
    assert not (tmp_path / "pages.parquet.partial.jsonl").exists()
    assert tail > 0  # there was a tail to cut, and the records above are exact
    # The checkpoint now says the job is complete: the same command (with its --resume, as
    # a scheduler passes it) sends nothing more and pays nothing more.
    assert finished(checkpoint) is not None
    kept, sent = out.read_bytes(), emu.app.counters.requests
    again = run_cli(*args, env=cli_env(emu), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "is complete (40 ok, 1 failed;" in again.stderr and "nothing sent" in again.stderr
    assert out.read_bytes() == kept and emu.app.counters.requests == sent


def test_a_checkpoint_of_another_run_is_refused(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory
) -> None:
    emu = dfs_emulator_factory(_config())
    targets = write_targets(tmp_path / "targets.txt", TARGETS)
    out = tmp_path / "pages.jsonl"
    args: list[str | Path] = [CMD, targets, "--base-url", emu.base_url, "-o", out, "--quiet"]
    checkpoint = tmp_path / "pages.jsonl.checkpoint"
    _run_killed([*args, "--limit", "100"], emu, lambda: _commits(checkpoint) >= 1, tmp_path)
    before = out.read_bytes()

    other_limit = run_cli(*args, "--limit", "50", "--resume", env=cli_env(emu))
    assert other_limit.returncode == 2
    assert "other parameters" in other_limit.stderr and "Traceback" not in other_limit.stderr
    write_targets(tmp_path / "more.txt", [*TARGETS, "extra.example.com"])
    more = [CMD, tmp_path / "more.txt", "--base-url", emu.base_url, "-o", out, "--limit", "100"]
    other_targets = run_cli(*more, "--resume", env=cli_env(emu))
    assert other_targets.returncode == 2
    assert "other targets" in other_targets.stderr
    assert out.read_bytes() == before  # refused before touching anything

    # the same targets in another order, with a different concurrency: the same run
    write_targets(tmp_path / "shuffled.txt", TARGETS[::-1])
    same = [CMD, tmp_path / "shuffled.txt", "--base-url", emu.base_url, "-o", out]
    done = run_cli(*same, "--limit", "100", "--concurrency", "3", "--resume", env=cli_env(emu))
    assert done.returncode == 1, done.stderr
    assert "resuming:" in done.stderr
    valid = [t for t in TARGETS if t != "not a target"]
    assert jsonl_records(out) == expected_records(_config(), valid)
