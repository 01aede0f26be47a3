"""The offset-then-cursor paging kind (`backlinks`): a grid up to `max_offset`, then a chain.

A pure state machine: no I/O, no clock, no randomness. The API refuses an `offset` above
`max_offset` (20,000 for `backlinks/live`); past it, a result's `search_after_token` asks for
the next page: the request repeats **every other field of the previous one unchanged** and
adds the token. So a job is two parts, and its promise is the offset kind's one, **exactly
once by position**: an item's position is `page.offset + index` (a chain page's `offset` is
the position of its first item, not the offset it sends), and no position is emitted twice,
whatever the order of answers, the retries, the failures, the refused tokens.

The grid
--------
Offsets `offset, offset + limit, ...` up to `G`, the largest of them `<= max_offset` (the
*last grid page*), and below `stop = offset + max_items`. They are an `OffsetPlan` (see
offset.py: probing, the horizon, parked pages, seeded plans), used as is: once the first page
tells `total_count`, every grid page below the horizon goes out in parallel. `offset` itself
must be `<= max_offset` (else `ValidationError`: the first page could not be asked).

The chain
---------
Positions `G + limit, G + 2*limit, ...` (call `L` the last grid page's `limit`: it is `limit`
whenever a chain is needed, since the chain is needed only when `stop > G + limit`). Chain
page `p` is the request `PageRequest(p, L, cursor=(G, token))`: it sends `offset=G`,
`limit=L` and `search_after_token=token`, where `token` is the one the answer for position
`p - L` returned (for `p = G + L`: the last grid page's answer). Its answer gives positions
`p .. p + L - 1` (cut to `stop`) and the token for `p + L`. One page after another: never more
than one chain request in flight. The chain owes position `p` while `p` is below its horizon,
which moves like the grid's (every answer of the job, grid or chain, counts: its
`total_count`, or the end of a short page's items; capped at `stop`); chain answers move the
grid's horizon too (`OffsetPlan.see_total`).

- An answer without a token (a chain page's, or the last grid page's, or none at all) ends
  the chain there: no more chain pages are owed, the job ends with the grid pages left (like
  a null `total_count` ends an offset job: the answer gives nothing to go on with).
- A refused token: a chain request failing with a code in `REFUSED_TOKEN` does not fail the
  job; the chain is **walked again** from the start: the last grid page is asked again
  (`PageRequest(G, L)`, no token; if its first answer has not come yet, that answer is
  waited for instead), its answer's token asks `G + L` again, and so on. Positions below
  `reached` (the end of the furthest chain page emitted, by this plan or, seeded, before it)
  are asked but emit nothing; past `reached`, the walk emits as usual. At most `max_rewalks`
  re-walks per job (2 by default); the next refused token fails the job with its code.
  Any other failure of any request fails the job, as with the offset kind.

Why `REFUSED_TOKEN` is {40400, 40501}: the API documents no code for a stale token. 40501
("Invalid Field") is what it answers to a field value it will not take; a chain request
repeats every field of a request the API took, so the token is the only field it can mean.
40400 ("Not Found") is what a token whose search the server no longer holds may plausibly
get. Both are "the request is wrong" codes (never retried), so the engine reports them as a
failure; the plan alone decides that, on a chain request, they mean a re-walk. If the cause
was something else, the bound makes it cost at most `max_rewalks` walks before the job fails.

States of the chain
-------------------
Waiting
    The chain has no token: before the last grid page's answer, and after a refused token.
    Owed: nothing until that page has answered once; then its repeat `PageRequest(G, L)`.
    Its answer (either) -> Ready at `G + L` with its token, or Ended without one.
Ready(p, token)
    `PageRequest(p, L, cursor=(G, token))` is owed while `p` is below the horizon (else
    nothing; a later larger total un-parks it). `owed()` -> InFlight.
InFlight
    The one chain request is out. `on_result` -> Ready(p + L, its token) (emitting what is new)
    or Ended (no token); `on_retry` -> as before (the same request owed again); `on_failure`
    -> Waiting (a refused token, within the bound) or Failed.
Ended
    No token to go on with: nothing more from the chain.
The job is Done when the grid is done (see offset.py) and the chain owes nothing and has
nothing in flight; Failed as with the offset kind: `failure` holds the first failure, nothing
is owed any more, late answers emit nothing. Reporting a request that is not in flight is a
bug in the caller (`PageNotInFlight`).

Bound: every grid request is an `OffsetPlan` one (its bound, with `stop = min(stop, G + L)`).
A walk of the chain asks at most one repeat of the last grid page and
`ceil((H - G - L) / L)` chain pages, `H` the largest horizon seen; there are at most
`1 + max_rewalks` walks. Retries aside (the engine's policy bounds them), a server can only
make the job page up to the totals it reports, and `max_items` caps even that.

Seeded plans (resuming)
-----------------------
`PageProgress` (`answered`, `total_count`, `cursor`) from an earlier run of the same job (same
`limit`, `offset`, `max_items`, `max_offset`). `answered` holds the offsets of every answered
request (its `PageDone`s): grid ones are never asked again (as with the offset kind); chain
ones (above `G`) emit nothing if asked again. `cursor` is the latest `PageDone.cursor`:
`(c, token)`, where the chain stood (`c` the next position owed, every chain position below
it was emitted): the chain resumes at `c` with that token, no re-walk; if the token is refused
(it may have expired), the re-walk above applies, and positions below `c` emit nothing. No
cursor: the chain starts from the last grid page's answer (asked again if it was answered
before). With no `total_count` but a cursor, the chain asks `c` once to learn the total.

What `cursor` reports: after each answer, `(the furthest chain position with a token to ask
it, that token)`; it never moves back (a re-walk walks below it without moving it), so a
checkpoint keeps the latest. The engine puts it in `PageDone.cursor`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from dfs_async.errors import ValidationError, check_int
from dfs_async.models import PagedResult
from dfs_async.plan.offset import Offset, OffsetPlan, check_grid
from dfs_async.plan.protocol import PageNotInFlight, PageRequest
from dfs_async.records import PageProgress

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741

__all__ = ["REFUSED_TOKEN", "CursorPlan", "CursorResult", "OffsetThenCursor"]

# The codes that, on a chain request, mean "this token is refused" (see the module docstring).
REFUSED_TOKEN: Final = frozenset({40400, 40501})

_GRID: Final = Offset()


class CursorResult(PagedResult[I], Generic[I], gc=False):
    """One result of an offset-then-cursor endpoint: a page, and the token for the next."""

    search_after_token: str | None = None


@dataclass(frozen=True)
class OffsetThenCursor:
    """Pages of `limit` at offsets up to `max_offset` in parallel, then a cursor chain."""

    max_offset: int = 20_000
    max_limit: int | None = 1000
    max_rewalks: int = 2

    def plan(
        self,
        *,
        limit: int,
        offset: int = 0,
        max_items: int | None = None,
        progress: PageProgress | None = None,
    ) -> CursorPlan[Any]:
        return CursorPlan(
            limit=limit,
            offset=offset,
            max_items=max_items,
            max_offset=self.max_offset,
            max_rewalks=self.max_rewalks,
            answered=progress.answered if progress is not None else (),
            total_count=progress.total_count if progress is not None else None,
            cursor=progress.cursor if progress is not None else None,
        )

    def task_fields(self, page: PageRequest) -> dict[str, Any]:
        if page.cursor is None:
            return {"offset": page.offset, "limit": page.limit}
        repeated, token = page.cursor
        return {"offset": repeated, "limit": page.limit, "search_after_token": token}

    def result_type(self, item: type[Any]) -> Any:
        return CursorResult[item]  # type: ignore[valid-type]

    def answer(self, target: str, page: PageRequest, results: Sequence[Any], cost: float) -> Any:
        return _GRID.answer(target, page, results, cost)

    def answer_type(self, item: type[Any], result: Any) -> Any:
        return _GRID.answer_type(item, result)


class CursorPlan(Generic[T]):
    """The ledger of one offset-then-cursor job; see the module docstring."""

    __slots__ = (
        "_chain_page",
        "_cursor",
        "_failure",
        "_g_answered",
        "_grid",
        "_horizon",
        "_items",
        "_last",
        "_limit",
        "_max_rewalks",
        "_pages",
        "_pos",
        "_reached",
        "_rewalks",
        "_seeded_chain",
        "_stop",
        "_token",
        "_total",
        "_waiting",
    )

    def __init__(
        self,
        *,
        limit: int,
        offset: int = 0,
        max_items: int | None = None,
        max_offset: int = 20_000,
        max_rewalks: int = 2,
        answered: Iterable[int] = (),
        total_count: int | None = None,
        cursor: tuple[int, str] | None = None,
    ) -> None:
        check_grid(limit, offset, max_items)
        check_int("max_offset", max_offset, 0)
        check_int("max_rewalks", max_rewalks, 0)
        if offset > max_offset:
            raise ValidationError(
                "offset", f"must be at most {max_offset} on this endpoint, got {offset}"
            )
        self._limit = limit
        self._stop = None if max_items is None else offset + max_items
        self._last = last = offset + (max_offset - offset) // limit * limit  # G
        chain_start = last + limit
        grid_stop = chain_start if self._stop is None else min(self._stop, chain_start)
        answered = set(answered)
        grid_answered = {o for o in answered if o < chain_start}
        self._seeded_chain = answered - grid_answered
        for done in self._seeded_chain:
            if (done - offset) % limit or (self._stop is not None and done >= self._stop):
                raise ValidationError("answered", f"offset {done} is not a page of this job")
        self._grid: OffsetPlan[T] = OffsetPlan(
            limit=limit,
            offset=offset,
            max_items=grid_stop - offset,
            answered=grid_answered,
            total_count=total_count,
        )
        self._g_answered = last in grid_answered
        self._total = total_count
        self._max_rewalks = max_rewalks
        self._rewalks = 0
        self._failure: tuple[int | None, str] | None = None
        self._items = 0
        self._pages = 0
        self._chain_page: PageRequest | None = None
        # The chain: next position `_pos`, asked with `_token` unless `_waiting` for one.
        self._pos = self._reached = chain_start
        self._token: str | None = None
        self._waiting = True
        self._cursor = cursor
        self._horizon = 0 if total_count is None else self._cap(total_count)
        if cursor is not None:
            position, token = cursor
            if (
                isinstance(position, bool)
                or not isinstance(position, int)
                or position < chain_start
                or (position - last) % limit
                or not isinstance(token, str)
                or not token
            ):
                raise ValidationError("cursor", f"{cursor!r} is not a position of this chain")
            self._pos = self._reached = position
            self._token, self._waiting = token, False
            if total_count is None:
                self._horizon = self._cap(position + 1)  # ask it once, to learn the total

    # -- queries -------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Nothing owed and nothing in flight (whether the job failed or not)."""
        if self._chain_page is not None or self._grid.in_flight:
            return False
        if self._failure is not None:
            return True
        return self._grid.done and not self._chain_owes()

    @property
    def failure(self) -> tuple[int | None, str] | None:
        return self._failure

    @property
    def total_count(self) -> int | None:
        """The `total_count` of the latest answer (grid or chain) that had one."""
        return self._total

    @property
    def in_flight(self) -> int:
        return self._grid.in_flight + (self._chain_page is not None)

    @property
    def items_emitted(self) -> int:
        return self._items

    @property
    def pages_done(self) -> int:
        """Requests answered while the job was alive (repeats of a re-walk included)."""
        return self._pages

    @property
    def rewalks(self) -> int:
        """How many times a refused token made the chain start again."""
        return self._rewalks

    @property
    def cursor(self) -> tuple[int, str] | None:
        """`(position, token)`: the furthest chain position there is a token to ask, for a
        checkpoint (`PageDone.cursor`, `PageProgress.cursor`); never moves back."""
        return self._cursor

    def __repr__(self) -> str:
        state = "failed" if self._failure else "done" if self.done else "open"
        chain = "waiting" if self._waiting else "ended" if self._token is None else "ready"
        return (
            f"CursorPlan({state}, last_grid={self._last}, limit={self._limit},"
            f" stop={self._stop}, chain={chain} at {self._pos}, reached={self._reached},"
            f" horizon={self._horizon}, rewalks={self._rewalks},"
            f" chain_in_flight={self._chain_page is not None}, grid={self._grid!r})"
        )

    # -- transitions ---------------------------------------------------------------------

    def owed(self, at_most: int | None = None) -> list[PageRequest]:
        """The chain's next request first (it is the slow, one-at-a-time part), then grid
        pages as `OffsetPlan.owed` hands them out."""
        if at_most is not None and at_most < 0:
            raise ValidationError("at_most", f"must be None or at least 0, got {at_most}")
        if self._failure is not None or at_most == 0:
            return []
        pages: list[PageRequest] = []
        if self._chain_owes():
            if self._waiting:  # the last grid page again: its answer gives a fresh token
                page = PageRequest(self._last, self._limit)
            else:
                assert self._token is not None
                page = PageRequest(self._pos, self._limit, (self._last, self._token))
            self._chain_page = page
            pages.append(page)
            if at_most is not None:
                at_most -= 1
        if at_most != 0:
            pages.extend(self._grid.owed(at_most))
        return pages

    def on_result(self, page: PageRequest, result: Any) -> Sequence[T]:
        """A decoded result (`total_count`, `items`, `search_after_token`) or None came back."""
        if self._is_chain(page):
            return self._chain_answered(page, result)
        items: Sequence[T] = self._grid.on_result(page, result)
        if page.offset == self._last:
            self._g_answered = True
        if self._failure is not None:
            return ()
        self._pages += 1
        raw = () if result is None else (result.items or ())
        total = None if result is None else result.total_count
        self._observe(page.offset, page.limit, len(raw), total)
        if page.offset == self._last:
            token = _token_of(result)
            if self._waiting:
                self._walk_from_last(token)
            elif token is not None:
                self._note_cursor(self._last + self._limit, token)
        self._items += len(items)
        return items

    def on_retry(self, page: PageRequest) -> None:
        """The request will be asked again: owed again (unless the job has failed)."""
        if self._is_chain(page):
            self._chain_page = None  # the chain's state is unchanged: the same request is owed
        else:
            self._grid.on_retry(page)

    def on_failure(self, page: PageRequest, status_code: int | None, status_message: str) -> None:
        """The request failed for good: the job fails, unless a chain request's token was
        refused and a re-walk is left (see the module docstring)."""
        if self._is_chain(page):
            self._chain_page = None
            if (
                self._failure is None
                and page.cursor is not None
                and status_code in REFUSED_TOKEN
                and self._rewalks < self._max_rewalks
            ):
                self._rewalks += 1
                self._waiting, self._token, self._pos = True, None, self._last + self._limit
                return
        else:
            self._grid.on_failure(page, status_code, status_message)
        if self._failure is None:
            self._failure = (status_code, status_message)

    # -- the chain -----------------------------------------------------------------------

    def _is_chain(self, page: PageRequest) -> bool:
        """The request is the chain's (else it is the grid's); raises if it is neither."""
        if self._chain_page is not None and page == self._chain_page:
            return True
        if page.cursor is not None:
            raise PageNotInFlight(
                f"chain page offset={page.offset} limit={page.limit} is not in flight"
                f" (never handed out by owed(), or already reported): {self!r}"
            )
        return False

    def _chain_owes(self) -> bool:
        if self._failure is not None or self._chain_page is not None:
            return False
        if self._pos >= self._horizon:
            return False
        if self._waiting:
            return self._g_answered  # else the grid's own ask of it will bring the token
        return self._token is not None

    def _chain_answered(self, page: PageRequest, result: Any) -> Sequence[T]:
        self._chain_page = None
        if self._failure is not None:
            return ()
        self._pages += 1
        items: Sequence[T] = () if result is None else (result.items or ())
        total = None if result is None else result.total_count
        self._grid.see_total(total)
        token = _token_of(result)
        limit = self._limit
        if page.cursor is None:  # the last grid page asked again: positions long emitted
            self._observe(page.offset, limit, len(items), total)
            self._walk_from_last(token)
            return ()
        position = page.offset
        count = min(len(items), limit)
        self._observe(position, limit, count, total)
        emit: Sequence[T] = ()
        if position >= self._reached and position not in self._seeded_chain:
            n = count if self._stop is None else min(count, self._stop - position)
            emit = items if n == len(items) else items[:n]
        self._reached = max(self._reached, position + limit)
        self._pos, self._token = position + limit, token
        if token is not None:
            self._note_cursor(position + limit, token)
        self._items += len(emit)
        return emit

    def _walk_from_last(self, token: str | None) -> None:
        """The last grid page answered while the chain waited: (re)start the walk."""
        self._waiting, self._token, self._pos = False, token, self._last + self._limit
        if token is not None:
            self._note_cursor(self._pos, token)

    def _note_cursor(self, position: int, token: str) -> None:
        if self._cursor is None or position >= self._cursor[0]:
            self._cursor = (position, token)

    def _observe(self, offset: int, limit: int, count: int, total: int | None) -> None:
        """Move the chain's horizon as the answer for `[offset, offset + limit)` says."""
        end = self._horizon
        if total is not None:
            self._total = end = total
        if count < limit:
            end = min(end, offset + count)
        self._horizon = self._cap(end)

    def _cap(self, end: int) -> int:
        return end if self._stop is None else min(end, self._stop)


def _token_of(result: Any) -> str | None:
    token = getattr(result, "search_after_token", None) if result is not None else None
    return token if isinstance(token, str) and token else None
