"""The offset-then-cursor kind: the grid, the chain, refused tokens, resuming; by hand, then
every interleaving by hypothesis against a simulated server.

Items are their own positions (ints), so "emitted once" is checked position by position. The
server checks what the API would: no `offset` above `max_offset`, and a token only with the
very `offset` and `limit` of the request that earned it; it also checks the plan's claim that a
chain page's first item is at `page.offset`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from dfs_async.errors import ValidationError
from dfs_async.plan import (
    REFUSED_TOKEN,
    CursorPlan,
    CursorResult,
    OffsetThenCursor,
    PageNotInFlight,
    PageRequest,
)
from dfs_async.records import PageDone, PageProgress

REFUSED = 40501
KIND = OffsetThenCursor()


class Server:
    """Positions [0, total); every answer carries a fresh token for the position after it."""

    def __init__(self, total: int, kind: OffsetThenCursor = KIND) -> None:
        self.total = total
        self.kind = kind
        self.tokens: dict[str, tuple[int, int, int]] = {}  # token -> (offset, limit, position)
        self.serial = 0

    def ask(self, page: PageRequest) -> CursorResult[int] | None:
        """The answer to `page` (None: its token is refused)."""
        fields = self.kind.task_fields(page)
        offset, limit = fields["offset"], fields["limit"]
        assert 0 <= offset <= self.kind.max_offset, f"offset {offset} sent"
        token = fields.get("search_after_token")
        if token is None:
            position = offset
        elif token not in self.tokens:
            return None
        else:
            earned = self.tokens[token]
            assert earned[:2] == (offset, limit), "a chain request changed offset or limit"
            position = earned[2]
        assert position == page.offset, "the plan misplaces the page's items"
        self.serial += 1
        fresh = f"t{self.serial}"
        self.tokens[fresh] = (offset, limit, position + limit)
        items = list(range(position, min(position + limit, self.total)))
        return CursorResult(total_count=self.total, items=items, search_after_token=fresh)

    def expire(self) -> None:
        self.tokens.clear()


def last_grid(offset: int, limit: int, max_offset: int = 20_000) -> int:
    return offset + (max_offset - offset) // limit * limit


def drive(plan: CursorPlan[int], server: Server) -> tuple[list[int], list[PageRequest]]:
    """Answer everything in the order asked; what was emitted and every request sent."""
    emitted: list[int] = []
    sent: list[PageRequest] = []
    while not plan.done:
        pages = plan.owed()
        assert pages, f"not done, yet nothing owed: {plan!r}"
        for page in pages:
            sent.append(page)
            result = server.ask(page)
            if result is None:
                plan.on_failure(page, REFUSED, "Invalid Field: 'search_after_token'.")
            else:
                emitted.extend(plan.on_result(page, result))
    return emitted, sent


# -- the grid, then the chain ----------------------------------------------------------------


def test_45000_positions_21_grid_pages_in_parallel_then_24_chain_pages() -> None:
    server = Server(45_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000)
    (first,) = plan.owed()
    assert first == PageRequest(0, 1000)
    emitted = list(plan.on_result(first, server.ask(first)))
    grid = plan.owed()
    assert [p.offset for p in grid] == list(range(1000, 20_001, 1000))  # 20 more, at once
    assert all(p.cursor is None for p in grid)
    for page in grid:  # in order: the last grid page (20,000) answers last
        emitted.extend(plan.on_result(page, server.ask(page)))
    chain: list[PageRequest] = []
    while not plan.done:
        (page,) = plan.owed()  # one at a time
        assert plan.owed() == []
        chain.append(page)
        fields = KIND.task_fields(page)
        assert (fields["offset"], fields["limit"]) == (20_000, 1000)
        assert fields["search_after_token"] == page.cursor[1]  # type: ignore[index]
        emitted.extend(plan.on_result(page, server.ask(page)))
    assert [p.offset for p in chain] == list(range(21_000, 45_000, 1000))  # 24 chain pages
    assert emitted == list(range(45_000))
    assert (plan.pages_done, plan.items_emitted, plan.failure) == (45, 45_000, None)
    assert plan.cursor is not None and plan.cursor[0] == 45_000


def test_the_chain_starts_as_soon_as_the_last_grid_page_answers() -> None:
    server = Server(30_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000)
    (first,) = plan.owed()
    plan.on_result(first, server.ask(first))
    *others, last = plan.owed()
    assert last.offset == 20_000
    plan.on_result(last, server.ask(last))
    (chain,) = plan.owed()
    assert chain.offset == 21_000 and chain.cursor is not None and chain.cursor[0] == 20_000
    for page in others:
        plan.on_result(page, server.ask(page))
    assert not plan.done


def test_a_limit_that_does_not_divide_the_cap_repeats_the_last_grid_offset() -> None:
    server = Server(21_500)
    plan: CursorPlan[int] = KIND.plan(limit=999)
    emitted, sent = drive(plan, server)
    assert max(p.offset for p in sent if p.cursor is None) == 19_980  # 20 * 999
    chain = [p for p in sent if p.cursor is not None]
    assert [p.offset for p in chain] == [20_979]
    assert {KIND.task_fields(p)["offset"] for p in chain} == {19_980}
    assert sorted(emitted) == list(range(21_500))


def test_max_items_ends_the_chain_and_cuts_its_last_page() -> None:
    server = Server(100_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000, offset=500, max_items=21_700)
    emitted, sent = drive(plan, server)
    assert sorted(emitted) == list(range(500, 22_200))
    chain = [p for p in sent if p.cursor is not None]
    assert [(p.offset, p.limit) for p in chain] == [(20_500, 1000), (21_500, 1000)]  # asks 1000


def test_small_data_never_needs_the_chain() -> None:
    emitted, sent = drive(KIND.plan(limit=1000), Server(20_999))
    assert sorted(emitted) == list(range(20_999))
    assert all(p.cursor is None for p in sent)


def test_a_chain_answer_without_a_token_ends_the_job() -> None:
    server = Server(30_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000)
    emitted = []
    while not plan.done:
        for page in plan.owed():
            result = server.ask(page)
            assert result is not None
            if page.offset == 23_000:
                result.search_after_token = None
            emitted.extend(plan.on_result(page, result))
    assert sorted(emitted) == list(range(24_000))  # 23,000's items, then nothing to go on with
    assert plan.failure is None and plan.owed() == []


def test_a_short_chain_page_ends_the_chain() -> None:
    server = Server(30_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000)
    emitted = []
    while not plan.done:
        for page in plan.owed():
            result = server.ask(page)
            assert result is not None and result.items is not None
            if page.offset == 22_000:
                del result.items[10:]
            emitted.extend(plan.on_result(page, result))
    assert sorted(emitted) == list(range(22_010))


# -- refused tokens: the chain is walked again -----------------------------------------------


def test_a_refused_token_walks_the_chain_again_and_emits_nothing_twice() -> None:
    server = Server(25_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000)
    emitted: list[int] = []
    while True:  # one request at a time, until the chain asks 24,000 (it emitted to 24,000)
        (page,) = plan.owed(at_most=1)
        if page.offset == 24_000:
            break
        emitted.extend(plan.on_result(page, server.ask(page)))
    assert emitted == list(range(24_000))
    server.expire()
    assert server.ask(page) is None
    plan.on_failure(page, REFUSED, "Invalid Field: 'search_after_token'.")
    assert plan.failure is None and plan.rewalks == 1
    (again,) = plan.owed()
    assert again == PageRequest(20_000, 1000)  # the last grid page, asked again, no token
    assert list(plan.on_result(again, server.ask(again))) == []
    assert plan.cursor is not None and plan.cursor[0] == 24_000  # a re-walk never moves it back
    walked = []
    while not plan.done:
        (page,) = plan.owed()
        walked.append(page.offset)
        emitted.extend(plan.on_result(page, server.ask(page)))
    assert walked == [21_000, 22_000, 23_000, 24_000]
    assert emitted == list(range(25_000))


def test_refused_tokens_fail_the_job_after_max_rewalks() -> None:
    server = Server(30_000)
    plan: CursorPlan[int] = OffsetThenCursor(max_rewalks=2).plan(limit=1000)
    refused = 0
    while not plan.done:
        for page in plan.owed():
            if page.cursor is not None and page.offset == 22_000:
                refused += 1
                plan.on_failure(page, REFUSED, "Invalid Field: 'search_after_token'.")
            else:
                plan.on_result(page, server.ask(page))
    assert refused == 3
    assert plan.failure == (REFUSED, "Invalid Field: 'search_after_token'.")
    assert plan.items_emitted == 22_000


def test_other_failures_of_a_chain_page_fail_the_job_at_once() -> None:
    server = Server(30_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000)
    while not plan.done:
        for page in plan.owed():
            if page.cursor is not None:
                plan.on_failure(page, 50000, "Internal Error.")
            else:
                plan.on_result(page, server.ask(page))
    assert plan.failure == (50000, "Internal Error.") and plan.rewalks == 0


def test_the_refused_token_codes_are_a_small_named_set() -> None:
    assert frozenset({40501}) <= REFUSED_TOKEN <= frozenset({40400, 40501})


# -- seeded plans (resuming) -----------------------------------------------------------------


def test_a_seeded_plan_resumes_the_chain_from_its_cursor_without_a_rewalk() -> None:
    server = Server(26_000)
    server.tokens["resume"] = (20_000, 1000, 23_000)  # earned by the earlier run
    progress = PageProgress(  # every PageDone's offset: grid and chain pages, but 5000
        answered=frozenset(range(0, 23_000, 1000)) - {5000},
        total_count=26_000,
        cursor=(23_000, "resume"),
    )
    plan: CursorPlan[int] = KIND.plan(limit=1000, progress=progress)
    first = plan.owed()
    assert first == [PageRequest(23_000, 1000, (20_000, "resume")), PageRequest(5000, 1000)]
    emitted = [x for page in first for x in plan.on_result(page, server.ask(page))]
    more, sent = drive(plan, server)
    assert [p.offset for p in sent] == [24_000, 25_000]
    assert sorted(emitted + more) == [*range(5000, 6000), *range(23_000, 26_000)]
    assert plan.rewalks == 0


def test_a_seeded_plan_whose_token_expired_rewalks_and_skips_what_was_written() -> None:
    server = Server(25_000)
    progress = PageProgress(
        answered=frozenset(range(0, 23_000, 1000)), total_count=25_000, cursor=(23_000, "old")
    )
    plan: CursorPlan[int] = KIND.plan(limit=1000, progress=progress)
    emitted, sent = drive(plan, server)
    assert [(p.offset, p.cursor is not None) for p in sent] == [
        (23_000, True),  # refused
        (20_000, False),  # the last grid page again: a fresh token
        (21_000, True),
        (22_000, True),  # written before: nothing emitted
        (23_000, True),
        (24_000, True),
    ]
    assert sorted(emitted) == list(range(23_000, 25_000))
    assert plan.rewalks == 1


def test_a_seeded_plan_without_a_cursor_asks_the_last_grid_page_again_for_a_token() -> None:
    progress = PageProgress(answered=frozenset(range(0, 20_001, 1000)), total_count=22_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000, progress=progress)
    emitted, sent = drive(plan, Server(22_000))
    assert [p.offset for p in sent] == [20_000, 21_000]
    assert sorted(emitted) == list(range(21_000, 22_000))


def test_a_seeded_plan_skips_a_chain_page_answered_before_without_a_token() -> None:
    server = Server(26_000)
    server.tokens["t23"] = (20_000, 1000, 23_000)
    progress = PageProgress(  # 23,000 was answered, with no token: the cursor stayed there
        answered=frozenset(range(0, 24_000, 1000)), total_count=26_000, cursor=(23_000, "t23")
    )
    emitted, sent = drive(KIND.plan(limit=1000, progress=progress), server)
    assert [p.offset for p in sent] == [23_000, 24_000, 25_000]
    assert sorted(emitted) == list(range(24_000, 26_000))


def test_a_seeded_cursor_without_a_total_asks_the_chain_once_to_learn_it() -> None:
    server = Server(23_500)
    server.tokens["t21"] = (20_000, 1000, 21_000)
    progress = PageProgress(answered=frozenset(range(0, 20_001, 1000)), cursor=(21_000, "t21"))
    emitted, sent = drive(KIND.plan(limit=1000, progress=progress), server)
    assert [p.offset for p in sent] == [21_000, 22_000, 23_000]
    assert sorted(emitted) == list(range(21_000, 23_500))


def test_a_chain_answer_moves_the_grids_horizon_too() -> None:
    server = Server(30_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000)
    (first,) = plan.owed()
    plan.on_result(first, server.ask(first))
    *grid, last = plan.owed()
    plan.on_result(last, server.ask(last))
    (chain,) = plan.owed()
    short = server.ask(grid[0])
    assert short is not None and short.items is not None
    del short.items[10:]
    plan.on_result(grid[0], short)  # the data ends at 1010, this answer says
    for page in grid[1:]:
        plan.on_retry(page)  # parked: beyond the end
    assert plan.owed() == []
    plan.on_result(chain, server.ask(chain))  # 30,000 after all: the grid pages are owed again
    assert [p.offset for p in plan.owed()] == [22_000, *range(2000, 20_000, 1000)]


def test_page_done_and_page_progress_carry_the_cursor() -> None:
    done = PageDone("t", 21_000, 45_000, 1000, cursor=(22_000, "tok"))
    assert msgspec.json.decode(msgspec.json.encode(done), type=PageDone) == done
    progress = PageProgress(frozenset({0}), 45_000, (22_000, "tok"))
    assert msgspec.json.decode(msgspec.json.encode(progress), type=PageProgress) == progress
    assert PageDone("t", 0, None, 0).cursor is None and PageProgress().cursor is None


# -- the kind's surface ----------------------------------------------------------------------


def test_task_fields_and_the_decoded_result() -> None:
    assert KIND.task_fields(PageRequest(3000, 1000)) == {"offset": 3000, "limit": 1000}
    chain = PageRequest(21_000, 1000, (20_000, "abc"))
    assert KIND.task_fields(chain) == {
        "offset": 20_000,
        "limit": 1000,
        "search_after_token": "abc",
    }
    raw = b'{"total_count": 5, "items": [1, 2], "search_after_token": "n", "new": 1}'
    result = msgspec.json.decode(raw, type=KIND.result_type(int))
    assert (result.total_count, result.items, result.search_after_token) == (5, [1, 2], "n")
    assert PageRequest(1, 2) == PageRequest(1, 2, None) and hash(chain)


def test_a_result_type_without_a_token_ends_the_chain() -> None:
    class Plain:
        def __init__(self, page: PageRequest) -> None:
            self.total_count = 30_000
            self.items = list(range(page.offset, page.offset + page.limit))

    plan: CursorPlan[int] = KIND.plan(limit=1000)
    while not plan.done:
        for page in plan.owed():
            plan.on_result(page, Plain(page))
    assert plan.items_emitted == 21_000 and plan.failure is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 10, "offset": 20_001}, "offset"),
        ({"limit": 0}, "limit"),
        ({"limit": 10, "max_items": 0}, "max_items"),
        ({"limit": 10, "progress": PageProgress(cursor=(20_005, "t"))}, "cursor"),
        ({"limit": 10, "progress": PageProgress(cursor=(20_000, "t"))}, "cursor"),
        ({"limit": 10, "progress": PageProgress(answered=frozenset({20_015}))}, "answered"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=f"^{field}: "):
        KIND.plan(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "report",
    [
        lambda plan, page: plan.on_result(page, None),
        lambda plan, page: plan.on_retry(page),
        lambda plan, page: plan.on_failure(page, REFUSED, "x"),
    ],
    ids=["on_result", "on_retry", "on_failure"],
)
def test_reporting_a_chain_page_not_in_flight_is_a_clear_error(
    report: Callable[[CursorPlan[int], PageRequest], object],
) -> None:
    server = Server(30_000)
    plan: CursorPlan[int] = KIND.plan(limit=1000)
    while True:
        pages = plan.owed()
        if any(p.cursor for p in pages):
            break
        for page in pages:
            plan.on_result(page, server.ask(page))
    (chain,) = pages
    assert chain.cursor is not None
    with pytest.raises(PageNotInFlight, match="chain page offset=21000"):
        report(plan, PageRequest(21_000, 1000, (20_000, "forged")))
    with pytest.raises(PageNotInFlight):
        report(plan, PageRequest(20_000, 1000))  # the last grid page: answered already
    plan.on_result(chain, server.ask(chain))
    with pytest.raises(PageNotInFlight):
        report(plan, chain)  # already reported
    assert plan.items_emitted == 22_000


# -- every interleaving ----------------------------------------------------------------------


@st.composite
def jobs(draw: st.DrawFn) -> tuple[OffsetThenCursor, int, int, int | None, int]:
    """A kind and a job: small (a low cap, tiny pages) or the real cap with big data."""
    if draw(st.booleans()):
        cap = draw(st.integers(0, 40))
        kind = OffsetThenCursor(max_offset=cap, max_rewalks=draw(st.integers(0, 2)))
        limit = draw(st.integers(1, 8))
        offset = draw(st.integers(0, cap))
        total = draw(st.integers(0, 120))
        max_items = draw(st.none() | st.integers(1, 100))
    else:
        kind = OffsetThenCursor(max_rewalks=draw(st.integers(0, 2)))
        limit = draw(st.sampled_from([1000, 999, 750, 640]))
        offset = draw(st.sampled_from([0, 0, 1500, 19_999, 20_000]))
        total = draw(st.sampled_from([0, 999, 20_000, 45_000]) | st.integers(0, 60_000))
        max_items = draw(st.none() | st.none() | st.integers(1, 50_000))
    return kind, limit, offset, max_items, total


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job=jobs(), data=st.data())
def test_any_order_retries_and_refused_tokens_deliver_each_position_once(
    job: tuple[OffsetThenCursor, int, int, int | None, int], data: st.DataObject
) -> None:
    kind, limit, offset, max_items, total = job
    server = Server(total, kind)
    plan: CursorPlan[int] = kind.plan(limit=limit, offset=offset, max_items=max_items)
    stop = total if max_items is None else min(total, offset + max_items)
    last = last_grid(offset, limit, kind.max_offset)
    in_flight: list[PageRequest] = []
    emitted: set[int] = set()
    answered_grid: set[int] = set()
    retries = expiries = refusals = 0
    while not plan.done:
        for page in plan.owed(data.draw(st.none() | st.integers(1, 4))):
            assert kind.task_fields(page)["offset"] <= kind.max_offset
            if page.cursor is not None:
                assert page.cursor[0] == last and page.limit == limit
            elif page.offset in answered_grid:
                assert page == PageRequest(last, limit), "only the last grid page is re-asked"
            in_flight.append(page)
        chain = [p for p in in_flight if p.cursor is not None or p.offset in answered_grid]
        assert len(chain) <= 1, f"{len(chain)} chain requests in flight"
        page = in_flight.pop(data.draw(st.integers(0, len(in_flight) - 1)))
        move = data.draw(st.integers(0, 9))
        if move == 0 and retries < 10:
            retries += 1
            plan.on_retry(page)
            continue
        if move == 1 and expiries < 3:
            expiries += 1
            server.expire()
        result = server.ask(page)
        if result is None:
            refusals += 1
            plan.on_failure(page, REFUSED, "Invalid Field: 'search_after_token'.")
            continue
        if page.cursor is None:
            answered_grid.add(page.offset)
        for position in plan.on_result(page, result):
            assert position not in emitted, f"position {position} emitted twice"
            emitted.add(position)
    assert plan.owed() == [] and not in_flight
    if plan.failure is None:
        assert emitted == set(range(offset, max(offset, stop)))
        assert plan.items_emitted == len(emitted)
        assert plan.rewalks == refusals <= kind.max_rewalks
    else:
        assert plan.failure[0] == REFUSED and refusals == kind.max_rewalks + 1


class CursorMachine(RuleBasedStateMachine):
    """An engine doing anything the plan allows, a server that may change its data, expire
    tokens, misbehave or fail, and a checkpoint that restarts the job from its `PageDone`s.

    `stable`: the data never changes and answers are well-formed (tokens may still expire and
    requests may still fail). The checkpoint keeps what the CLI keeps: the offsets of every
    `PageDone`, the latest total, and the latest `PageDone.cursor`.
    """

    @initialize(
        cap=st.integers(0, 30),
        limit=st.integers(1, 6),
        max_items=st.none() | st.integers(1, 70),
        total=st.integers(0, 90),
        max_rewalks=st.integers(0, 2),
        stable=st.booleans(),
        faults=st.booleans(),
        data=st.data(),
    )
    def start(
        self,
        cap: int,
        limit: int,
        max_items: int | None,
        total: int,
        max_rewalks: int,
        stable: bool,
        faults: bool,
        data: st.DataObject,
    ) -> None:
        self.kind = OffsetThenCursor(max_offset=cap, max_rewalks=max_rewalks)
        self.limit, self.max_items = limit, max_items
        self.offset = data.draw(st.integers(0, cap))
        self.stop = math.inf if max_items is None else self.offset + max_items
        self.last = last_grid(self.offset, limit, cap)
        self.server = Server(total, self.kind)
        self.max_total = total
        self.stable, self.faults = stable, faults
        self.emitted: set[int] = set()  # written, over every run of the job
        self.checkpoint: list[PageDone] = []
        self.tokenless = False  # an answer came without a token (the chain may end early)
        self.start_run(None)

    def start_run(self, progress: PageProgress | None) -> None:
        self.plan: CursorPlan[int] = self.kind.plan(
            limit=self.limit, offset=self.offset, max_items=self.max_items, progress=progress
        )
        self.progress = progress
        self.in_flight: list[PageRequest] = []
        self.answered_grid: set[int] = set(progress.answered) if progress else set()
        self.answered_grid = {o for o in self.answered_grid if o <= self.last}
        self.life_items = 0
        self.answers = 0
        self.failure: tuple[int | None, str] | None = None

    def bound(self) -> int:
        """The most requests a run may have answered (the module docstring's bound)."""
        limit, last = self.limit, self.last
        grid_stop = min(self.stop, last + limit)
        end = max(self.offset + 1, min(self.max_total, grid_stop))
        grid = math.ceil((end - self.offset) / limit)
        horizon = min(self.max_total, self.stop)
        if self.progress is not None and self.progress.cursor is not None:
            horizon = max(horizon, min(self.progress.cursor[0] + 1, self.stop))
        per_walk = 1 + max(0, math.ceil((horizon - last - limit) / limit))
        return int(grid + (1 + self.plan.rewalks) * per_walk)

    def pick(self, data: st.DataObject) -> PageRequest:
        return self.in_flight.pop(data.draw(st.integers(0, len(self.in_flight) - 1)))

    def receive(self, page: PageRequest, result: CursorResult[int]) -> None:
        failed_before = self.plan.failure is not None
        out = self.plan.on_result(page, result)
        self.answers += 1
        if failed_before:
            assert list(out) == []
        if page.cursor is None:
            self.answered_grid.add(page.offset)
        for position in out:
            assert position not in self.emitted, f"position {position} emitted twice"
            assert page.offset <= position < page.offset + page.limit
            assert self.offset <= position < self.stop
            self.emitted.add(position)
        self.life_items += len(out)
        if self.plan.failure is None:  # what the engine hands the checkpoint
            self.checkpoint.append(
                PageDone("t", page.offset, self.plan.total_count, len(out), self.plan.cursor)
            )

    @rule(at_most=st.none() | st.integers(0, 3))
    def take(self, at_most: int | None) -> None:
        pages = self.plan.owed(at_most)
        if at_most is not None:
            assert len(pages) <= at_most
        if self.plan.failure is not None:
            assert pages == []
        for page in pages:
            assert page not in self.in_flight
            assert self.kind.task_fields(page)["offset"] <= self.kind.max_offset
            assert (page.offset - self.offset) % self.limit == 0
            assert self.offset <= page.offset < self.stop
            if page.cursor is not None:
                assert page.cursor[0] == self.last and page.limit == self.limit
            elif page.offset in self.answered_grid:
                assert (page.offset, page.limit) == (self.last, self.limit)
            else:
                assert page.offset <= self.last and page.offset + page.limit <= self.stop
        self.in_flight.extend(pages)
        chain = [p for p in self.in_flight if p.cursor or p.offset in self.answered_grid]
        assert len(chain) <= 1, "more than one chain request in flight"

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        page = self.pick(data)
        result = self.server.ask(page)
        if result is None:
            self.refused(page)
            return
        if not self.stable:
            kind = data.draw(st.sampled_from(["ok", "short", "long", "no total", "no token"]))
            items = result.items or []
            if kind == "short":
                result.items = items[: data.draw(st.integers(0, len(items)))]
            elif kind == "long":
                result.items = list(range(page.offset, page.offset + page.limit + 3))
            elif kind == "no total":
                result.total_count = None
            elif kind == "no token":
                result.search_after_token = None
                self.tokenless = True
        self.receive(page, result)

    def refused(self, page: PageRequest) -> None:
        assert page.cursor is not None
        rewalks = self.plan.rewalks
        self.plan.on_failure(page, REFUSED, "Invalid Field: 'search_after_token'.")
        if self.failure is None and self.plan.rewalks == rewalks:
            self.failure = (REFUSED, "Invalid Field: 'search_after_token'.")

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        self.plan.on_retry(self.pick(data))

    @rule()
    def expire_tokens(self) -> None:
        self.server.expire()

    @precondition(lambda self: self.in_flight and self.faults)
    @rule(data=st.data(), code=st.sampled_from([50000, None]))
    def fail(self, data: st.DataObject, code: int | None) -> None:
        self.plan.on_failure(self.pick(data), code, f"failed with {code}")
        if self.failure is None:
            self.failure = (code, f"failed with {code}")

    @precondition(lambda self: not self.stable)
    @rule(total=st.integers(0, 90))
    def change_total(self, total: int) -> None:
        self.server.total = total
        self.max_total = max(self.max_total, total)

    @rule()
    def restart(self) -> None:
        """The run dies; the next one resumes from the checkpoint (requests out are lost)."""
        done = self.checkpoint
        cursors = [d.cursor for d in done if d.cursor is not None]
        self.start_run(
            PageProgress(
                answered=frozenset(d.offset for d in done),
                total_count=done[-1].total_count if done else None,
                cursor=cursors[-1] if cursors else None,
            )
            if done
            else None
        )

    @rule(offset=st.integers(0, 80), limit=st.integers(1, 7), token=st.sampled_from(["", "x"]))
    def report_a_page_not_in_flight(self, offset: int, limit: int, token: str) -> None:
        page = PageRequest(offset, limit, (self.last, token) if token else None)
        if page in self.in_flight:
            return
        with pytest.raises(PageNotInFlight):
            self.plan.on_retry(page)

    @invariant()
    def ledger_agrees(self) -> None:
        plan = self.plan
        assert plan.items_emitted == self.life_items
        assert plan.in_flight == len(self.in_flight)
        assert plan.failure == self.failure
        assert plan.pages_done <= self.answers <= self.bound()
        if plan.done:
            assert not self.in_flight

    def teardown(self) -> None:
        """Drain with a well-behaved server; it must end, in bound; complete when it can."""
        if not hasattr(self, "plan"):
            return
        for _ in range(10_000):
            if self.plan.done:
                break
            self.in_flight.extend(self.plan.owed())
            assert self.in_flight, "not done, yet nothing owed and nothing in flight"
            while self.in_flight:
                page = self.in_flight.pop()
                result = self.server.ask(page)
                if result is None:
                    self.refused(page)
                else:
                    self.receive(page, result)
            assert self.answers <= self.bound()
        assert self.plan.done and self.plan.owed() == []
        if self.stable and self.plan.failure is None:
            wanted = set(range(self.offset, int(min(self.server.total, self.stop))))
            assert self.emitted == wanted


CursorMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_cursor_machine = CursorMachine.TestCase
