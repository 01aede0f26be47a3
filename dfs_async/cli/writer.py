"""Where a run's records and failures go: whole targets at a time, committed to a checkpoint.

Records arrive interleaved across the targets in flight. Each target's records are encoded
into its own buffer (in memory, spilled to a temporary file past SPILL_BYTES, so one huge
target does not fill memory) and written to the output only when the target is done; a
target that fails writes no records, only its line in the errors file. So the output is made
of whole targets, which is what lets checkpoint.py cut it back to a sound point after a crash.

Commits (see checkpoint.py) happen at most every COMMIT_SECONDS, when the pending output
passes COMMIT_BYTES, and when the run ends or stops. Without a checkpoint (output on stdout)
a commit is a flush.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import IO, Any, BinaryIO, Final

import msgspec

from dfs_async.cli.checkpoint import Checkpoint
from dfs_async.cli.outputs import Encoder

SPILL_BYTES: Final = 8 * 1024 * 1024
COMMIT_SECONDS: Final = 1.0
COMMIT_BYTES: Final = 64 * 1024 * 1024

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


class AuditWriter:
    """Buffers each target's records until it is done, then writes and commits them."""

    def __init__(
        self,
        encoder: Encoder,
        output: BinaryIO,
        errors: IO[bytes],
        checkpoint: Checkpoint | None,
    ) -> None:
        self._encoder = encoder
        self._output = output
        self._errors = errors
        self._checkpoint = checkpoint
        self._buffers: dict[str, tempfile.SpooledTemporaryFile[bytes]] = {}
        self._ok: list[str] = []
        self._failed: list[dict[str, Any]] = []
        self._pending_bytes = 0
        self._last_commit = time.monotonic()
        self.items = 0  # items written this run
        self.ok = 0  # targets written this run
        self.failed = 0  # targets failed this run

    def record(self, target: str, item: Any) -> None:
        buffer = self._buffers.get(target)
        if buffer is None:
            # Closed in done(), failed_target() or close(): it lives as long as its target.
            buffer = tempfile.SpooledTemporaryFile(SPILL_BYTES)  # noqa: SIM115
            self._buffers[target] = buffer
        buffer.write(self._encoder.encode(target, item))

    def done(self, target: str, items: int, cost: float) -> None:
        """`target` is complete: write its records, then commit if it is time."""
        buffer = self._buffers.pop(target, None)
        if buffer is not None:
            with buffer:
                self._pending_bytes += buffer.tell()
                buffer.seek(0)
                shutil.copyfileobj(buffer, self._output)
        self._ok.append(target)
        self.items += items
        self.ok += 1
        self._maybe_commit(cost)

    def failed_target(self, row: dict[str, Any], cost: float) -> None:
        """`row["target"]` failed: drop its records, list it in the errors file."""
        buffer = self._buffers.pop(row["target"], None)
        if buffer is not None:
            buffer.close()
        self._failed.append(row)
        self.failed += 1
        self._maybe_commit(cost)

    def _maybe_commit(self, cost: float) -> None:
        now = time.monotonic()
        if now - self._last_commit >= COMMIT_SECONDS or self._pending_bytes >= COMMIT_BYTES:
            self.commit(cost)

    def commit(self, cost: float) -> None:
        """Make everything written so far durable and record it in the checkpoint."""
        self._output.flush()
        if self._checkpoint is not None:
            os.fsync(self._output.fileno())
            self._checkpoint.commit(self._ok, self._failed, self._output.tell(), cost)
        for row in self._failed:
            self._errors.write(_json.encode(row) + b"\n")
        self._errors.flush()
        self._ok, self._failed = [], []
        self._pending_bytes = 0
        self._last_commit = time.monotonic()

    def close(self) -> None:
        """Drop the buffers of unfinished targets (a resume fetches them again)."""
        for buffer in self._buffers.values():
            buffer.close()
        self._buffers.clear()
