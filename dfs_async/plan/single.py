"""The unpaged kinds: one request per job. `Single`: its result object is the job's one
record (`summary`). `Series`: its result's `items` are the job's records (`history`, the
`timeseries_*` endpoints: a series of snapshots, not pages).

Nothing to page, no `limit` or `offset` sent. States: Owed (the request is owed) -> InFlight
-> Done (answered: the result is emitted, or nothing if the task came back without one) |
Owed again (a retry) | Failed. Seeded with progress whose `answered` holds 0, the job is
done at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Generic, TypeVar

import msgspec

from dfs_async.errors import ValidationError
from dfs_async.plan.protocol import PageNotInFlight, PageRequest
from dfs_async.records import PageProgress

T = TypeVar("T")

__all__ = ["ONLY_REQUEST", "Listing", "Series", "Single", "SinglePlan", "unpaged_plan"]

# The one request of an unpaged job (and of a bulk target's job).
ONLY_REQUEST: Final = PageRequest(0, 1)


@dataclass(frozen=True)
class Single:
    """One request per job; the task's result is the record."""

    max_limit: int | None = None

    def plan(
        self,
        *,
        limit: int = 1,
        offset: int = 0,
        max_items: int | None = None,
        progress: PageProgress | None = None,
    ) -> SinglePlan[Any]:
        return unpaged_plan(offset, max_items, progress)

    def task_fields(self, page: PageRequest) -> dict[str, Any]:
        return {}

    def result_type(self, item: type[Any]) -> Any:
        return item

    def answer(self, target: str, page: PageRequest, results: Sequence[Any], cost: float) -> Any:
        return results[0] if results else None

    def answer_type(self, item: type[Any], result: Any) -> Any:
        return result | None


@dataclass(frozen=True)
class Series(Single):
    """One request per job; the result's `items` are the records (a series)."""

    def plan(
        self,
        *,
        limit: int = 1,
        offset: int = 0,
        max_items: int | None = None,
        progress: PageProgress | None = None,
    ) -> SinglePlan[Any]:
        plan = super().plan(limit=limit, offset=offset, max_items=max_items, progress=progress)
        plan.series = True
        return plan


@dataclass(frozen=True)
class Listing(Single):
    """One request with no unit of work, answered as all its results (the utility endpoints:
    `errors` and `id_list` answer a list, `index` and `available_filters` one object)."""

    def answer(self, target: str, page: PageRequest, results: Sequence[Any], cost: float) -> Any:
        return list(results)

    def answer_type(self, item: type[Any], result: Any) -> Any:
        return list[result]


def unpaged_plan(
    offset: int, max_items: int | None, progress: PageProgress | None
) -> SinglePlan[Any]:
    """The plan of one unpaged request (`Single.plan`; `Bulk.plan`, once per target)."""
    if offset or max_items is not None:
        name = "offset" if offset else "max_items"
        raise ValidationError(name, "this endpoint is not paged")
    if progress is None:
        return SinglePlan()
    answered = 0 in progress.answered
    return SinglePlan(done=answered, owing=not answered)


class SinglePlan(msgspec.Struct, Generic[T], gc=False, eq=False):
    """The ledger of one unpaged request (see the module docstring).

    `done`, `failure`, `items_emitted` and `pages_done` are plain fields the transitions keep
    up to date, not properties: a bulk stream reads them once per target. A Struct made in C
    and kept out of the cycle collector (it holds no cycles), as a bulk stream makes one per
    target, thousands a request; compared by identity, as any ledger.
    """

    series: bool = False  # the result's items are the records, not the result itself
    done: bool = False  # nothing owed and nothing in flight, or failed
    failure: tuple[int | None, str] | None = None
    items_emitted: int = 0
    pages_done: int = 0
    owing: bool = True  # the request is not answered yet
    in_flight: bool = False

    total_count: ClassVar[None] = None  # not a paged kind
    cursor: ClassVar[None] = None  # no cursor chain in this kind

    def owed(self, at_most: int | None = None) -> list[PageRequest]:
        if not self.owing or self.in_flight or self.failure is not None or at_most == 0:
            return []
        self.in_flight = True
        return [ONLY_REQUEST]

    def on_result(self, page: PageRequest, result: Any) -> Sequence[T]:
        # `_land`, inlined (a bulk stream answers thousands a request)
        if not self.in_flight or (page is not ONLY_REQUEST and page != ONLY_REQUEST):
            raise PageNotInFlight(f"{page} is not in flight")
        self.in_flight = False
        self.owing = False
        self.done = True
        if self.failure is not None:
            return ()
        self.pages_done = 1
        if result is None:
            return ()
        records = (result.items or ()) if self.series else (result,)
        self.items_emitted = len(records)
        return records

    def on_retry(self, page: PageRequest) -> None:
        self._land(page)
        self.done = not self.owing or self.failure is not None

    def on_failure(self, page: PageRequest, status_code: int | None, status_message: str) -> None:
        self._land(page)
        if self.failure is None:
            self.failure = (status_code, status_message)
        self.done = True

    def _land(self, page: PageRequest) -> None:
        if not self.in_flight or (page is not ONLY_REQUEST and page != ONLY_REQUEST):
            raise PageNotInFlight(f"{page} is not in flight")
        self.in_flight = False
