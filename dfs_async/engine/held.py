"""A bulk endpoint's answers in the response cache, and which answer holds which target:
`Held`, one per endpoint and task fields (a target's item depends on both); the engine's
`Recall` makes them and reads the items.

A bulk request answers up to a thousand targets. Kept target by target, an answer would
cost the store an entry per target (a key, a B-tree insert), several times the CPU of the
whole request; kept whole it is one entry, and a log (`CacheStore.put_many`'s `logs`,
named by `cache.keys.bulk_log`) says what it holds: a record per answer (its entry's key,
when it was stored, its cost a target, its targets). The records are read into a dict of
target to answer (`_where`), so that the work per target is C's, not Python's:
`dict.update` to add an answer's targets, `keys() &` to find those of a list.

- The log is read when a run first looks targets up (`start`: all of it the first time,
  then what it gained), and again at each flush of the cache (`Recall.flush`, about once
  a second): another client's answers are found from then on.
- This client's own answers are found by its next run (`start` indexes them), not by the
  run that keeps them: indexed as they came, they cost a run of 100,000 targets with no
  hits a fifth more CPU (the dict of targets grown and searched as it grows), to find
  only a target listed twice whose first answer came before the second was read.
- A hit reads the answers that hold the targets asked for, decodes each with the
  endpoint's decoder (the same types as a fetch), and takes each target's item
  (`Recall.items`). An answer gone (expired, evicted, or written by another version),
  stored longer than the TTL ago, or without the target's item, is a miss for it.
- Memory: the dict holds each target the log names (about 110 bytes a target) for the
  client's life.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Final

import anyio
import msgspec

from dfs_async.cache.safe import Cache
from dfs_async.cache.store import Entry

__all__ = ["Answer", "Held"]

_KEY: Final = 40  # hex characters of an answer's key, the head of its record
_ENCODER: Final = msgspec.msgpack.Encoder()


class Answer(msgspec.Struct, frozen=True, gc=False):
    """An answer, as the index names it for a target: its entry's key, when it was stored,
    and what it cost a target."""

    key: str
    stored_at: float
    share: float


_DECODER: Final = msgspec.msgpack.Decoder(tuple[float, float, list[str]])


class Held:
    """The answers `cache` holds in the log `log` (`cache.keys.bulk_log`: one bulk endpoint
    and task fields); see the module docstring. The items of the targets it holds are read
    by `Recall.items`."""

    def __init__(self, cache: Cache, log: str) -> None:
        self.cache = cache
        self.log = log
        self._where: dict[str, Answer] = {}  # target: the latest answer that holds it
        self._after = ""  # where the log was read to ("": its start)
        self._reading = anyio.Lock()
        self._own: set[str] = set()  # keys of answers kept here, not yet read in the log
        self._unindexed: list[tuple[list[str], Answer]] = []  # kept here, not yet in `_where`

    def __repr__(self) -> str:
        return f"Held({self.log}, {len(self._where)} targets indexed)"

    async def start(self) -> None:
        """A run's first lookup (or an estimate's): the log read, and this client's own
        answers indexed."""
        await self.read()
        self._index()

    async def read(self, *, wait: bool = True) -> None:
        """Read what the log gained since it was last read; with `wait` false, nothing
        while another read is on (a flush's: the next one reads it)."""
        if self._reading.locked() and not wait:
            return
        async with self._reading:
            records, self._after = await self.cache.read_log(self.log, self._after)
        where, own = self._where, self._own
        for record in records:
            key = record[:_KEY].decode()
            if key in own:  # kept here: in `_unindexed` or `_where`
                own.discard(key)
                continue
            self._index()  # before another's: the latest answer of a target wins
            stored_at, share, targets = _DECODER.decode(record[_KEY:])
            where.update(zip(targets, itertools.repeat(Answer(key, stored_at, share))))

    def _index(self) -> None:
        """This client's own answers added to `_where`, in the order they were kept."""
        where = self._where
        for targets, answer in self._unindexed:
            where.update(zip(targets, itertools.repeat(answer)))
        self._unindexed.clear()

    def fresh(self, targets: Sequence[str]) -> dict[str, Answer]:
        """The answer that holds each of `targets` held, stored less than the TTL ago (the
        log as last read; this client's own answers as of the last `start`)."""
        cache, where = self.cache, self._where
        held = where.keys() & targets if where and cache.on else ()
        if not held:
            return {}
        oldest = time.time() - cache.ttl
        return {t: answer for t in held if (answer := where[t]).stored_at > oldest}

    def shares(self, targets: Sequence[str]) -> dict[int, float]:
        """Which of `targets` (by index) the log says the cache holds, with what each cost;
        their answers are not read (`--dry-run`: an estimate)."""
        fresh = self.fresh(targets)
        return {i: fresh[t].share for i, t in enumerate(targets) if t in fresh}

    def keep(self, targets: Iterable[str], asked: int, body: bytes, cost: float) -> None:
        """Keep an answer (the `body` it came in, costing `cost` for `asked` targets) that
        holds an item of each of `targets`."""
        cache = self.cache
        if not cache.on:
            return
        key, now, share = secrets.token_hex(_KEY // 2), time.time(), cost / asked
        targets = list(targets)
        cache.put(key, Entry(body, cost, now))
        cache.append(self.log, key.encode() + _ENCODER.encode((now, share, targets)))
        self._unindexed.append((targets, Answer(key, now, share)))
        self._own.add(key)
