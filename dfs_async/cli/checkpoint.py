"""The checkpoint that makes `--resume` exactly-once, even after `kill -9`.

The run writes each page's records to the output as the page arrives (writer.py), flushes
them to the OS, then appends one line to the checkpoint, flushed to the OS too, naming the
page (target, offset, the target's latest total) and the output's size after it. Ends of
targets (done, or failed) are lines as well. So the output is always the pages the
checkpoint names plus, after a crash, an unrecorded tail. On resume the output is cut back
to the last recorded size, which drops the tail; done targets (and targets whose failure is
final) are skipped, and the others go to the stream with the offsets of their recorded
pages and their total (`PageProgress`): those pages are not asked or written again. Each
record ends up in the output exactly once, whatever instant the process died at, and a kill
costs at most the pages in flight (sent, or answered but not yet recorded).

The file is JSON lines: a header, then one line per event::

    {"dfs_async_checkpoint": 1, "command": ..., "targets": <sha256>, "params": <sha256>, "out": 0}
    {"out": 18231, "cost": 0.42, "page": ["a.com", 100, 250]}
    {"out": 19110, "cost": 0.47, "page": ["b.com", 22000, 45000, 23000, "<token>"]}
    {"out": 18231, "cost": 0.42, "ok": ["a.com"], "failed": []}
    {"out": 18231, "cost": 0.43, "ok": [], "failed": [{"target": ..., ...}]}

and once the run is complete::

    {"dfs_async_checkpoint": 1, "command": ..., "targets": <sha256>, "params": <sha256>}
    {"complete": {"out": 20114, "cost": 0.51, "ok": 12, "failed": 0, "at": "2026-12-05T..."}}

The header is written atomically (a temporary file renamed over it). A line cut short by a
crash is not JSON; it and anything after it is ignored and cut off on resume. So is a line
whose `out` is beyond the output's actual size (a power loss can keep a checkpoint line
whose records were not yet on disk: fsync is batched, see writer.py). `targets` and `params`
are fingerprints of the run's targets and of the parameters that shape its output (request
fields, max_items: hence the same paging grid); a resume whose fingerprints differ is
refused, never mixed into the same output.

When the run completes, the checkpoint is replaced (atomically) by its header and one line
saying so, `{"complete": {"out": <the output's size>, "cost": ..., ...}}` (`write_complete`):
a `--resume` of a finished job finds it (`finished`), says the job is complete and sends
nothing, so a scheduler that always passes `--resume` never pays twice.

Failed targets are recorded too (with their failure), so the errors file can be rebuilt
from the checkpoint alone. On resume, a failure whose code is transient (a server error or
timeout past its retries, a network error) is tried again, from its next unrecorded page:
it may have failed for the very reason the run stopped. A request error (an invalid target,
a field the API refused) is final and stays in the errors file.
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
from dfs_async.records import PageProgress

VERSION: Final = 1
_encoder = msgspec.json.Encoder(order="sorted")


class CheckpointMismatch(Exception):
    """The checkpoint belongs to another run (other targets or parameters) or is damaged."""


def fingerprint(value: Any) -> str:
    """A stable hash of a JSON-able value (keys sorted)."""
    return hashlib.sha256(_encoder.encode(value)).hexdigest()


def same_job(head: Mapping[str, Any], header: Mapping[str, Any]) -> str | None:
    """None when a checkpoint's `head` is of the job `header` describes, else what differs
    ("command", "targets" or "parameters")."""
    names = {"command": "command", "targets": "targets", "params": "parameters"}
    return next((names[k] for k in names if head.get(k) != header.get(k)), None)


def finished(path: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The header and the facts of a complete checkpoint (`write_complete`), None for any
    other (an unfinished run's is read by `Checkpoint.load`: it can be large, this reads
    two lines)."""
    try:
        with path.open("rb") as f:
            head, last, rest = f.readline(), f.readline(), f.read(1)
        header, facts = msgspec.json.decode(head), msgspec.json.decode(last)
    except (OSError, msgspec.DecodeError):
        return None
    if rest or not isinstance(header, dict) or not isinstance(facts, dict):
        return None
    complete = facts.get("complete")
    return (header, complete) if isinstance(complete, dict) else None


