"""Ways to run the emulator: async (asyncio and trio), sync, the command, the pytest plugin."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import anyio
import httpx
import pytest

from dfs_async.emulator import EmulatorConfig, FaultConfig, running_emulator, serving_emulator
from dfs_async.emulator.app import USER_DATA_PATH, Emulator
from dfs_async.emulator.serve import uvicorn_config
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY

from .helpers import Api

SUMMARY_PATH = DOMAIN_PAGES_SUMMARY.path

SEED = [{"target": "forbes.com", "limit": 4, "order_by": ["backlinks,desc"]}]


def refused(base_url: str) -> bool:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) != 0


@pytest.mark.anyio
async def test_running_emulator_serves_on_loopback_and_stops_cleanly() -> None:
    async with running_emulator(EmulatorConfig(accounts={"me": "pw"})) as emu:
        assert emu.base_url.startswith("http://127.0.0.1:")
        assert (emu.login, emu.password) == ("me", "pw")
        async with httpx.AsyncClient(base_url=emu.base_url, auth=emu.auth) as http:
            answer = (await http.post(SUMMARY_PATH, json=SEED)).json()
        assert answer["tasks"][0]["result"][0]["items_count"] == 4
        assert emu.app.counters.requests == 1
    assert not [t for t in threading.enumerate() if t.name == "dfs-emulator"]
    assert refused(emu.base_url)


def test_serving_emulator_for_sync_code() -> None:
    with serving_emulator() as emu:
        response = httpx.get(emu.base_url + USER_DATA_PATH, auth=emu.auth)
        assert response.json()["tasks"][0]["result"][0]["login"] == "emulator"
    assert refused(emu.base_url)


def test_the_handle_never_shows_the_password() -> None:
    with serving_emulator(EmulatorConfig(accounts={"me": "s3cret-pw"})) as emu:
        assert "s3cret-pw" not in repr(emu) and "s3cret-pw" not in str(emu)


def test_counters_count_requests_statuses_and_cost(api: Api) -> None:
    api.post(SEED)
    api.post([*SEED, *SEED])
    api.post(b"nope")
    api.http.get("/elsewhere")
    c = api.app.counters
    assert c.requests == 4
    assert c.by_status == {200: 3, 20000: 2, 40000: 1, 40503: 1, 404: 1, 40400: 1}
    assert c.cost == pytest.approx(2 * (0.02 + 4 * 0.00003))
    assert c.items == 8 and c.max_simultaneous == 1
    # a request leaves the count once its answer is sent: the client may read it first
    deadline = time.monotonic() + 5
    while c.simultaneous and time.monotonic() < deadline:
        time.sleep(0.01)
    assert c.simultaneous == 0
    api.app.reset_counters()
    assert (api.app.counters.requests, api.app.counters.by_status) == (0, {})


@pytest.mark.anyio
async def test_time_in_flight_sums_each_requests_time_at_the_server() -> None:
    """Three requests of 1 s, two at once then one: 3 s in flight in all, the mean number
    in flight over a span (what the saturation benchmark reads) counted up to any moment.
    A second each: the 0.1 s span must fall inside both requests on a loaded machine too
    (with 0.3 s, a late wake-up once let one of them end inside it)."""
    slow = FaultConfig(latency_min=1.0, latency_max=1.0)
    async with running_emulator(EmulatorConfig(faults=slow)) as emu:
        counters = emu.app.counters
        async with httpx.AsyncClient(base_url=emu.base_url, auth=emu.auth) as http:

            async def one() -> None:
                assert (await http.post(SUMMARY_PATH, json=SEED)).status_code == 200

            async with anyio.create_task_group() as tg:
                tg.start_soon(one)
                tg.start_soon(one)
                with anyio.fail_after(5):
                    while counters.simultaneous < 2:  # noqa: ASYNC110 (a server thread's count)
                        await anyio.sleep(0.01)
                started = time.monotonic()
                at_start = counters.in_flight_seconds_at(started)
                await anyio.sleep(0.1)
                now = time.monotonic()
                assert counters.in_flight_seconds_at(now) - at_start == pytest.approx(
                    2 * (now - started), abs=0.02
                )
            await one()
        with anyio.fail_after(5):  # the server's thread counts the answer out after sending it
            while counters.simultaneous:  # noqa: ASYNC110 (a server thread's count)
                await anyio.sleep(0.01)
        assert 3.0 <= counters.in_flight_seconds < 3.6
        assert counters.in_flight_seconds_at(time.monotonic()) == counters.in_flight_seconds


def start_command(*flags: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dfs_async.emulator", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_command_prints_its_url_and_stops_on_a_signal(sig: int) -> None:
    proc, url = start_command("--login", "me", "--rate-limit", "1", "--seed", "3")
    try:
        with httpx.Client(base_url=url, auth=("me", "emulator")) as http:
            assert http.post(SUMMARY_PATH, json=SEED).json()["status_code"] == 20000
            assert http.post(SUMMARY_PATH, json=SEED).json()["status_code"] == 40202
    finally:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_the_command_takes_the_password_from_the_environment() -> None:
    env = {**os.environ, "DFS_EMULATOR_PASSWORD": "from-env"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dfs_async.emulator", "--port", "0", "--http-500", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        response = httpx.post(url + SUMMARY_PATH, json=SEED, auth=("emulator", "from-env"))
        assert response.status_code == 500 and "<html>" in response.text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--http-500", "2"], "a rate is from 0 to 1"),
        (["--rate-limit", "0"], "rate_limit: at least 1"),
        (["--target-size", "x.com"], "HOST=PAGES"),
        (["--http-500", "0.7", "--drop-connection", "0.7"], "sum to at most 1"),
    ],
)
def test_the_command_rejects_bad_flags_clearly(flags: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dfs_async.emulator", "--port", "0", *flags],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_dfs_async_emulator_is_a_subcommand() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dfs_async", "emulator", "--help"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for flag in ["--port", "--host", "--rate-limit", "--window-seconds", "--max-simultaneous",
                 "--balance", "--daily-cost-cap", "--fault-seed", "--latency-max",
                 "--http-500", "--envelope-50000", "--task-40103", "--task-50401",
                 "--drop-connection", "--truncated-body", "--slow-trickle"]:  # fmt: skip
        assert flag in proc.stdout


pytest_plugins = ["pytester"]


def test_the_pytest_plugin_offers_fixtures(pytester: Any) -> None:
    pytester.makepyfile(
        """
        import httpx
        from dfs_async.emulator import EmulatorConfig

        def test_default(dfs_emulator):
            r = httpx.get(dfs_emulator.base_url + "/v3/appendix/user_data",
                          auth=(dfs_emulator.login, dfs_emulator.password))
            assert r.json()["tasks"][0]["result"][0]["login"] == "emulator"

        def test_factory(dfs_emulator_factory):
            a = dfs_emulator_factory(EmulatorConfig(rate_limit=1))
            b = dfs_emulator_factory(accounts={"x": "y"})
            assert a.base_url != b.base_url and b.login == "x"
            body = [{"target": "forbes.com"}]
            url = a.base_url + "/v3/backlinks/domain_pages_summary/live"
            codes = [httpx.post(url, json=body, auth=a.auth).json()["status_code"]
                     for _ in range(2)]
            assert codes == [20000, 40202]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error::ResourceWarning")
    result.assert_outcomes(passed=2)


def test_answers_are_computed_off_the_event_loop() -> None:
    """A big target's first answer takes a while: computed in a worker thread, it leaves
    the server's loop free to read, answer and keep the other connections alive."""
    with serving_emulator() as emu:
        threads = []
        answer = emu.app.corpus.answer

        def spy(*args: Any) -> Any:
            threads.append(threading.current_thread().name)
            return answer(*args)

        emu.app.corpus.answer = spy  # type: ignore[method-assign]
        response = httpx.post(emu.base_url + SUMMARY_PATH, json=SEED, auth=emu.auth)
        assert response.json()["tasks"][0]["status_code"] == 20000
    assert threads and all(name.startswith("dfs-emulator-worker-") for name in threads)
    assert not [t for t in threading.enumerate() if t.name.startswith("dfs-emulator")]


def test_idle_connections_outlive_the_clients_own_keep_alive() -> None:
    """A server closing an idle connection while its client may still reuse it races the
    client's next request on it (seen as a reset): aiohttp keeps idle connections 15 s."""
    config = uvicorn_config(Emulator())
    assert config.timeout_keep_alive > 15
