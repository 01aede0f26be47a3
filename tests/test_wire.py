"""Request bodies out, task outcomes in: `dfs_async.wire` (no I/O); a call's fields checked
by its endpoint's spec."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from dfs_async import Field, UnknownField, ValidationError
from dfs_async.codes import Action
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY
from dfs_async.transport import Answer, NetworkFailure
from dfs_async.wire import encode_tasks, read

DECODER = DOMAIN_PAGES_SUMMARY.decoder


def envelope(
    code: int = 20000, tasks: list[dict[str, Any]] | None = None, cost: float = 0
) -> bytes:
    return msgspec.json.encode(
        {"version": "0.1", "status_code": code, "status_message": "m", "cost": cost, "tasks": tasks}
    )


def task(
    code: int = 20000, cost: float = 0.02, total: int = 2, urls: tuple[str, ...] = ()
) -> dict[str, Any]:
    result = [
        {
            "target": "a.com",
            "total_count": total,
            "items_count": len(urls),
            "items": [{"type": "backlinks_page_summary", "url": u} for u in urls],
        }
    ]
    return {
        "id": "x",
        "status_code": code,
        "status_message": f"task {code}",
        "cost": cost,
        "result": result if code == 20000 else None,
    }


def test_check_fields_checks_through_the_endpoint_spec() -> None:
    fields = DOMAIN_PAGES_SUMMARY.check_fields(
        {"limit": 10, "filters": Field("rank") > 5, "tag": None}
    )
    assert fields == {"limit": 10, "filters": ["rank", ">", 5]}
    with pytest.raises(UnknownField, match="colour"):
        DOMAIN_PAGES_SUMMARY.check_fields({"colour": "red"})
    with pytest.raises(ValidationError, match="limit"):
        DOMAIN_PAGES_SUMMARY.check_fields({"limit": 0})
    with pytest.raises(ValidationError, match="target"):
        DOMAIN_PAGES_SUMMARY.check_fields({"target": "a.com"})


def test_encode_tasks_is_a_json_array() -> None:
    body = encode_tasks([{"target": "a.com", "limit": 3}])
    assert msgspec.json.decode(body) == [{"target": "a.com", "limit": 3}]


def test_worst_cost_follows_the_price() -> None:
    assert DOMAIN_PAGES_SUMMARY.price.worst(1000) == pytest.approx(0.05)
    assert DOMAIN_PAGES_SUMMARY.price.worst(100) == pytest.approx(0.02 + 0.003)


def test_a_delivered_task_carries_items_total_and_cost() -> None:
    outcome = read(Answer(200, envelope(tasks=[task(urls=("u1", "u2"))])), DECODER)
    assert outcome.action is Action.DELIVER
    assert outcome.result.total_count == 2
    assert [i.url for i in outcome.result.items] == ["u1", "u2"]
    assert outcome.cost == 0.02


@pytest.mark.parametrize(
    ("code", "action", "cost"),
    [(40000, Action.FAIL, 0.0), (40103, Action.RETRY, 0.01), (50000, Action.RETRY, 0.0)],
)
def test_a_failed_task_keeps_its_code_and_cost(code: int, action: Action, cost: float) -> None:
    outcome = read(Answer(200, envelope(tasks=[task(code, cost=cost)])), DECODER)
    assert (outcome.action, outcome.code, outcome.cost) == (action, code, cost)
    assert outcome.cause == code and outcome.failure is None


def test_an_answer_without_the_task_is_retried() -> None:
    outcome = read(Answer(200, envelope(tasks=[])), DECODER)
    assert (outcome.action, outcome.code) == (Action.RETRY, None)
    assert outcome.failure == NetworkFailure("decode", "the answer holds no task")
    assert outcome.cause == "decode"


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (40202, Action.SLOW_DOWN),
        (40209, Action.FEWER_AT_ONCE),
        (50000, Action.RETRY),
        (40210, Action.STOP),
        (40203, Action.STOP),
    ],
)
def test_envelope_codes_apply_to_the_task(code: int, action: Action) -> None:
    outcome = read(Answer(200, envelope(code, cost=0.01)), DECODER)
    assert (outcome.action, outcome.code, outcome.cost) == (action, code, 0.01)


def test_network_failures_and_broken_bodies_are_retried_without_code() -> None:
    failure = NetworkFailure("read", "boom")
    net = read(failure, DECODER)
    assert (net.action, net.code, net.message) == (Action.RETRY, None, "read: boom")
    assert net.failure is failure and net.cause == "read"
    cut = read(Answer(200, envelope(tasks=[task()])[:40]), DECODER)
    assert (cut.action, cut.code, cut.cause) == (Action.RETRY, None, "decode")
    assert cut.failure is not None and cut.failure.reason.startswith("undecodable response")


def test_http_statuses_without_envelope() -> None:
    html = read(Answer(500, b"<html>500</html>"), DECODER)
    assert (html.action, html.code, html.cause) == (Action.RETRY, 500, 500)
    auth = read(Answer(401, envelope(40100)), DECODER)
    assert (auth.action, auth.code) == (Action.STOP, 40100)
    funds = read(Answer(402, b""), DECODER)
    assert funds.action is Action.STOP