def write_complete(path: Path, header: Mapping[str, Any], facts: Mapping[str, Any]) -> None:
    """Replace the checkpoint by its header and the facts of the finished run."""
    tmp = path.with_name(path.name + ".tmp")
    head = _encoder.encode({"dfs_async_checkpoint": VERSION, **header})
    with tmp.open("wb") as f:
        f.write(head + b"\n" + _encoder.encode({"complete": facts}) + b"\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


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
    pages: dict[str, set[int]] = field(default_factory=dict)  # unfinished target -> offsets
    totals: dict[str, int | None] = field(default_factory=dict)  # its latest total_count
    cursors: dict[str, tuple[int, str]] = field(default_factory=dict)  # its chain's stand

    def page_progress(self, target: str) -> PageProgress | None:
        """What the stream needs to continue `target` without asking its written pages."""
        answered = self.pages.get(target)
        if not answered:
            return None
        return PageProgress(
            answered=frozenset(answered),
            total_count=self.totals.get(target),
            cursor=self.cursors.get(target),
        )

    @property
    def partly_done(self) -> int:
        """Unfinished targets with pages written (a resume continues them)."""
        return len(self.pages)

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
    def load(
        path: Path, header: Mapping[str, Any], available: int | None = None
    ) -> tuple[Progress, int]:
        """What `path` says is done, and the length of its sound part; CheckpointMismatch if
        it belongs to another run. Lines recording more output than `available` bytes (the
        output's actual size) are not sound."""
        data = path.read_bytes()
        lines = data.split(b"\n")
        try:
            head = msgspec.json.decode(lines[0])
            assert isinstance(head, dict) and head.get("dfs_async_checkpoint") == VERSION
        except (msgspec.DecodeError, AssertionError):
            raise CheckpointMismatch(f"{path} is not a dfs-async checkpoint") from None
        what = same_job(head, header)
        if what is not None:
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
                ok, failed = list(entry.get("ok", ())), list(entry.get("failed", ()))
                page = entry.get("page")
                if page is not None:
                    target, offset, total = str(page[0]), int(page[1]), page[2]
                    total = None if total is None else int(total)
                    cursor = (int(page[3]), str(page[4])) if len(page) > 3 else None
            except (msgspec.DecodeError, KeyError, TypeError, ValueError, IndexError):
                break
            if available is not None and out > available:
                break
            progress.output_size, progress.cost = out, cost
            if page is not None:
                progress.pages.setdefault(target, set()).add(offset)
                progress.totals[target] = total
                if cursor is not None:
                    progress.cursors[target] = cursor
            for target in ok:
                progress.ok.add(target)
                progress.failures.pop(target, None)
                progress.pages.pop(target, None)
                progress.totals.pop(target, None)
                progress.cursors.pop(target, None)
            for failure in failed:
                progress.failures[failure["target"]] = failure
                if is_final(failure):
                    progress.pages.pop(failure["target"], None)
                    progress.totals.pop(failure["target"], None)
                    progress.cursors.pop(failure["target"], None)
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
        """Record targets as done or failed; the output must be flushed up to `output_size`."""
        entry = {"out": output_size, "cost": round(cost, 6), "ok": ok, "failed": failed}
        self._file.write(_encoder.encode(entry) + b"\n")
        self._file.flush()

    def page(
        self,
        target: str,
        offset: int,
        total_count: int | None,
        output_size: int,
        cost: float,
        cursor: tuple[int, str] | None = None,
    ) -> None:
        """Record a page as written; the output must be flushed up to `output_size`. A cursor
        chain's stand (position, token) follows the total, so a resume continues the chain."""
        page: list[Any] = [target, offset, total_count]
        if cursor is not None:
            page.extend(cursor)
        entry = {"out": output_size, "cost": round(cost, 6), "page": page}
        self._file.write(_encoder.encode(entry) + b"\n")
        self._file.flush()

    def sync(self) -> None:
        """Make the lines so far durable (fsync); the output's fsync must come first."""
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
