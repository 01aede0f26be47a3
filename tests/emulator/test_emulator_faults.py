"""Injected faults over a real socket: each kind shows as the API would, and passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import pytest

from dfs_async.emulator import EmulatorConfig, FaultConfig

from .helpers import Api, ApiFactory

TASK = [{"target": "forbes.com", "limit": 50}]


def outcome(api: Api) -> str:
    """What one request looked like to a client."""
    try:
        response = api.post(TASK)
    except httpx.TransportError as exc:
        return f"transport:{type(exc).__name__}"
    if response.status_code != 200:
        return f"http:{response.status_code}:{response.headers['content-type']}"
    try:
        answer = response.json()
    except ValueError:
        return "truncated"
    if answer["status_code"] != 20000:
        return f"envelope:{answer['status_code']}"
    return f"task:{answer['tasks'][0]['status_code']}"


@pytest.mark.parametrize(
    ("kind", "looks_like"),
    [
        ("http_500", lambda o: o == "http:500:text/html"),
        ("envelope_50000", lambda o: o == "envelope:50000"),
        ("task_40103", lambda o: o == "task:40103"),
        ("task_50401", lambda o: o == "task:50401"),
        ("drop_connection", lambda o: o.startswith("transport:")),
        ("truncated_body", lambda o: o == "truncated"),
    ],
)
def test_each_fault_shows_then_passes(
    api_factory: ApiFactory, kind: str, looks_like: Callable[[str], bool]
) -> None:
    api = api_factory(faults=FaultConfig(**{kind: 1.0}, max_consecutive=2))  # type: ignore[arg-type]
    seen = [outcome(api) for _ in range(3)]
    assert all(looks_like(o) for o in seen[:2]), seen
    assert seen[2] == "task:20000"  # transient: the next try succeeds
    counters = api.app.counters
    assert counters.faults == {kind: 2}
    assert counters.cost == pytest.approx(0.02 + 50 * 0.00003)  # faults are never charged


def test_slow_trickle_sends_the_whole_body_in_pieces(api_factory: ApiFactory) -> None:
    api = api_factory(faults=FaultConfig(slow_trickle=1.0, slow_trickle_seconds=0.3))
    chunks: list[bytes] = []
    with api.http.stream("POST", "/v3/backlinks/domain_pages_summary/live", json=TASK) as resp:
        for chunk in resp.iter_raw():
            chunks.append(chunk)
    answer = msgspec.json.decode(b"".join(chunks))
    assert answer["tasks"][0]["result"][0]["items_count"] == 50
    assert len(chunks) > 1
    assert api.app.counters.faults == {"slow_trickle": 1}


def test_latency_delays_answers(api_factory: ApiFactory) -> None:
    api = api_factory(faults=FaultConfig(latency_min=0.2, latency_max=0.25))
    started = time.perf_counter()
    assert outcome(api) == "task:20000"
    assert time.perf_counter() - started >= 0.2


def mixed(seed: int) -> FaultConfig:
    return FaultConfig(seed=seed, http_500=0.2, task_40103=0.2, envelope_50000=0.2)


def test_faults_are_seeded(api_factory: ApiFactory) -> None:
    runs = [api_factory(faults=mixed(s)) for s in (7, 7, 8)]
    seqs = [[outcome(api) for _ in range(20)] for api in runs]
    assert seqs[0] == seqs[1]
    assert seqs[0] != seqs[2]
    assert len(set(seqs[0])) > 1


def test_faults_are_off_by_default(api_factory: ApiFactory) -> None:
    api = api_factory()
    assert {outcome(api) for _ in range(10)} == {"task:20000"}
    assert api.app.counters.faults == {}


@pytest.mark.parametrize(
    "fields",
    [
        {"http_500": 1.5},
        {"task_40103": -0.1},
        {"http_500": 0.6, "truncated_body": 0.6},
        {"latency_min": 1.0, "latency_max": 0.5},
        {"max_consecutive": 0},
    ],
)
def test_a_bad_fault_config_is_a_value_error(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EmulatorConfig(faults=FaultConfig(**fields))
