"""The single kind: one request per job, its result the one record, exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dfs_async.errors import ValidationError
from dfs_async.plan import PageNotInFlight, Single
from dfs_async.records import PageProgress

KIND = Single()


@given(st.lists(st.sampled_from(["retry", "answer", "fail"]), min_size=1, max_size=8))
def test_the_result_is_emitted_once_whatever_the_retries(steps: list[str]) -> None:
    plan = KIND.plan(limit=1)
    emitted: list[object] = []
    for step in steps:
        owed = plan.owed()
        if not owed:
            break
        assert len(owed) == 1 and plan.owed() == []  # one request, handed out once
        (page,) = owed
        if step == "retry":
            plan.on_retry(page)
            assert not plan.done
        elif step == "answer":
            emitted.extend(plan.on_result(page, "the result"))
        else:
            plan.on_failure(page, 40501, "Invalid Field")
    answered = "answer" in steps and steps.index("answer") < _first(steps, "fail")
    assert emitted == (["the result"] if answered else [])
    assert plan.items_emitted == len(emitted) == plan.pages_done
    if answered or "fail" in steps:
        assert plan.done and plan.owed() == []
        assert (plan.failure is None) == answered


def _first(steps: list[str], step: str) -> int:
    return steps.index(step) if step in steps else len(steps)


def test_an_answer_without_a_result_emits_nothing_and_ends_the_job() -> None:
    plan = KIND.plan(limit=1)
    (page,) = plan.owed()
    assert list(plan.on_result(page, None)) == []
    assert plan.done and plan.failure is None and plan.pages_done == 1


def test_a_seeded_plan_that_was_answered_is_done_without_a_request() -> None:
    plan = KIND.plan(limit=1, progress=PageProgress(answered=frozenset({0})))
    assert plan.done and plan.owed() == []


def test_reporting_a_request_not_in_flight_is_a_bug() -> None:
    plan = KIND.plan(limit=1)
    (page,) = plan.owed()
    plan.on_result(page, "r")
    with pytest.raises(PageNotInFlight):
        plan.on_result(page, "r")


@pytest.mark.parametrize(
    ("name", "kwargs"), [("offset", {"offset": 5}), ("max_items", {"max_items": 3})]
)
def test_paging_fields_are_refused_on_an_unpaged_kind(name: str, kwargs: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as caught:
        KIND.plan(limit=1, **kwargs)
    assert caught.value.field == name
