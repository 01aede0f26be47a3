"""The audit's checkpoint: every part answer written down as it lands, so a resume asks only
what is missing (after SIGINT or `kill -9`: every domain once, nothing answered asked again).

The audit's table can only be written when it is whole (joined, sorted), so its checkpoint
holds the answers themselves: JSON lines, a header, then one line per `PartAnswer` and one
line of what the job has cost so far each time that changed (before the answers of the
request that cost it)::

    {"dfs_async_checkpoint": 1, "command": "audit", "targets": ..., "params": ..., ...}
    {"cost": 0.52003, "costs": {"bulk_ranks": 0.52003}}
    {"part": "bulk_ranks", "target": "a.com", "item": {"target": "a.com", "rank": 431},
     "failure": null, "day": "2026-12-05"}

What the audit delivered is flushed to the OS before the run waits for more (`flush`, when
nothing is left to read at once), so `kill -9` loses only the requests in flight and the
answers being written at that instant (asked again on resume); `fsync` is batched
(SYNC_SECONDS). A line cut short by a crash ends what is read, and is cut off on
resume. `targets` and `params` are fingerprints (checkpoint.py): a resume of other domains or
options is refused. `date_from` is the new/lost period's start as first resolved, kept by
every resume (a resume days later counts since the same day). Once the table is written,
the file is replaced by its header and the job's facts (`checkpoint.write_complete`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Final

import msgspec

from dfs_async import Failure, PartAnswer
from dfs_async.cli.checkpoint import VERSION, CheckpointMismatch, same_job
from dfs_async.cli.writer import SYNC_SECONDS
from dfs_async.endpoints import BY_NAME

__all__ = ["Journal", "Resumed"]

_encoder: Final = msgspec.json.Encoder()  # a map's keys keep their order (the API's)


class _Line(msgspec.Struct, kw_only=True):
    """Any line after the header."""

    part: str | None = None
    target: str | None = None
    item: msgspec.Raw = msgspec.Raw(b"null")  # decoded as its part's item (or None)
    failure: Failure | None = None
    day: date | None = None
    cost: float | None = None
    costs: dict[str, float] | None = None


_decode_line: Final = msgspec.json.Decoder(_Line)


@dataclass
class Resumed:
    """What a journal says the runs before did."""

    date_from: date | None
    answers: list[PartAnswer] = field(default_factory=list)
    cost: float = 0.0
    costs: dict[str, float] = field(default_factory=dict)
    sound: int = 0  # bytes of the file that are whole lines


class Journal:
    """An open journal, appended to as answers land."""

    def __init__(self, path: Path, file: BinaryIO) -> None:
        self.path = path
        self._file = file
        self._last_sync = time.monotonic()

    @classmethod
    def create(cls, path: Path, header: Mapping[str, Any]) -> Journal:
        """A new journal (replacing any old one), its header written atomically."""
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            f.write(_encoder.encode({"dfs_async_checkpoint": VERSION, **header}) + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return cls(path, path.open("ab"))

    @staticmethod
    def head(path: Path) -> dict[str, Any]:
        """The journal's header; CheckpointMismatch if it is not one."""
        with path.open("rb") as f:
            first = f.readline()
        try:
            head = msgspec.json.decode(first)
        except msgspec.DecodeError:
            head = None
        if not isinstance(head, dict) or head.get("dfs_async_checkpoint") != VERSION:
            raise CheckpointMismatch(f"{path} is not a dfs-async checkpoint")
        return head

    @staticmethod
    def load(path: Path, header: Mapping[str, Any]) -> Resumed:
        """What the journal says is done; CheckpointMismatch if it is another job's."""
        head = Journal.head(path)
        what = same_job(head, header)
        if what is not None:
            raise CheckpointMismatch(
                f"{path} belongs to an audit with other {what}: resume with the same domains"
                " and options, or start over with --restart"
            )
        given = head.get("date_from")
        resumed = Resumed(date.fromisoformat(given) if isinstance(given, str) else None)
        data = path.read_bytes()
        resumed.sound = data.index(b"\n") + 1
        items = {name: BY_NAME[name].item for name in BY_NAME}
        for line in data[resumed.sound :].split(b"\n")[:-1]:  # the last: empty or cut short
            try:
                entry = _decode_line.decode(line)
                if entry.cost is not None:
                    resumed.cost, resumed.costs = entry.cost, entry.costs or {}
                elif entry.part is not None and entry.target is not None:
                    item = msgspec.json.decode(entry.item, type=items[entry.part] | None)
                    answer = PartAnswer(entry.part, entry.target, item, entry.failure, entry.day)
                    resumed.answers.append(answer)
                else:
                    break
            except (msgspec.DecodeError, msgspec.ValidationError, KeyError):
                break
            resumed.sound += len(line) + 1
        return resumed

    @classmethod
    def reopen(cls, path: Path, sound: int) -> Journal:
        """Open a loaded journal for appending, after cutting off its unsound tail."""
        with path.open("r+b") as f:
            f.truncate(sound)
        return cls(path, path.open("ab"))

    def answer(self, answer: PartAnswer) -> None:
        self._file.write(_encoder.encode(answer) + b"\n")

    def cost(self, cost: float, costs: Mapping[str, float]) -> None:
        """What the job has cost so far (written before the answers the change paid for)."""
        self._file.write(_encoder.encode({"cost": round(cost, 9), "costs": costs}) + b"\n")

    def flush(self) -> None:
        """Hand what was written to the OS (it survives the process); at most every
        SYNC_SECONDS, to the disk too."""
        self._file.flush()
        if time.monotonic() - self._last_sync >= SYNC_SECONDS:
            self.sync()

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._last_sync = time.monotonic()

    def close(self) -> None:
        self._file.close()
