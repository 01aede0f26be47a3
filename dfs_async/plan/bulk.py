"""The bulk kind: one job per target, and a packer that puts up to 1,000 targets in one task.

The bulk endpoints (`bulk_ranks`, `bulk_backlinks`, `bulk_spam_score`,
`bulk_referring_domains`, `bulk_new_lost_backlinks`, `bulk_new_lost_referring_domains`,
`bulk_pages_summary`) take one task a POST whose `targets` array holds up to 1,000 targets,
and answer one item per target (each with its `target`). Two pure pieces, no I/O, no clock:

- `Bulk`, the paging kind of one target's job: one request, like `Single`; the record is the
  item for that target (the engine picks it out of the task's `items` and hands it to the
  job's `SinglePlan`). Records, failures, checkpoint and resume stay per target. A target
  answered at its first request needs no plan: `Bulk.first_answers` gives the events its
  plan would (a stream answers a thousand targets a request).
- `Packer`, which decides which waiting targets travel together in one task (a `Pack`), and
  isolates the bad target when the API refuses a whole task that looked valid.

The packer's promise
--------------------
1. **Exactly once**: every added entry (a key and its target) ends exactly once: answered
   (`on_answered`), isolated as bad (`on_refused` returns its key), or failed with its pack
   (`on_failed`: the caller decides what each entry's job does next; a retried target is
   added again, as a new entry). A valid target is never isolated as bad: only a pack of one
   target that the API refused names its key.
2. An entry is in at most one pack in flight, and in none while it waits.
3. **Caps**: a pack holds at least 1 and at most `capacity` targets, and, when `max_roots`
   is set, targets of at most `max_roots` distinct root domains (`root_domain`). A fresh
   pack never holds the same target twice (so the engine maps each item back by its
   `target`); a second entry with a target already waiting waits behind it for a later pack.
4. **Pack count**: exactly `packs = fresh + 2 * R`, where `fresh` is the number of packs of
   new targets and `R` the refused packs of more than one target (each becomes two halves).
   Each refusal halves the pack holding a bad target, so a bad target is in at most
   `ceil(log2(capacity))` refused packs of more than one target: with `b` bad targets,
   `R <= b * ceil(log2(capacity))`. When `n` distinct targets are all added before the
   first pack:

   - `max_roots` None: `fresh = ceil(n / capacity)` (every fresh pack is full but the last);
   - `max_roots` set, `r` distinct roots: every fresh pack but the last is full by count
     (`capacity` targets) or full by roots (`max_roots` roots, each of which it exhausts), so
     `max(ceil(n / capacity), ceil(r / max_roots)) <= fresh
     <= floor(n / capacity) + floor(r / max_roots) + 1`;

   and so at most `fresh + 2 * b * ceil(log2(capacity))` packs in all (one bad target among
   1,000: at most 20 packs more than with none). A fresh pack takes what waits when it is
   asked for: a caller that streams its targets keeps `capacity` of them waiting (or its
   input ended) before asking, else it gets more, smaller packs.
5. **Termination**: a pack owed again is a half of a refused one, and a pack of one is
   never halved, so every entry ends after at most `fresh + 2 * R` packs, and `done` holds.

States of an entry
------------------
Waiting (fresh, or owed again in a half) -> (`next_pack`) InFlight ->
    Answered (`on_answered`) | Waiting again, in one of two halves (`on_refused`, pack of
    two or more) | Bad (`on_refused`, pack of one: its key is returned) | Failed
    (`on_failed`).
Answered, Bad and Failed are terminal. Reporting a pack that is not in flight (never handed
out, or already reported) is a bug in the caller and raises `PageNotInFlight`.

Order: `next_pack` hands out the halves of refused packs first (the bad target is isolated
fast), then a fresh pack, filled greedily in arrival order. With `max_roots` set, the
waiting targets are grouped by root, groups in the order of their arrival: a pack takes
whole groups in that order (the last one cut if `capacity` is reached) until it holds
`max_roots` roots; a target whose root would exceed that waits, in its place, and is first
next time.

Root domains
------------
`root_domain` is a small rule, not the Public Suffix List: the host's last two labels, or
three when the TLD is a two-letter country code and the second-level label is a generic one
(`co`, `com`, `org`, `net`, `ac`, `gov`, `edu`, `ne`, `or`, ...; `a.example.co.uk` ->
`example.co.uk`). Why no dependency: the limit is only documented for `bulk_pages_summary`
("the URLs ... cannot belong to more than 100 different domains"), without saying how the
API counts them, so an exact list would not make the count exact either; counting more roots
than the API does only makes packs smaller; counting fewer (a private suffix like
`blogspot.com`, an unlisted second level) can make the API refuse a pack, which the packer
then halves like any refused pack (a few requests more, never a valid target failed: a pack
of one target holds one root). A caller who knows better passes its own `root`.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dfs_async.errors import ValidationError, check_int
from dfs_async.models import PagedResult
from dfs_async.plan.protocol import PageNotInFlight, PageRequest
from dfs_async.plan.single import ONLY_REQUEST, SinglePlan, unpaged_plan
from dfs_async.records import Event, PageDone, PageProgress, Record, TargetDone
from dfs_async.targets import target_host

K = TypeVar("K", bound=Hashable)

__all__ = ["Bulk", "Pack", "Packer", "pack_fields", "root_domain"]

# Second-level labels under which a country code TLD registers names (co.uk, com.au, ne.jp).
_SECOND_LEVEL = frozenset(
    {"ac", "co", "com", "edu", "go", "gob", "gov", "gv", "ltd", "mil", "ne", "net", "nic"}
    | {"or", "org", "plc", "sch"}
)


def root_domain(target: str) -> str:
    """The registrable domain of an API-form target's host (see "Root domains" above).

    `blog.example.com` and `https://www.example.com/page` -> `example.com`;
    `shop.example.co.uk` -> `example.co.uk`; `example.com` -> itself.
    """
    labels = target_host(target).split(".")
    keep = 2
    if len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        keep = 3
    return ".".join(labels[-keep:])


def pack_fields(targets: Iterable[str]) -> dict[str, Any]:
    """The task fields that name a pack's targets, in order (one target's: its unit of work,
    `endpoints.bulk_target`)."""
    return {"targets": list(targets)}


@dataclass(frozen=True)
class Bulk:
    """One request per target's job, sent in packs of up to `capacity` targets a task.

    `max_roots`: at most that many distinct root domains a task (`bulk_pages_summary`: 100).
    """

    capacity: int = 1000
    max_roots: int | None = None
    max_limit: int | None = None
    key_field: str = "target"  # the item field that names its target (`url`: pages summary)

    def __post_init__(self) -> None:
        check_int("capacity", self.capacity, 1)
        check_int("max_roots", self.max_roots, 1, none=True)

    def plan(
        self,
        *,
        limit: int = 1,
        offset: int = 0,
        max_items: int | None = None,
        progress: PageProgress | None = None,
    ) -> SinglePlan[Any]:
        """One target's job: one request, the item for that target is the record."""
        if progress is None and not offset and max_items is None:
            return SinglePlan()  # the common case, once per target: nothing to check
        return unpaged_plan(offset, max_items, progress)

    def task_fields(self, page: PageRequest) -> dict[str, Any]:
        return {}  # the pack's targets are its task's (`pack_fields`)

    def result_type(self, item: type[Any]) -> Any:
        """A bulk task's result: `items`, one per target (each names its `target`)."""
        return PagedResult[item]  # type: ignore[valid-type]

    def answer(self, target: str, page: PageRequest, results: Sequence[Any], cost: float) -> Any:
        return results[0] if results else None

    def answer_type(self, item: type[Any], result: Any) -> Any:
        return result | None

    def packer(self) -> Packer[Any]:
        """A new, empty packer with this kind's caps."""
        return Packer(capacity=self.capacity, max_roots=self.max_roots)

    def one_request(
        self, raws: Iterable[Any], unit: Callable[[Any], tuple[str, Any]]
    ) -> tuple[str, dict[str, Any]]:
        """The targets of one awaited request, as a unit of work: each normalised by `unit`
        (InvalidTarget for one that is not valid), no two alike (the first counts), within
        this kind's caps (ValidationError past them: a stream packs any number). Its key
        names them all, joined by commas."""
        targets = list(dict.fromkeys(unit(raw)[0] for raw in raws))
        if not targets:
            raise ValidationError("targets", "at least one target")
        if len(targets) > self.capacity:
            raise ValidationError(
                "targets",
                f"at most {self.capacity:,} a request, got {len(targets):,}: stream them",
            )
        roots = len(set(map(root_domain, targets)))
        if self.max_roots is not None and roots > self.max_roots:
            raise ValidationError(
                "targets",
                f"at most {self.max_roots} root domains a request, got {roots}: stream them",
            )
        return ",".join(targets), pack_fields(targets)

    @staticmethod
    def first_answers(targets: Sequence[str], items: Iterable[Any]) -> tuple[list[Event], int]:
        """The events of targets answered at their first request, each with its item (None
        if the answer had none), as a fresh `SinglePlan` each would give them: the item's
        Record, the one page's PageDone (no total, no cursor) and the TargetDone; and how
        many Records. tests/test_engine_bulk.py checks that the two agree."""
        events: list[Event] = []
        offset = ONLY_REQUEST.offset
        for target, item in zip(targets, items, strict=True):
            if item is None:
                events += (PageDone(target, offset, None, 0, None), TargetDone(target, 0, 1))
            else:
                events += (
                    Record(target, item),
                    PageDone(target, offset, None, 1, None),
                    TargetDone(target, 1, 1),
                )
        return events, len(events) - 2 * len(targets)  # two events each, and its Record


