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
from typing import Any, Generic, TypeVar

from dfs_async.errors import ValidationError
from dfs_async.plan.protocol import PageNotInFlight, PageRequest
from dfs_async.records import PageProgress

T = TypeVar("T")

__all__ = ["Listing", "Series", "Single", "SinglePlan", "unpaged_plan"]

_ONLY = PageRequest(0, 1)


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

    def packer(self) -> None:
        return None


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


def unpaged_plan(
    offset: int, max_items: int | None, progress: PageProgress | None
) -> SinglePlan[Any]:
    """The plan of one unpaged request (`Single.plan`; `Bulk.plan`, once per target)."""
    if offset or max_items is not None:
        name = "offset" if offset else "max_items"
        raise ValidationError(name, "this endpoint is not paged")
    if progress is None:
        return SinglePlan()
    return SinglePlan(answered=0 in progress.answered)


class SinglePlan(Generic[T]):
    """The ledger of one unpaged request (see the module docstring)."""

    __slots__ = ("_failure", "_in_flight", "_items", "_owed", "_pages", "series")

    def __init__(self, *, answered: bool = False, series: bool = False) -> None:
        self.series = series  # the result's items are the records, not the result itself
        self._owed = not answered
        self._in_flight = False
        self._failure: tuple[int | None, str] | None = None
        self._items = 0
        self._pages = 0

    @property
    def done(self) -> bool:
        return not self._in_flight and (not self._owed or self._failure is not None)

    @property
    def failure(self) -> tuple[int | None, str] | None:
        return self._failure

    @property
    def total_count(self) -> int | None:
        return None

    @property
    def cursor(self) -> None:
        return None  # no cursor chain in this kind

    @property
    def items_emitted(self) -> int:
        return self._items

    @property
    def pages_done(self) -> int:
        return self._pages

    def owed(self, at_most: int | None = None) -> list[PageRequest]:
        if not self._owed or self._in_flight or self._failure is not None or at_most == 0:
            return []
        self._in_flight = True
        return [_ONLY]

    def on_result(self, page: PageRequest, result: Any) -> Sequence[T]:
        self._land(page)
        self._owed = False
        if self._failure is not None:
            return ()
        self._pages = 1
        if result is None:
            return ()
        records = (result.items or ()) if self.series else (result,)
        self._items = len(records)
        return records

    def on_retry(self, page: PageRequest) -> None:
        self._land(page)

    def on_failure(self, page: PageRequest, status_code: int | None, status_message: str) -> None:
        self._land(page)
        if self._failure is None:
            self._failure = (status_code, status_message)

    def _land(self, page: PageRequest) -> None:
        if not self._in_flight or (page is not _ONLY and page != _ONLY):
            raise PageNotInFlight(f"{page} is not in flight")
        self._in_flight = False
