"""The protocol of the paging kinds: what the engine asks of a job's plan, and nothing more.

A paging kind (`Offset`, `Single`, ...) is a frozen value on an endpoint's spec; it makes one
`JobPlan` per unit of work (a target, a query). A plan is a pure state machine: no I/O, no
clock, no randomness. The engine asks it which requests to send (`owed`), tells it how each
ended (`on_result`, `on_retry`, `on_failure`) and forwards what `on_result` returns. Each
request is a `PageRequest`, reported exactly once; the kind says which task fields it adds
(`task_fields`) and what a task's result decodes to (`result_type`). Checkpoint and resume
speak the same words: a `PageDone` per answered request (its `offset`, the latest total) and,
to resume, a `PageProgress` the kind turns back into a seeded plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from dfs_async.records import PageProgress

T_co = TypeVar("T_co", covariant=True)

__all__ = ["JobPlan", "PageNotInFlight", "PageRequest", "Paging"]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One request of a job: the position it starts at (`offset`) and how many it asks.

    `offset` is the position of the page's first item: unique among a job's requests in
    flight, the key of its `PageDone` and of its tries. `cursor` is set only on a cursor
    kind's chain requests: `(the offset the request repeats, the token it adds)`.
    """

    offset: int
    limit: int
    cursor: tuple[int, str] | None = None


class PageNotInFlight(RuntimeError):
    """A request was reported (answered, retried, failed) that the plan has not handed out.

    Always a bug in the caller: each request from `owed()` is reported exactly once.
    """


class JobPlan(Protocol[T_co]):
    """The ledger of one unit of work."""

    @property
    def done(self) -> bool:
        """Nothing owed and nothing in flight (whether the job failed or not)."""

    @property
    def failure(self) -> tuple[int | None, str] | None:
        """`(status_code, status_message)` of the request that failed the job, else None."""

    @property
    def total_count(self) -> int | None:
        """The latest total the answers reported (None: unknown, or not a paged kind)."""

    @property
    def cursor(self) -> tuple[int, str] | None:
        """Where a cursor chain stands: (the next position it owes, its token); None for
        kinds without one. Recorded with each page so a resume continues the chain."""

    @property
    def items_emitted(self) -> int: ...

    @property
    def pages_done(self) -> int: ...

    def owed(self, at_most: int | None = None) -> list[PageRequest]:
        """Hand out the requests to send now (at most `at_most`); they are then in flight."""

    def on_result(self, page: PageRequest, result: Any) -> Sequence[T_co]:
        """The request was answered with `result` (its task's first result, or None)."""

    def on_retry(self, page: PageRequest) -> None:
        """The request will be asked again: it is owed again (unless the job failed)."""

    def on_failure(self, page: PageRequest, status_code: int | None, status_message: str) -> None:
        """The request failed for good: the job fails; what is in flight emits nothing."""


class Paging(Protocol):
    """A paging kind: the plans of an endpoint's jobs, and what its requests look like."""

    @property
    def max_limit(self) -> int | None:
        """The largest page a request may ask (None: the kind sends no `limit`)."""

    def plan(
        self,
        *,
        limit: int,
        offset: int = 0,
        max_items: int | None = None,
        progress: PageProgress | None = None,
    ) -> JobPlan[Any]:
        """A plan for one job, seeded with what an earlier run delivered of it."""

    def task_fields(self, page: PageRequest) -> dict[str, Any]:
        """The fields a request adds to the task (e.g. `offset` and `limit`)."""

    def result_type(self, item: type[Any]) -> Any:
        """What one result of a task decodes to, for this endpoint's item type."""

    def answer(self, target: str, page: PageRequest, results: Sequence[Any], cost: float) -> Any:
        """What an awaited single call returns for its one answered request (`results`: the
        task's results, usually one)."""

    def answer_type(self, item: type[Any], result: Any) -> Any:
        """The type `answer` returns, given the item type and what a result decodes to (for
        type checkers: the generated typed calls state it)."""
