"""`errors` and `id_list` answer from what happened: the tasks the emulator answered, per
account, over a real socket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from dfs_async import DataForSEO, Record
from dfs_async.emulator import EmulatorConfig, FaultConfig, running_emulator
from dfs_async.emulator import tasks as emulator_tasks
from dfs_async.endpoints import BY_NAME
from dfs_async.models import format_api_datetime

from .helpers import Api, ApiFactory

ERRORS, ID_LIST = BY_NAME["errors"].path, BY_NAME["id_list"].path


def when(seconds_from_now: float) -> str:
    return format_api_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now))


def post(api: Api, name: str, *tasks: Any) -> dict[str, Any]:
    response = api.http.post(BY_NAME[name].path, content=msgspec.json.encode(list(tasks)))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def listed(api: Api, path: str, **task: Any) -> list[dict[str, Any]]:
    response = api.http.post(path, content=msgspec.json.encode([task]))
    answer = response.json()["tasks"][0]
    assert answer["status_code"] == 20000, answer
    assert answer["cost"] == 0
    result: list[dict[str, Any]] = answer["result"] or []
    return result


def test_a_task_refused_a_moment_ago_is_listed_by_errors(api: Api) -> None:
    ok = post(api, "summary", {"target": "site.com"})["tasks"][0]
    refused = post(api, "domain_pages", {"target": "https://site.com/about"})["tasks"][0]
    two = post(api, "anchors", {"target": "site.com"}, {"target": "tiny.com"})["tasks"]
    assert refused["status_code"] == 40501 and two[1]["status_code"] == 40000

    errors = listed(api, ERRORS)
    assert [e["id"] for e in errors] == [two[1]["id"], refused["id"]]  # newest first
    assert ok["id"] not in {e["id"] for e in errors}
    shown = errors[1]
    assert shown["function"] == "backlinks/domain_pages/live"
    assert (shown["error_code"], shown["error_message"]) == (40501, refused["status_message"])
    assert shown["http_url"] == api.handle.base_url + BY_NAME["domain_pages"].path
    assert (shown["http_method"], shown["http_code"]) == ("POST", 200)
    assert abs(datetime.strptime(shown["datetime"], "%Y-%m-%d %H:%M:%S %z").timestamp()
               - datetime.now(UTC).timestamp()) < 60  # fmt: skip

    only = listed(api, ERRORS, filtered_function="backlinks/anchors/live")
    assert [e["id"] for e in only] == [two[1]["id"]]
    assert [e["id"] for e in listed(api, ERRORS, limit=1, offset=1)] == [refused["id"]]
    assert listed(api, ERRORS, datetime_to=when(-120)) == []
    assert len(listed(api, ERRORS, datetime_from=when(-120), datetime_to=when(0))) == 2


def test_id_list_lists_the_tasks_posted_with_their_cost(api: Api) -> None:
    answers = [
        post(api, "domain_pages_summary", {"target": "site.com", "limit": 7}),
        post(api, "bulk_ranks", {"targets": ["site.com", "mid.com", "tiny.com"]}),
        post(api, "summary", {"target": "nope", "tag": "x"}),  # refused: free, listed too
    ]
    ids = [a["tasks"][0]["id"] for a in answers]
    tasks = listed(api, ID_LIST, datetime_from=when(-60), datetime_to=when(0))
    assert [t["id"] for t in tasks] == ids  # by time done, ascending by default
    assert [t["cost"] for t in tasks] == [a["tasks"][0]["cost"] for a in answers]
    assert sum(t["cost"] for t in tasks) == pytest.approx(api.app.counters.cost)
    assert [t["status"] for t in tasks] == ["Ok.", "Ok.", answers[2]["tasks"][0]["status_message"]]
    assert tasks[0]["url"] == api.handle.base_url + BY_NAME["domain_pages_summary"].path
    assert all(t["datetime_posted"] <= t["datetime_done"] for t in tasks)
    assert all(t["metadata"] is None for t in tasks)

    newest = listed(api, ID_LIST, datetime_from=when(-60), datetime_to=when(0), sort="desc",
                    limit=2, include_metadata=True)  # fmt: skip
    assert [t["id"] for t in newest] == ids[:0:-1]
    assert newest[0]["metadata"] == {"target": "nope", "tag": "x"}  # as posted
    assert newest[1]["metadata"] == {"targets": ["site.com", "mid.com", "tiny.com"]}
    assert listed(api, ID_LIST, datetime_from=when(-600), datetime_to=when(-300)) == []


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ({"datetime_from": when(-200 * 86_400), "datetime_to": when(0)}, "datetime_from"),
        (
            {"datetime_from": when(-40 * 86_400), "datetime_to": when(0), "include_metadata": True},
            "datetime_from",
        ),
        ({"datetime_from": when(0), "datetime_to": when(-60)}, "datetime_from"),
        ({"datetime_from": "2026-01-01", "datetime_to": when(0)}, "datetime_from"),
    ],
)
def test_id_list_refuses_a_range_it_does_not_keep(
    api: Api, task: dict[str, Any], field: str
) -> None:
    answer = post(api, "id_list", task)["tasks"][0]
    refused = (answer["status_code"], answer["status_message"])
    assert refused == (40501, f"Invalid Field: '{field}'.")


def test_each_account_sees_its_own_tasks(api_factory: ApiFactory) -> None:
    api = api_factory(accounts={"emulator": "emulator", "other": "secret-2"})
    post(api, "summary", {"target": "a.com"})
    post(api, "summary", {"target": "a b"})
    other = Api(api.handle)
    other.http.auth = httpx.BasicAuth("other", "secret-2")
    assert listed(other, ERRORS) == []
    assert listed(other, ID_LIST, datetime_from=when(-60), datetime_to=when(0)) == []
    post(other, "summary", {"target": "b.com"})
    theirs = listed(other, ID_LIST, datetime_from=when(-60), datetime_to=when(0))
    assert len(theirs) == 1 and len(listed(api, ERRORS)) == 1
    other.http.close()


def test_the_log_is_a_ring_of_the_last_tasks(api_factory: ApiFactory) -> None:
    api = api_factory(task_log_size=5)
    ids = [post(api, "summary", {"target": f"s{i}.com"})["tasks"][0]["id"] for i in range(8)]
    tasks = listed(api, ID_LIST, datetime_from=when(-60), datetime_to=when(0))
    assert [t["id"] for t in tasks] == ids[-5:]
    assert len(api.app.tasks.tasks("emulator")) == 5
    listed(api, ERRORS)  # reading the log does not add to it
    assert [t.id for t in api.app.tasks.tasks("emulator")] == ids[-5:]


def test_the_log_keeps_a_bounded_size_of_posted_tasks(
    api_factory: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bulk tasks hold their 1,000 targets: past `POSTED_BYTES`, the oldest go first."""
    monkeypatch.setattr(emulator_tasks, "POSTED_BYTES", 40_000)
    api = api_factory()
    targets = [[f"site{i}-{n}.com" for n in range(1000)] for i in range(4)]
    ids = [post(api, "bulk_ranks", {"targets": t})["tasks"][0]["id"] for t in targets]
    kept = api.app.tasks.tasks("emulator")
    assert [t.id for t in kept] == ids[-len(kept) :] and 1 <= len(kept) < len(ids)
    assert (
        sum(len(t.metadata) for t in kept) <= 40_000 < sum(len(t.metadata) for t in kept) + 20_000
    )  # no more went than had to


