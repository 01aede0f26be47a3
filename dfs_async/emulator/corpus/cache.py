"""A bounded cache of built values, shared by the server's worker threads.

Everything the corpus caches can be rebuilt the same from the seed, so the cache only trades
memory for time: least recently used entries go once the entries' total weight (roughly
bytes) passes the budget. A value being built is built once: a second caller of the same key
waits for the first one's value instead of building it again (thirty requests for the pages
of one new target start one build, not thirty).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class _Pending:
    """A value being built: its builder holds `done` until it is (a lock is cheaper to make
    than an Event, and most builds have no one waiting)."""

    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.value: object = None
        self.error: BaseException | None = None


class Cache(Generic[K, V]):
    """An LRU of at most `budget` total weight (each entry's `weigh(value)`, at least 1)."""

    def __init__(self, budget: int, weigh: Callable[[V], int] | None = None) -> None:
        self.budget = budget
        self._weigh = weigh
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._pending: dict[K, _Pending] = {}
        self._lock = threading.Lock()
        self.weight = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K, build: Callable[[], V]) -> V:
        # A hit takes no lock (a dict's get and move_to_end are atomic): the workers ask
        # for the same few entries all the time, and a lock held across a thread switch
        # would make them queue.
        found = self._entries.get(key)
        if found is not None:
            with contextlib.suppress(KeyError):  # dropped meanwhile: still a good value
                self._entries.move_to_end(key)
            return found[0]
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                return found[0]
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = self._pending[key] = _Pending()
        if not owner:
            with pending.done:  # until the builder releases it
                pass
            if pending.error is not None:
                raise pending.error
            return pending.value  # type: ignore[return-value]
        try:
            value = build()
        except BaseException as exc:
            pending.error = exc
            with self._lock:
                del self._pending[key]
            pending.done.release()
            raise
        weight = max(1, self._weigh(value)) if self._weigh else 1
        with self._lock:
            del self._pending[key]
            if weight <= self.budget:
                self._entries[key] = (value, weight)
                self.weight += weight
                while self.weight > self.budget:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self.weight -= dropped
        pending.value = value
        pending.done.release()
        return value