@dataclass(frozen=True, slots=True)
class Pack(Generic[K]):
    """Targets sent together as one task; `keys[i]` is the job of `targets[i]`.

    `number` tells hand-outs apart (a retried pack comes back with a new number).
    """

    number: int
    keys: tuple[K, ...]
    targets: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.keys)


_Unit = tuple[tuple[K, ...], tuple[str, ...]]
_first, _second = operator.itemgetter(0), operator.itemgetter(1)  # of a (key, target) entry


class Packer(Generic[K]):
    """Which waiting targets go together in one task; see the module docstring."""

    __slots__ = (
        "_answered",
        "_bad",
        "_capacity",
        "_dupes",
        "_failed",
        "_fresh",
        "_groups",
        "_in_flight",
        "_max_roots",
        "_number",
        "_owed",
        "_owed_targets",
        "_root",
        "_waiting_targets",
    )

    def __init__(
        self,
        *,
        capacity: int = 1000,
        max_roots: int | None = None,
        root: Callable[[str], str] = root_domain,
    ) -> None:
        check_int("capacity", capacity, 1)
        check_int("max_roots", max_roots, 1, none=True)
        self._capacity = capacity
        self._max_roots = max_roots
        self._root = root
        # Fresh entries by root (one group "" without max_roots), groups in arrival order.
        self._groups: dict[str, deque[tuple[K, str]]] = {}
        self._waiting_targets: set[str] = set()  # the targets in _groups (no two alike)
        self._dupes: dict[str, deque[K]] = {}  # more keys of a target already in _groups
        self._fresh = 0  # entries in _groups and _dupes
        self._owed: deque[_Unit[K]] = deque()  # halves of refused packs, owed again
        self._owed_targets = 0
        self._in_flight: dict[int, Pack[K]] = {}
        self._number = 0
        self._answered = 0
        self._bad = 0
        self._failed = 0

    # -- queries -------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def max_roots(self) -> int | None:
        return self._max_roots

    @property
    def waiting(self) -> int:
        """Entries waiting to be sent: fresh ones and those owed again."""
        return self._fresh + self._owed_targets

    @property
    def in_flight(self) -> int:
        """Packs handed out and not yet reported."""
        return len(self._in_flight)

    @property
    def done(self) -> bool:
        """Nothing waiting and nothing in flight."""
        return not self._fresh and not self._owed and not self._in_flight

    @property
    def packs(self) -> int:
        """Packs handed out so far."""
        return self._number

    @property
    def answered(self) -> int:
        return self._answered

    @property
    def bad(self) -> int:
        """Entries isolated as bad (`on_refused` returned their keys)."""
        return self._bad

    @property
    def failed(self) -> int:
        """Entries whose pack failed for good (`on_failed`)."""
        return self._failed

    def __repr__(self) -> str:
        return (
            f"Packer(capacity={self._capacity}, max_roots={self._max_roots},"
            f" fresh={self._fresh}, owed={self._owed_targets} in {len(self._owed)} packs,"
            f" in_flight={len(self._in_flight)}, answered={self._answered}, bad={self._bad},"
            f" failed={self._failed})"
        )

    # -- transitions ---------------------------------------------------------------------

    def add(self, key: K, target: str) -> None:
        """`target` (valid and normalised already) of the job `key` waits to be packed.

        Keys are the caller's and should be unique; a target may be added under several
        keys: each entry ends on its own, never two alike in one fresh pack.
        """
        self._fresh += 1
        if target in self._waiting_targets:
            self._dupes.setdefault(target, deque()).append(key)
            return
        self._enqueue(key, target, first=False)

    def add_many(self, entries: Iterable[tuple[K, str]]) -> None:
        """`add(key, target)` for each `(key, target)` of `entries`, in order."""
        if self._max_roots is not None:
            for key, target in entries:
                self.add(key, target)
            return
        # One group (no roots to count): the same as `add` each, with the lookups done once;
        # entries whose targets are new and distinct (the common case) all at once.
        waiting, groups = self._waiting_targets, self._groups
        group = groups.get("")
        entries = list(entries)
        targets = set(map(_second, entries))
        if len(targets) == len(entries) and waiting.isdisjoint(targets):
            waiting |= targets
            if group is None:
                group = groups[""] = deque()
            group.extend(entries)
            self._fresh += len(entries)
            return
        added = 0
        for entry in entries:
            added += 1
            target = entry[1]
            if target in waiting:
                self._dupes.setdefault(target, deque()).append(entry[0])
                continue
            waiting.add(target)
            if group is None:
                group = groups[""] = deque()
            group.append(entry)
        self._fresh += added

    def next_pack(self) -> Pack[K] | None:
        """The next pack to send as one task, now in flight; None when nothing waits.

        The halves of refused packs come first, then a fresh pack of up to `capacity`.
        """
        if self._owed:
            keys, targets = self._owed.popleft()
            self._owed_targets -= len(keys)
            return self._hand_out(keys, targets)
        if not self._fresh:
            return None
        return self._fresh_pack(self._capacity)

    def on_answered(self, pack: Pack[K]) -> None:
        """The task was answered: its targets are done (the engine delivers their items)."""
        self._land(pack)
        self._answered += len(pack)

    def on_refused(self, pack: Pack[K]) -> list[K]:
        """The API refused the whole task as invalid although every target looked valid.

        A pack of two or more is split into two halves owed before anything else; returns
        []. A pack of one holds the bad target: returns its key; it is never owed again.
        """
        self._land(pack)
        size = len(pack)
        if size == 1:
            self._bad += 1
            return [pack.keys[0]]
        half = (size + 1) // 2
        keys, targets = pack.keys, pack.targets
        self._owed.appendleft((keys[half:], targets[half:]))
        self._owed.appendleft((keys[:half], targets[:half]))
        self._owed_targets += size
        return []

    def on_failed(self, pack: Pack[K]) -> list[K]:
        """The task failed for good, not for a target (money, access): its keys, all ended."""
        self._land(pack)
        self._failed += len(pack)
        return list(pack.keys)

    # -- inside --------------------------------------------------------------------------

    def _fresh_pack(self, room: int) -> Pack[K]:
        taken: list[tuple[K, str]] = []
        max_roots = self._max_roots
        emptied: list[str] = []
        for roots, (root, group) in enumerate(self._groups.items()):
            if not room or roots == max_roots:
                break
            if room >= len(group):  # the whole group
                room -= len(group)
                taken.extend(group)
                emptied.append(root)
            else:
                popleft = group.popleft
                taken.extend([popleft() for _ in range(room)])
                room = 0
        for root in emptied:
            del self._groups[root]
        keys: tuple[K, ...] = tuple(map(_first, taken))
        targets: tuple[str, ...] = tuple(map(_second, taken))
        self._fresh -= len(keys)
        waiting, dupes = self._waiting_targets, self._dupes
        waiting.difference_update(targets)
        if dupes:  # the next entry of a packed target takes its place, first of its group
            for target in targets:
                more = dupes.get(target)
                if more is None:
                    continue
                key = more.popleft()
                if not more:
                    del dupes[target]
                self._enqueue(key, target, first=True)
        return self._hand_out(keys, targets)

    def _enqueue(self, key: K, target: str, *, first: bool) -> None:
        self._waiting_targets.add(target)
        root = "" if self._max_roots is None else self._root(target)
        group = self._groups.get(root)
        if group is None:
            group = self._groups[root] = deque()
        if first:
            group.appendleft((key, target))
        else:
            group.append((key, target))

    def _hand_out(self, keys: tuple[K, ...], targets: tuple[str, ...]) -> Pack[K]:
        self._number += 1
        pack = Pack(self._number, keys, targets)
        self._in_flight[pack.number] = pack
        return pack

    def _land(self, pack: Pack[K]) -> None:
        if self._in_flight.get(pack.number) is not pack:
            raise PageNotInFlight(
                f"pack {pack.number} of {len(pack)} targets is not in flight"
                f" (never handed out by next_pack(), or already reported): {self!r}"
            )
        del self._in_flight[pack.number]
