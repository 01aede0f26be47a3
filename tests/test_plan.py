"""The paging ledger: each transition by hand, then every interleaving by hypothesis.

Items are their own positions (ints), so "emitted once" is checked position by position.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
from dfs_async.plan import OffsetPlan as Plan
from dfs_async.plan import PageNotInFlight, PageRequest


def serve(page: PageRequest, total: int) -> list[int]:
    """A server holding positions [0, total): the items of a page are their positions."""
    return list(range(page.offset, min(page.offset + page.limit, total)))


def answer(plan: Plan[int], page: PageRequest, total: int) -> list[int]:
    return list(plan.on_page(page, total, serve(page, total)))


# -- each transition -------------------------------------------------------------------------


def test_only_the_first_page_is_owed_until_it_answers() -> None:
    plan: Plan[int] = Plan(limit=100)
    assert plan.owed() == [PageRequest(0, 100)]
    assert plan.owed() == []  # handed out: in flight, not owed again
    assert not plan.done
    assert plan.in_flight == 1


def test_first_answer_owes_every_remaining_page_at_once() -> None:
    plan: Plan[int] = Plan(limit=100)
    (first,) = plan.owed()
    assert answer(plan, first, 250) == list(range(100))
    assert plan.total_count == 250
    rest = plan.owed()
    assert rest == [PageRequest(100, 100), PageRequest(200, 100)]
    assert plan.owed() == []
    assert answer(plan, rest[1], 250) == list(range(200, 250))  # any order
    assert not plan.done
    assert answer(plan, rest[0], 250) == list(range(100, 200))
    assert plan.done
    assert plan.failure is None
    assert (plan.items_emitted, plan.pages_done) == (250, 3)


def test_start_offset_shifts_the_grid() -> None:
    plan: Plan[int] = Plan(limit=10, offset=30)
    (first,) = plan.owed()
    assert first == PageRequest(30, 10)
    answer(plan, first, 55)
    assert [p.offset for p in plan.owed()] == [40, 50]


def test_offset_past_the_end_ends_with_the_first_page() -> None:
    plan: Plan[int] = Plan(limit=10, offset=500)
    (first,) = plan.owed()
    assert answer(plan, first, 42) == []
    assert plan.done
    assert plan.owed() == []


def test_max_items_caps_pages_and_shrinks_the_last_limit() -> None:
    plan: Plan[int] = Plan(limit=100, max_items=150)
    (first,) = plan.owed()
    answer(plan, first, 10_000)
    assert plan.owed() == [PageRequest(100, 50)]  # not 99 more pages, and only 50 items asked


def test_max_items_below_limit_asks_one_small_page() -> None:
    plan: Plan[int] = Plan(limit=1000, offset=7, max_items=3)
    (first,) = plan.owed()
    assert first == PageRequest(7, 3)
    assert answer(plan, first, 10_000) == [7, 8, 9]
    assert plan.done


def test_an_answer_longer_than_its_page_is_cut_and_a_fitting_one_is_not_copied() -> None:
    plan: Plan[int] = Plan(limit=2)
    (first,) = plan.owed()
    assert list(plan.on_page(first, 10, [0, 1, 2, 3])) == [0, 1]
    page = plan.owed()[0]
    items = [2, 3]
    assert plan.on_page(page, 10, items) is items


def test_total_count_growing_owes_the_new_pages() -> None:
    plan: Plan[int] = Plan(limit=10)
    answer(plan, plan.owed()[0], 20)
    (second,) = plan.owed()
    assert answer(plan, second, 45) == list(range(10, 20))
    assert [p.offset for p in plan.owed()] == [20, 30, 40]


def test_total_count_shrinking_parks_pages_not_yet_sent() -> None:
    plan: Plan[int] = Plan(limit=10)
    answer(plan, plan.owed()[0], 50)
    sent = plan.owed(at_most=2)  # 10 and 20 go out; 30 and 40 are still owed
    assert [p.offset for p in sent] == [10, 20]
    assert answer(plan, sent[0], 25) == list(range(10, 20))
    assert [p.offset for p in plan.owed()] == []  # 30 and 40 lie beyond the end: parked
    assert answer(plan, sent[1], 25) == [20, 21, 22, 23, 24]
    assert plan.done
    assert plan.items_emitted == 25


def test_a_retried_page_beyond_a_shrunk_end_is_not_asked_again() -> None:
    plan: Plan[int] = Plan(limit=10)
    answer(plan, plan.owed()[0], 40)
    a, b = plan.owed(at_most=2)
    plan.on_retry(b)  # 20 is owed again...
    answer(plan, a, 15)  # ...but the data now ends at 15: 20 (and 30) are parked
    assert plan.owed() == []
    assert plan.done


def test_a_larger_total_after_a_shrink_unparks_the_pages() -> None:
    plan: Plan[int] = Plan(limit=10)
    answer(plan, plan.owed()[0], 40)
    a, b = plan.owed(at_most=2)
    answer(plan, a, 15)
    assert plan.owed() == []
    assert answer(plan, b, 40) == list(range(20, 30))  # in flight: not recalled, emitted
    assert [p.offset for p in plan.owed()] == [30]  # grown again: owed again


def test_a_short_page_before_the_end_parks_the_pages_beyond_it() -> None:
    plan: Plan[int] = Plan(limit=10)
    answer(plan, plan.owed()[0], 100)
    (second,) = plan.owed(at_most=1)
    assert list(plan.on_page(second, 100, [10, 11, 12])) == [10, 11, 12]
    assert plan.owed() == []
    assert plan.done


def test_an_empty_page_parks_the_pages_beyond_it() -> None:
    plan: Plan[int] = Plan(limit=10)
    answer(plan, plan.owed()[0], 100)
    (second,) = plan.owed(at_most=1)
    assert list(plan.on_page(second, 100, [])) == []
    assert plan.done


def test_a_null_total_count_says_nothing_more_to_fetch() -> None:
    plan: Plan[int] = Plan(limit=10)
    (first,) = plan.owed()
    assert list(plan.on_page(first, None, list(range(10)))) == list(range(10))
    assert plan.total_count is None
    assert plan.done


def test_a_retried_page_is_owed_again() -> None:
    plan: Plan[int] = Plan(limit=10)
    (first,) = plan.owed()
    plan.on_retry(first)
    assert plan.owed() == [first]
    answer(plan, first, 30)
    second, third = plan.owed()
    plan.on_retry(third)
    assert plan.owed() == [third]
    answer(plan, third, 30)
    answer(plan, second, 30)
    assert plan.done
    assert (plan.items_emitted, plan.pages_done) == (30, 3)


def test_retried_pages_come_first_and_at_most_limits_the_batch() -> None:
    plan: Plan[int] = Plan(limit=10)
    answer(plan, plan.owed()[0], 100)
    a, _, c = plan.owed(at_most=3)
    plan.on_retry(c)
    plan.on_retry(a)
    assert plan.owed(at_most=0) == []
    assert [p.offset for p in plan.owed(at_most=3)] == [10, 30, 40]
    assert [p.offset for p in plan.owed()] == [50, 60, 70, 80, 90]
    with pytest.raises(ValueError, match="at_most"):
        plan.owed(at_most=-1)


def test_a_failure_fails_the_job_and_late_pages_emit_nothing() -> None:
    plan: Plan[int] = Plan(limit=10)
    answer(plan, plan.owed()[0], 40)
    a, b, c = plan.owed()
    plan.on_failure(a, 40501, "Invalid Field")
    assert plan.failure == (40501, "Invalid Field")
    assert plan.owed() == []
    assert not plan.done  # b and c are still in flight
    assert answer(plan, b, 40) == []
    plan.on_failure(c, 50000, "Internal Error")  # the first failure stays
    assert plan.done
    assert plan.failure == (40501, "Invalid Field")
    assert (plan.items_emitted, plan.pages_done) == (10, 1)


def test_a_retry_after_the_failure_owes_nothing() -> None:
    plan: Plan[int] = Plan(limit=10)
    answer(plan, plan.owed()[0], 30)
    a, b = plan.owed()
    plan.on_failure(a, None, "connection dropped")
    plan.on_retry(b)
    assert plan.owed() == []
    assert plan.done
    assert plan.failure == (None, "connection dropped")


def test_a_failing_first_page_ends_the_job() -> None:
    plan: Plan[int] = Plan(limit=10)
    plan.on_failure(plan.owed()[0], 40102, "No Search Results")
    assert plan.done
    assert plan.owed() == []


@pytest.mark.parametrize(
    "report",
    [
        lambda plan, page: plan.on_page(page, 10, []),
        lambda plan, page: plan.on_retry(page),
        lambda plan, page: plan.on_failure(page, 1, "x"),
    ],
    ids=["on_page", "on_retry", "on_failure"],
)
def test_reporting_a_page_not_in_flight_is_a_clear_error(
    report: Callable[[Plan[int], PageRequest], object],
) -> None:
    plan: Plan[int] = Plan(limit=10)
    call = report
    with pytest.raises(PageNotInFlight, match=r"offset=0 limit=10 is not in flight"):
        call(plan, PageRequest(0, 10))  # never handed out
    (first,) = plan.owed()
    with pytest.raises(PageNotInFlight, match="offset=0 limit=5"):
        call(plan, PageRequest(0, 5))  # wrong limit
    answer(plan, first, 100)
    with pytest.raises(PageNotInFlight):
        call(plan, first)  # already reported
    assert plan.items_emitted == 10  # the bad calls changed nothing


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": 10, "offset": -1}, "offset"),
        ({"limit": 10, "max_items": 0}, "max_items"),
        ({"limit": 10, "max_items": 2.5}, "max_items"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=f"^{field}: "):
        Plan(**kwargs)  # type: ignore[arg-type]


# -- every interleaving ----------------------------------------------------------------------


def any_grid(test: Callable[..., None]) -> Callable[..., None]:
    """Run `test` over any plan grid and true total (`data` draws the order of events)."""
    return settings(max_examples=150, deadline=None)(
        given(
            limit=st.integers(1, 8),
            offset=st.integers(0, 20),
            max_items=st.none() | st.integers(1, 40),
            total=st.integers(0, 80),
            data=st.data(),
        )(test)
    )


@any_grid
def test_still_data_is_delivered_exactly_once_in_the_fewest_pages(
    limit: int, offset: int, max_items: int | None, total: int, data: st.DataObject
) -> None:
    """Any answer order, any batch sizes, retries: each wanted position once, no page wasted."""
    plan: Plan[int] = Plan(limit=limit, offset=offset, max_items=max_items)
    stop = total if max_items is None else min(total, offset + max_items)
    in_flight: list[PageRequest] = []
    emitted: list[int] = []
    retries = 0
    while not plan.done:
        in_flight.extend(plan.owed(data.draw(st.none() | st.integers(1, 3))))
        page = in_flight.pop(data.draw(st.integers(0, len(in_flight) - 1)))
        if retries < 8 and data.draw(st.booleans()):
            retries += 1
            plan.on_retry(page)
        else:
            emitted.extend(plan.on_page(page, total, serve(page, total)))
    assert sorted(emitted) == list(range(offset, stop))  # sorted: a duplicate would show
    assert plan.pages_done == max(1, math.ceil((stop - offset) / limit))
    assert plan.items_emitted == len(emitted)
    assert plan.failure is None
    assert plan.owed() == []


# -- seeded plans (resuming) -----------------------------------------------------------------


def test_a_seeded_plan_skips_the_answered_pages_without_probing() -> None:
    plan: Plan[int] = Plan(limit=10, answered=[0, 20], total_count=45)
    assert [p.offset for p in plan.owed()] == [10, 30, 40]
    assert plan.total_count == 45


def test_a_seeded_plan_whose_first_page_is_missing_asks_it_with_the_rest() -> None:
    plan: Plan[int] = Plan(limit=10, answered=[10], total_count=25)
    assert [p.offset for p in plan.owed(at_most=1)] == [0]
    assert [p.offset for p in plan.owed()] == [20]


def test_a_seeded_plan_with_every_page_answered_is_done_at_once() -> None:
    plan: Plan[int] = Plan(limit=10, offset=5, max_items=20, answered=[5, 15], total_count=999)
    assert plan.done and plan.owed() == []
    # the first page answered with a null total: the job ended with it
    assert Plan(limit=10, answered=[0]).done


def test_a_seeded_plan_without_a_total_probes() -> None:
    plan: Plan[int] = Plan(limit=10, answered=[20])
    assert plan.owed() == [PageRequest(0, 10)]
    answer(plan, PageRequest(0, 10), 35)
    assert [p.offset for p in plan.owed()] == [10, 30]


@pytest.mark.parametrize("answered", [[5], [-10], [100]])
def test_answered_offsets_off_the_grid_are_refused(answered: list[int]) -> None:
    with pytest.raises(ValueError, match="grid"):
        Plan(limit=10, max_items=100, answered=answered, total_count=50)


@any_grid
def test_a_seeded_plan_delivers_every_remaining_position_once_and_never_reasks(
    limit: int, offset: int, max_items: int | None, total: int, data: st.DataObject
) -> None:
    """An earlier run answered any subset of the grid: the rest comes, each position once."""
    stop = total if max_items is None else min(total, offset + max_items)
    grid = range(offset, max(stop, offset + 1), limit)
    answered = set(data.draw(st.lists(st.sampled_from(grid), unique=True)))
    before = [x for o in answered for x in serve(PageRequest(o, limit), stop)]
    plan: Plan[int] = Plan(
        limit=limit, offset=offset, max_items=max_items, answered=answered, total_count=total
    )
    in_flight: list[PageRequest] = []
    emitted: list[int] = []
    while not plan.done:
        pages = plan.owed(data.draw(st.none() | st.integers(1, 3)))
        assert not answered & {p.offset for p in pages}
        in_flight.extend(pages)
        page = in_flight.pop(data.draw(st.integers(0, len(in_flight) - 1)))
        if data.draw(st.booleans()):
            plan.on_retry(page)
        else:
            emitted.extend(plan.on_page(page, total, serve(page, total)))
    assert sorted(before + emitted) == list(range(offset, stop))
    assert plan.pages_done == len(set(range(offset, stop, limit)) - answered)  # no probing


class PagingMachine(RuleBasedStateMachine):
    """An engine doing anything the plan allows, against a server whose data may change.

    `stable`: the total never changes and the server never misbehaves. Otherwise the total
    moves at any time, and answers may be short, over-long or without a total. `faults`:
    pages may fail for good.
    """

    @initialize(
        limit=st.integers(1, 6),
        offset=st.integers(0, 15),
        max_items=st.none() | st.integers(1, 30),
        total=st.integers(0, 60),
        stable=st.booleans(),
        faults=st.booleans(),
        seeded=st.booleans(),
        data=st.data(),
    )
    def start(
        self,
        limit: int,
        offset: int,
        max_items: int | None,
        total: int,
        stable: bool,
        faults: bool,
        seeded: bool,
        data: st.DataObject,
    ) -> None:
        self.limit, self.offset = limit, offset
        self.stop = math.inf if max_items is None else offset + max_items
        # seeded: an earlier run (which saw `total`) answered some grid pages already
        self.answered: set[int] = set()
        if seeded:
            grid = range(offset, max(int(min(total, self.stop)), offset + 1), limit)
            self.answered = set(data.draw(st.lists(st.sampled_from(grid), unique=True)))
        self.plan: Plan[int] = Plan(
            limit=limit,
            offset=offset,
            max_items=max_items,
            answered=self.answered,
            total_count=total if seeded else None,
        )
        end = min(total, self.stop)
        self.seeded = {x for o in self.answered for x in range(o, int(min(o + limit, end)))}
        self.total = self.max_total = total
        self.stable, self.faults = stable, faults
        self.in_flight: list[PageRequest] = []
        self.emitted: set[int] = set(self.seeded)
        self.failure: tuple[int | None, str] | None = None
        self.answers = 0

    def bound(self) -> int:
        """The most pages the plan may ever have answered (the module docstring's bound)."""
        end = max(self.offset + 1, min(self.max_total, self.stop))
        return math.ceil((end - self.offset) / self.limit)

    def pick(self, data: st.DataObject) -> PageRequest:
        return self.in_flight.pop(data.draw(st.integers(0, len(self.in_flight) - 1)))

    def receive(self, page: PageRequest, total: int | None, items: list[int]) -> None:
        failed_before = self.failure is not None
        out = self.plan.on_page(page, total, items)
        self.answers += 1
        if failed_before:
            assert list(out) == []
        for position in out:
            assert position not in self.emitted, f"position {position} emitted twice"
            assert page.offset <= position < page.offset + page.limit
            assert self.offset <= position < self.stop
            self.emitted.add(position)

    @rule(at_most=st.none() | st.integers(0, 3))
    def take(self, at_most: int | None) -> None:
        pages = self.plan.owed(at_most)
        if at_most is not None:
            assert len(pages) <= at_most
        if self.failure is not None:
            assert pages == []
        for page in pages:
            assert page not in self.in_flight
            assert page.offset not in self.answered, "a page answered before is asked again"
            assert (page.offset - self.offset) % self.limit == 0
            assert self.offset <= page.offset < self.stop
            assert 1 <= page.limit <= self.limit
            assert page.offset + page.limit <= self.stop
        self.in_flight.extend(pages)

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        page = self.pick(data)
        items = serve(page, self.total)
        total: int | None = self.total
        if not self.stable:
            kind = data.draw(st.sampled_from(["ok", "short", "long", "no total"]))
            if kind == "short":
                items = items[: data.draw(st.integers(0, len(items)))]
            elif kind == "long":
                extra = data.draw(st.integers(1, 4))
                items = list(range(page.offset, page.offset + page.limit + extra))
            elif kind == "no total":
                total = None
        self.receive(page, total, items)

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        self.plan.on_retry(self.pick(data))

    @precondition(lambda self: self.in_flight and self.faults)
    @rule(data=st.data(), code=st.sampled_from([40501, 50000, None]))
    def fail(self, data: st.DataObject, code: int | None) -> None:
        self.plan.on_failure(self.pick(data), code, f"failed with {code}")
        if self.failure is None:
            self.failure = (code, f"failed with {code}")

    @precondition(lambda self: not self.stable)
    @rule(total=st.integers(0, 60))
    def change_total(self, total: int) -> None:
        self.total = total
        self.max_total = max(self.max_total, total)

    @rule(offset=st.integers(0, 80), limit=st.integers(1, 7), kind=st.integers(0, 2))
    def report_a_page_not_in_flight(self, offset: int, limit: int, kind: int) -> None:
        page = PageRequest(offset, limit)
        if page in self.in_flight:
            return
        with pytest.raises(PageNotInFlight):
            if kind == 0:
                self.plan.on_page(page, self.total, serve(page, self.total))
            elif kind == 1:
                self.plan.on_retry(page)
            else:
                self.plan.on_failure(page, 1, "bogus")

    @invariant()
    def ledger_agrees(self) -> None:
        plan = self.plan
        assert plan.items_emitted == len(self.emitted) - len(self.seeded)
        assert len(self.emitted) <= self.stop - self.offset
        assert plan.in_flight == len(self.in_flight)
        assert plan.failure == self.failure
        assert plan.pages_done <= self.answers <= self.bound()
        if plan.done:
            assert not self.in_flight

    def teardown(self) -> None:
        """Drain: answer everything owed with a well-behaved server; it must end, in bound."""
        if not hasattr(self, "plan"):
            return
        while not self.plan.done:
            self.in_flight.extend(self.plan.owed())
            assert self.in_flight, "not done, yet nothing owed and nothing in flight"
            while self.in_flight:
                page = self.in_flight.pop()
                self.receive(page, self.total, serve(page, self.total))
            assert self.answers <= self.bound()
        assert self.plan.owed() == []
        if self.stable and self.failure is None:
            wanted = range(self.offset, int(min(self.total, self.stop)))
            assert self.emitted == set(wanted)
            assert self.plan.items_emitted == len(wanted) - len(self.seeded)


PagingMachine.TestCase.settings = settings(
    max_examples=250,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_paging_machine = PagingMachine.TestCase
