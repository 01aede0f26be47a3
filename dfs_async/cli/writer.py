"""Where a run's records and failures go: page by page, each page recorded in the checkpoint.

Records arrive as the stream delivers them: each page's records together, followed by its
`PageDone`. They are encoded straight into the output; at the page's `PageDone` the output
is flushed to the OS and one checkpoint line records the page (target, offset, the target's
total, the output's size after it), flushed to the OS too. So a crash, even `kill -9`, loses
at most the pages whose records were not yet followed by their checkpoint line: resume cuts
the output back to the last recorded size and asks only those pages again (checkpoint.py).
A target's end (done, or failed: its line in the errors file) is a checkpoint line as well.
A target that fails after some pages keeps their records in the output: nothing fetched is
lost, and a resume continues it from its next page when the failure was transient.

What reached the OS survives the process; `fsync` (surviving a power loss) is batched: the
output and then the checkpoint are fsynced at most every SYNC_SECONDS and when the run ends
or stops. A power loss can lose the pages of the last SYNC_SECONDS, which resume asks again
(checkpoint lines beyond what the output kept are ignored). Without a checkpoint (output on
stdout) a page's end is a flush.

The errors file is created at the first failure (LazyFile): a run without failures leaves
no empty errors file behind.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, Protocol

import msgspec

from dfs_async.cli.checkpoint import Checkpoint
from dfs_async.cli.outputs import Encoder

SYNC_SECONDS: Final = 1.0
EMPTY_SHOWN: Final = 5  # targets without items the summary names

_json = msgspec.json.Encoder()


def failure_row(
    target: str, status_code: int | None, status_message: str, attempts: int
) -> dict[str, Any]:
    """A line of the errors file (and of the checkpoint)."""
    return {
        "target": target,
        "status_code": status_code,
        "status_message": status_message,
        "attempts": attempts,
    }


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class LazyFile:
    """A file opened (created, or appended to with mode "ab") at its first write."""

    def __init__(self, path: Path, mode: str) -> None:
        self.path = path
        self._mode = mode
        self._file: IO[bytes] | None = None

    def write(self, data: bytes) -> int:
        if self._file is None:
            self._file = self.path.open(self._mode)
        return self._file.write(data)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class AuditWriter:
    """Writes records as they come and records each page, target end and failure."""

    def __init__(
        self,
        encoder: Encoder,
        output: BinaryIO,
        errors: Sink,
        checkpoint: Checkpoint | None,
        *,
        cap: int | None = None,
        before: dict[str, int] | None = None,
    ) -> None:
        self._encoder = encoder
        self._output = output
        self._errors = errors
        self._checkpoint = checkpoint
        self._last_sync = time.monotonic()
        self.items = 0  # items written this run
        self.ok = 0  # targets done this run
        self.failed = 0  # targets failed this run
        self.pages = 0  # pages written this run
        self.empty: list[str] = []  # targets done this run without an item (the first few)
        self.empty_count = 0
        # Unfinished targets that told their total: [items written, their total (at most
        # `cap`, the run's max_items)]; `before`: items written of them by resumed runs.
        self._open: dict[str, list[int]] = {}
        self._cap = cap
        self._before = before or {}

    def record(self, target: str, item: Any) -> None:
        self._output.write(self._encoder.encode(target, item))

    def page_done(
        self,
        target: str,
        offset: int,
        total_count: int | None,
        items: int,
        cost: float,
        cursor: tuple[int, str] | None = None,
    ) -> None:
        """The page's records are all written: flush them, then record the page."""
        self._output.flush()
        self.items += items
        self.pages += 1
        if total_count is not None:
            got = self._open.get(target)
            if got is None:
                got = self._open[target] = [self._before.get(target, 0), 0]
            got[0] += items
            got[1] = total_count if self._cap is None else min(total_count, self._cap)
        if offset == 0 and total_count == 0:
            self.empty_count += 1
            if len(self.empty) < EMPTY_SHOWN:
                self.empty.append(target)
        checkpoint = self._checkpoint
        if checkpoint is not None:
            checkpoint.page(target, offset, total_count, self._output.tell(), cost, cursor)
            self._maybe_sync()

    def done(self, target: str, cost: float) -> None:
        """Every page of `target` is written."""
        self.ok += 1
        self._open.pop(target, None)
        if self._checkpoint is not None:
            self._checkpoint.commit([target], [], self._output.tell(), cost)
            self._maybe_sync()

    def failed_target(self, row: dict[str, Any], cost: float) -> None:
        """`row["target"]` failed (the records of its pages so far stay): an errors line."""
        self.failed += 1
        self._open.pop(row["target"], None)
        if self._checkpoint is not None:
            self._output.flush()
            self._checkpoint.commit([], [row], self._output.tell(), cost)
        self._errors.write(_json.encode(row) + b"\n")
        self._errors.flush()

    def unfinished(self) -> tuple[float, int, int]:
        """Of the unfinished targets that told their total: the share of them written (in
        targets: 0.5 is half a target), the items they still lack, and how many they are."""
        share, missing = 0.0, 0
        for got, total in self._open.values():
            if total > 0:
                share += min(got / total, 1.0)
                missing += max(total - got, 0)
        return share, missing, len(self._open)

    def _maybe_sync(self) -> None:
        if time.monotonic() - self._last_sync >= SYNC_SECONDS:
            self.sync()

    def sync(self) -> None:
        """Flush everything; with a checkpoint, fsync the output, then the checkpoint."""
        self._output.flush()
        self._errors.flush()
        if self._checkpoint is not None:
            os.fsync(self._output.fileno())
            self._checkpoint.sync()
        self._last_sync = time.monotonic()