def test_the_log_size_is_checked() -> None:
    with pytest.raises(ValueError, match="task_log_size"):
        EmulatorConfig(task_log_size=0)


@pytest.mark.anyio
async def test_a_run_under_faults_reconciles_with_id_list_and_errors() -> None:
    """What the client paid, what the emulator charged and what id_list lists agree; every
    refused task is in `errors`; an answer lost on the way is neither charged nor listed."""
    faults = FaultConfig(seed=3, task_40103=0.25, truncated_body=0.15, envelope_50000=0.1)
    config = EmulatorConfig(seed=2, max_pages=30, faults=faults)
    async with running_emulator(config) as emu:
        async with DataForSEO(
            login=emu.login, password=emu.password, base_url=emu.base_url, rate=None
        ) as dfs:
            targets = [f"site{i}.com" for i in range(12)]
            async with dfs.backlinks.domain_pages_summary.stream(targets, limit=10) as records:
                assert [r async for r in records if isinstance(r, Record)]
            paid = dfs.stats.cost
            by_status = dict(emu.app.counters.by_status)  # before reading the log
            tasks = await dfs.backlinks.id_list(datetime_from=when(-60), datetime_to=when(1))
            errors = await dfs.backlinks.errors()
        counters = emu.app.counters
    assert counters.faults.get("truncated_body") and counters.faults.get("task_40103")
    assert sum(t.cost for t in tasks) == pytest.approx(counters.cost) == pytest.approx(paid)
    failed = by_status.get(40103, 0) + by_status.get(50000, 0)
    assert len(errors) == failed > 0
    assert {e.error_code for e in errors} == {40103, 50000}
    assert len(tasks) == sum(n for code, n in by_status.items() if code >= 20000)  # not HTTP
