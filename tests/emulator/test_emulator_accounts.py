"""Account rules over a real socket: rate window, simultaneous cap, balance, daily cap."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest

from dfs_async.emulator import EmulatorConfig, FaultConfig, running_emulator
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY

from .helpers import ApiFactory

SUMMARY_PATH = DOMAIN_PAGES_SUMMARY.path

TASK = [{"target": "forbes.com", "limit": 10}]
PAGE_COST = round(0.02 + 10 * 0.00003, 5)


def test_rate_limit_answers_40202_until_the_window_slides(api_factory: ApiFactory) -> None:
    api = api_factory(rate_limit=3, window_seconds=0.5)
    codes = [api.post(TASK).json()["status_code"] for _ in range(5)]
    assert codes == [20000, 20000, 20000, 40202, 40202]
    assert api.post(TASK).json()["cost"] == 0
    time.sleep(0.55)
    assert api.post(TASK).json()["status_code"] == 20000
    assert api.app.counters.by_status[40202] == 3


def test_rate_limit_is_per_account(api_factory: ApiFactory) -> None:
    api = api_factory(rate_limit=1, accounts={"a": "pa", "b": "pb"})
    assert api.post(TASK, auth=("a", "pa")).json()["status_code"] == 20000
    assert api.post(TASK, auth=("a", "pa")).json()["status_code"] == 40202
    assert api.post(TASK, auth=("b", "pb")).json()["status_code"] == 20000


@pytest.mark.anyio
async def test_too_many_simultaneous_requests_get_40209() -> None:
    """Two slow requests hold both slots; each one sent while they are in flight is refused.

    The extra requests go only once the server counts the two in flight, so a loaded machine
    that spreads the client's requests out cannot make them miss each other.
    """
    slow = FaultConfig(latency_min=2.0, latency_max=2.0)
    async with running_emulator(EmulatorConfig(max_simultaneous=2, faults=slow)) as emu:
        codes: list[int] = []
        async with httpx.AsyncClient(base_url=emu.base_url, auth=emu.auth, timeout=30) as http:

            async def one() -> None:
                response = await http.post(SUMMARY_PATH, json=TASK)
                codes.append(response.json()["status_code"])

            async with anyio.create_task_group() as tg:
                tg.start_soon(one)
                tg.start_soon(one)
                with anyio.fail_after(10):
                    while emu.app.counters.simultaneous < 2:  # noqa: ASYNC110 (a server thread's count)
                        await anyio.sleep(0.01)
                for _ in range(4):
                    await one()
                assert codes == [40209] * 4  # answered at once, while the slow two still run
        assert codes == [40209] * 4 + [20000, 20000]
        assert emu.app.counters.max_simultaneous == 3  # two slow ones and a refused one
        assert emu.app.counters.by_status[40209] == 4


def test_balance_exhaustion_is_40210_and_never_charged(api_factory: ApiFactory) -> None:
    api = api_factory(balance=2.5 * PAGE_COST)
    answers = [api.post(TASK).json() for _ in range(3)]
    assert [a["status_code"] for a in answers] == [20000, 20000, 40210]
    assert answers[2]["cost"] == 0
    assert api.app.counters.cost == pytest.approx(2 * PAGE_COST)
    assert api.post([{"target": "forbes.com", "limit": 1}]).json()["status_code"] == 40210
    user = api.http.get("/v3/appendix/user_data").json()["tasks"][0]["result"][0]
    assert user["money"]["balance"] == pytest.approx(2.5 * PAGE_COST - api.app.counters.cost)


def test_daily_cost_cap_is_40203(api_factory: ApiFactory) -> None:
    api = api_factory(daily_cost_cap=1.5 * PAGE_COST)
    codes = [api.post(TASK).json()["status_code"] for _ in range(2)]
    assert codes == [20000, 40203]
    assert api.app.counters.cost == pytest.approx(PAGE_COST)


@pytest.mark.parametrize(
    "fields",
    [
        {"rate_limit": 0},
        {"window_seconds": 0},
        {"max_simultaneous": 0},
        {"balance": -1},
        {"accounts": {}},
        {"accounts": {"a:b": "x"}},
        {"min_pages": 5, "max_pages": 4},
    ],
)
def test_a_bad_config_is_a_clear_value_error(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(fields)).split("_")[0]):
        EmulatorConfig(**fields)
