"""Crash and resume: one audit killed with SIGKILL at three random moments, resumed each time.

The kills land after a random number of requests of each run (drawn from a seeded generator,
so a failure can be replayed), not at chosen checkpoints (tests/cli/test_resume.py kills at
chosen points of the checkpoint's life and checks every output format). The emulator adds
latency but no faults, so an uninterrupted run's request count is exact: every request
beyond it is a page requested twice, and the test accounts for each of them.
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli.helpers import cli_env, run_cli, start_cli, write_targets

from dfs_async.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorHandle,
    FaultConfig,
    serving_emulator,
)

CMD = "domain-pages-summary"
LIMIT = 100
CONCURRENCY = 4
KILLS = 3
SEED = 20261129
SIZES = {f"crash{i}.example.com": 150 + 60 * (i % 5) for i in range(40)}
CONFIG = EmulatorConfig(
    seed=21,
    max_pages=400,
    target_sizes=SIZES,
    faults=FaultConfig(seed=5, latency_min=0.03, latency_max=0.12),
)


def _pages() -> dict[str, int]:
    """Each target's pages at LIMIT (its live items, the default of backlinks_status_type)."""
    corpus = Emulator(CONFIG).corpus
    return {t: max(1, -(-corpus.query({"target": t})[0] // LIMIT)) for t in SIZES}


PAGES = _pages()


@dataclass
class Audit:
    """What the killed-and-resumed audit did, for the tests below to judge."""

    uninterrupted_requests: int
    uninterrupted: list[bytes]
    resumed: list[bytes]
    exit_code: int
    stderr: str
    kills: list[dict[str, int]] = field(default_factory=list)
    total_requests: int = 0


def _committed(checkpoint: Path) -> set[tuple[str, int]]:
    """Pages (target, offset) the checkpoint records as written (a cut-short line ignored)."""
    if not checkpoint.exists():
        return set()
    done: set[tuple[str, int]] = set()
    for line in checkpoint.read_bytes().split(b"\n")[1:-1]:
        try:
            page = json.loads(line).get("page")
        except ValueError:
            break
        if page is not None:
            done.add((page[0], page[1]))
    return done


def _settle(emu: EmulatorHandle) -> None:
    deadline = time.monotonic() + 10
    while emu.app.counters.simultaneous:
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audit]:
    tmp = tmp_path_factory.mktemp("crash")
    targets = write_targets(tmp / "targets.txt", list(SIZES))
    with serving_emulator(CONFIG) as emu:
        env = cli_env(emu)
        args: list[str | Path] = [
            CMD, targets, "--base-url", emu.base_url, "--limit", str(LIMIT),
            "--concurrency", str(CONCURRENCY), "--rate", "3000", "--quiet",
        ]  # fmt: skip
        full = run_cli(*args, "-o", tmp / "full.jsonl", env=env)
        assert full.returncode == 0, full.stderr
        baseline = emu.app.counters.requests
        emu.app.reset_counters()

        out, checkpoint = tmp / "out.jsonl", tmp / "out.jsonl.checkpoint"
        rnd = random.Random(SEED)
        kills: list[dict[str, int]] = []
        for _ in range(KILLS):
            before = emu.app.counters.requests
            committed_before = _committed(checkpoint)
            at = rnd.randint(10, 25)
            proc = start_cli(*args, "-o", out, "--resume", env=env)
            while emu.app.counters.requests - before < at:
                assert proc.poll() is None, "the run ended before its kill"
                time.sleep(0.002)
            in_flight = emu.app.counters.simultaneous
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            assert proc.returncode == -signal.SIGKILL
            _settle(emu)
            newly = _committed(checkpoint) - committed_before
            kills.append(
                {
                    "requests": emu.app.counters.requests - before,
                    "in_flight": in_flight,
                    "committed_pages": len(newly),
                }
            )
        final = run_cli(*args, "-o", out, "--resume", env=env)
        yield Audit(
            uninterrupted_requests=baseline,
            uninterrupted=sorted((tmp / "full.jsonl").read_bytes().splitlines()),
            resumed=sorted(out.read_bytes().splitlines()),
            exit_code=final.returncode,
            stderr=final.stderr,
            kills=kills,
            total_requests=emu.app.counters.requests,
        )


def test_the_resumed_output_equals_an_uninterrupted_run_record_for_record(audit: Audit) -> None:
    assert audit.exit_code == 0, audit.stderr
    items = sum(len(Emulator(CONFIG).corpus.query({"target": t})[1]) for t in SIZES)
    assert len(audit.uninterrupted) == items
    assert audit.resumed == audit.uninterrupted  # byte for byte, each record once


def test_pages_requested_twice_are_exactly_the_pages_a_kill_left_unrecorded(audit: Audit) -> None:
    """What the checkpoint design promises: a kill loses only the pages it did not record
    (sent, or answered but not yet written and recorded), never a recorded one, and the
    resumed runs request nothing else twice."""
    assert audit.uninterrupted_requests == sum(PAGES.values())
    twice = audit.total_requests - audit.uninterrupted_requests
    lost = [k["requests"] - k["committed_pages"] for k in audit.kills]
    assert all(n >= 0 for n in lost)
    assert twice == sum(lost), audit.kills


def test_pages_requested_twice_are_at_most_the_requests_in_flight_at_each_kill(
    audit: Audit,
) -> None:
    """The issue's stricter bound: at most `concurrency` pages per kill."""
    twice = audit.total_requests - audit.uninterrupted_requests
    assert twice <= KILLS * CONCURRENCY, audit.kills
