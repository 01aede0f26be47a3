"""The checkpoint: what it says is done, after clean commits and after a crash mid-line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfs_async.cli.checkpoint import Checkpoint, CheckpointMismatch
from dfs_async.cli.writer import failure_row

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
