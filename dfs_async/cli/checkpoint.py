"""The checkpoint that makes `--resume` exactly-once, even after `kill -9`.

The run writes a target's records to the output only once the target is complete (all its
pages arrived), so the output is always a sequence of whole targets plus, after a crash, an
unfinished tail. Every so often the run *commits*: it flushes and fsyncs the output, then
appends one line to the checkpoint (flushed and fsynced too) naming the targets written
since the last commit and the output's size after them. On resume the output is cut back to
the last committed size, which drops the tail, and the committed targets are skipped: each
record ends up in the output exactly once, whatever instant the process died at.

The file is JSON lines: a header, then one line per commit::

    {"dfs_async_checkpoint": 1, "command": ..., "targets": <sha256>, "params": <sha256>, "out": 0}
    {"out": 18231, "cost": 0.42, "ok": ["a.com", ...], "failed": [{"target": ..., ...}]}

The header is written atomically (a temporary file renamed over it). A line cut short by a
crash is not JSON; it and anything after it is ignored and cut off on resume. `targets` and
`params` are fingerprints of the run's targets and of the parameters that shape its output;
a resume whose fingerprints differ is refused, never mixed into the same output.

Failed targets are committed too (with their failure), so the errors file can be rebuilt
from the checkpoint alone. On resume, a failure whose code is transient (a server error or
timeout past its retries, a network error) is tried again: it may have failed for the very
reason the run stopped. A request error (an invalid target, a field the API refused) is
final and stays in the errors file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final

import msgspec

from dfs_async.codes import Action, classify

VERSION: Final = 1
_encoder = msgspec.json.Encoder(order="sorted")


class CheckpointMismatch(Exception):
    """The checkpoint belongs to another run (other targets or parameters) or is damaged."""


def fingerprint(value: Any) -> str:
    """A stable hash of a JSON-able value (keys sorted)."""
    return hashlib.sha256(_encoder.encode(value)).hexdigest()


def is_final(failure: Mapping[str, Any]) -> bool:
    """A failure not worth retrying on resume: the API refused the request itself."""
    return classify(failure.get("status_code")) is Action.FAIL


@dataclass
class Progress:
    """What a checkpoint says is done."""

    output_size: int
    cost: float = 0.0
    ok: set[str] = field(default_factory=set)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)  # target -> failure

    @property
    def final_failures(self) -> list[dict[str, Any]]:
        return [f for f in self.failures.values() if is_final(f)]

    @property
    def retried(self) -> list[str]:
        """Failed targets that a resume tries again."""
        return [t for t, f in self.failures.items() if not is_final(f)]

    @property
    def done(self) -> set[str]:
        """Targets a resume skips."""
        return self.ok | {f["target"] for f in self.final_failures}


class Checkpoint:
    """An open checkpoint file, appended to by `commit`."""

    def __init__(self, path: Path, file: BinaryIO) -> None:
        self.path = path
        self._file = file

    @classmethod
    def create(cls, path: Path, header: Mapping[str, Any], output_size: int) -> Checkpoint:
        """A new checkpoint (replacing any old one) for a run whose output holds `output_size`
        bytes (a CSV header) before its first record."""
        tmp = path.with_name(path.name + ".tmp")
        line = _encoder.encode({"dfs_async_checkpoint": VERSION, **header, "out": output_size})
        with tmp.open("wb") as f:
            f.write(line + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        return cls(path, path.open("ab"))

    @staticmethod
    def load(path: Path, header: Mapping[str, Any]) -> tuple[Progress, int]:
        """What `path` says is done, and the length of its sound part; CheckpointMismatch if
        it belongs to another run."""
        data = path.read_bytes()
        lines = data.split(b"\n")
        try:
            head = msgspec.json.decode(lines[0])
            assert isinstance(head, dict) and head.get("dfs_async_checkpoint") == VERSION
        except (msgspec.DecodeError, AssertionError):
            raise CheckpointMismatch(f"{path} is not a dfs-async checkpoint") from None
        for key in ("command", "targets", "params"):
            if head.get(key) != header.get(key):
                what = {"command": "command", "targets": "targets", "params": "parameters"}[key]
                raise CheckpointMismatch(
                    f"{path} belongs to a run with other {what}: resume with the same targets"
                    " and options, or start over without --resume"
                )
        progress = Progress(output_size=int(head["out"]))
        sound = len(lines[0]) + 1
        for line in lines[1:-1]:  # the last piece has no newline: empty or cut short
            try:
                entry = msgspec.json.decode(line)
                out, cost = int(entry["out"]), float(entry["cost"])
                ok, failed = list(entry["ok"]), list(entry["failed"])
            except (msgspec.DecodeError, KeyError, TypeError, ValueError):
                break
            progress.output_size, progress.cost = out, cost
            for target in ok:
                progress.ok.add(target)
                progress.failures.pop(target, None)
            for failure in failed:
                progress.failures[failure["target"]] = failure
            sound += len(line) + 1
        return progress, sound

    @classmethod
    def reopen(cls, path: Path, sound: int) -> Checkpoint:
        """Open a loaded checkpoint for appending, after cutting off its unsound tail."""
        file = path.open("r+b")
        file.truncate(sound)
        file.seek(sound)
        return cls(path, file)

    def commit(
        self, ok: list[str], failed: list[dict[str, Any]], output_size: int, cost: float
    ) -> None:
        """Record targets as done; the output must already be fsynced up to `output_size`."""
        entry = {"out": output_size, "cost": round(cost, 6), "ok": ok, "failed": failed}
        self._file.write(_encoder.encode(entry) + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def remove(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX); harmless where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
