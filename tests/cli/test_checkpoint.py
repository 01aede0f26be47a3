"""The checkpoint: what it says is done, after clean commits and after a crash mid-line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfs_async.cli.checkpoint import Checkpoint, CheckpointMismatch
from dfs_async.cli.writer import failure_row
from dfs_async.records import PageProgress

HEADER = {"command": "domain-pages-summary", "targets": "t1", "params": "p1"}


def test_commits_are_read_back_and_a_cut_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "out.checkpoint"
    cp = Checkpoint.create(path, HEADER, output_size=10)
    cp.commit(["a.com", "b.com"], [], output_size=100, cost=0.04)
    cp.commit(["c.com"], [failure_row("d.com", 50000, "Internal Error.", 5)], 150, 0.1)
    cp.commit(["d.com"], [failure_row("e.com", 40501, "Invalid Field", 1)], 180, 0.2)
    cp.close()
    sound_size = path.stat().st_size
    with path.open("ab") as f:  # a commit cut short by kill -9
        f.write(b'{"out": 999, "cost": 1.0, "ok": ["f.co')

    progress, sound = Checkpoint.load(path, HEADER)
    assert sound == sound_size
    assert progress.output_size == 180 and progress.cost == pytest.approx(0.2)
    # d.com failed transiently, then succeeded: done. e.com's request error is final.
    assert progress.done == {"a.com", "b.com", "c.com", "d.com", "e.com"}
    assert [f["target"] for f in progress.final_failures] == ["e.com"]

    cp = Checkpoint.reopen(path, sound)
    cp.commit(["g.com"], [], 200, 0.3)
    cp.close()
    progress, _ = Checkpoint.load(path, HEADER)
    assert "g.com" in progress.done and "f.co" not in str(progress.done)
    assert progress.output_size == 200


def test_transient_failures_are_retried(tmp_path: Path) -> None:
    path = tmp_path / "out.checkpoint"
    cp = Checkpoint.create(path, HEADER, output_size=0)
    cp.commit([], [failure_row("a.com", None, "network error", 5)], 0, 0.0)
    cp.commit([], [failure_row("b.com", 50401, "Timeout.", 5)], 0, 0.0)
    cp.close()
    progress, _ = Checkpoint.load(path, HEADER)
    assert progress.retried == ["a.com", "b.com"]
    assert progress.done == set()


@pytest.mark.parametrize("key", ["targets", "params", "command"])
def test_another_runs_checkpoint_is_refused(tmp_path: Path, key: str) -> None:
    path = tmp_path / "out.checkpoint"
    Checkpoint.create(path, HEADER, output_size=0).close()
    with pytest.raises(CheckpointMismatch, match="other"):
        Checkpoint.load(path, {**HEADER, key: "changed"})


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "out.checkpoint"
    path.write_text("hello\n")
    with pytest.raises(CheckpointMismatch, match="not a dfs-async checkpoint"):
        Checkpoint.load(path, HEADER)


def test_pages_are_recorded_and_continue_unfinished_targets(tmp_path: Path) -> None:
    path = tmp_path / "out.checkpoint"
    cp = Checkpoint.create(path, HEADER, output_size=0)
    cp.page("a.com", 0, 250, 100, 0.02)
    cp.page("b.com", 0, 90, 150, 0.04)
    cp.page("a.com", 200, 260, 190, 0.06)
    cp.commit(["b.com"], [], 190, 0.06)
    cp.page("c.com", 0, 500, 230, 0.08)
    cp.commit([], [failure_row("c.com", 50401, "Timeout.", 5)], 230, 0.1)
    cp.page("d.com", 0, 10, 260, 0.12)  # its records did not all reach the disk
    cp.close()
    progress, sound = Checkpoint.load(path, HEADER)
    assert progress.output_size == 260 and progress.done == {"b.com"}
    assert progress.page_progress("a.com") == PageProgress(frozenset({0, 200}), 260)
    assert progress.page_progress("b.com") is None  # done: nothing to continue
    assert progress.page_progress("c.com") == PageProgress(frozenset({0}), 500)  # transient
    assert progress.partly_done == 3

    progress, cut = Checkpoint.load(path, HEADER, available=259)  # the output is shorter
    assert progress.output_size == 230 and progress.page_progress("d.com") is None
    assert cut < sound
