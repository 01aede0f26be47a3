"""Request bodies out, task outcomes in: `dfs_async.wire` (no I/O)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from dfs_async import Field, UnknownField, ValidationError
from dfs_async.codes import Action
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY
from dfs_async.wire import encode_tasks, prepare_fields, read

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


def test_prepare_fields_checks_through_the_endpoint_spec() -> None:
    fields = prepare_fields(
        DOMAIN_PAGES_SUMMARY, {"limit": 10, "filters": Field("rank") > 5, "tag": None}
    )
    assert fields == {"limit": 10, "filters": ["rank", ">", 5]}
    with pytest.raises(UnknownField, match="colour"):
        prepare_fields(DOMAIN_PAGES_SUMMARY, {"colour": "red"})
    with pytest.raises(ValidationError, match="limit"):
        prepare_fields(DOMAIN_PAGES_SUMMARY, {"limit": 0})
    with pytest.raises(ValidationError, match="target"):
        prepare_fields(DOMAIN_PAGES_SUMMARY, {"target": "a.com"})


def test_encode_tasks_is_a_json_array() -> None:
    body = encode_tasks([{"target": "a.com", "limit": 3}])
    assert msgspec.json.decode(body) == [{"target": "a.com", "limit": 3}]


def test_worst_cost_follows_the_price() -> None:
    assert DOMAIN_PAGES_SUMMARY.price.worst(1000) == pytest.approx(0.05)
    assert DOMAIN_PAGES_SUMMARY.price.worst(100) == pytest.approx(0.02 + 0.003)


def test_a_delivered_task_carries_items_total_and_cost() -> None:
    (outcome,) = read(200, envelope(tasks=[task(urls=("u1", "u2"))]), 1, DECODER)
    assert outcome.action is Action.DELIVER
    assert outcome.result.total_count == 2
    assert [i.url for i in outcome.result.items] == ["u1", "u2"]
    assert outcome.cost == 0.02


def test_tasks_are_matched_by_position_and_each_keeps_its_cost() -> None:
    body = envelope(tasks=[task(urls=("u",)), task(40000, cost=0), task(40103, cost=0.01)])
    outcomes = read(200, body, 3, DECODER)
    assert [o.action for o in outcomes] == [Action.DELIVER, Action.FAIL, Action.RETRY]
    assert [o.cost for o in outcomes] == [0.02, 0, 0.01]


def test_a_missing_task_is_retried() -> None:
    outcomes = read(200, envelope(tasks=[task()]), 2, DECODER)
    assert outcomes[1].action is Action.RETRY


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
def test_envelope_codes_apply_to_every_task(code: int, action: Action) -> None:
    outcomes = read(200, envelope(code), 2, DECODER)
    assert [o.action for o in outcomes] == [action, action]
    assert outcomes[0].code == code


def test_network_errors_and_broken_bodies_are_retried_without_code() -> None:
    (net,) = read(None, b"", 1, DECODER, error="ReadError: boom")
    assert (net.action, net.code, net.message) == (Action.RETRY, None, "ReadError: boom")
    (cut,) = read(200, envelope(tasks=[task()])[:40], 1, DECODER)
    assert (cut.action, cut.code) == (Action.RETRY, None)


def test_http_statuses_without_envelope() -> None:
    (html,) = read(500, b"<html>500</html>", 1, DECODER)
    assert (html.action, html.code) == (Action.RETRY, 500)
    (auth,) = read(401, envelope(40100), 1, DECODER)
    assert (auth.action, auth.code) == (Action.STOP, 40100)
    (funds,) = read(402, b"", 1, DECODER)
    assert funds.action is Action.STOP
