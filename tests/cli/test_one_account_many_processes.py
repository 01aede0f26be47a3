"""`--shared-limits`: several `dfs-async` processes on one login keep the account's limits
together, through a real redis-server, against the emulator (in this process, over a real
socket) with the account's limits: 30 at once, a per-minute rate.

The processes run `tests.cli.short_timings` (the command line with the shared limits'
lease and patience shortened, and the rate's window when a test shortens the emulator's),
so that a kill -9, a lost Redis and a rate window each take seconds.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig
from dfs_async.emulator.pytest_plugin import EmulatorFactory
from dfs_async.endpoints import BY_NAME
from tests.redis_server import RedisServer

from .helpers import REPO, cli_env, expected_records, jsonl_records, run_cli, write_targets
from .short_timings import LEASE
from .test_audit import expected_rows, read_csv

CMD = "domain-pages-summary"
RUNNER = [sys.executable, "-m", "tests.cli.short_timings"]


def start(*args: str | Path, emu: EmulatorHandle, cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RUNNER, *map(str, args)],
        env=cli_env(emu, PYTHONPATH=str(REPO), **env),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = process.communicate(timeout=120)
    return process.returncode, err


def job(tmp_path: Path, name: str, targets: Sequence[str]) -> tuple[Path, Path]:
    """A targets file and the output of a run of them."""
    return write_targets(tmp_path / f"{name}.txt", targets), tmp_path / f"{name}.jsonl"


def stopped_by_redis_lost(
    process: subprocess.Popen[str], server: RedisServer, when: Callable[[], bool]
) -> None:
    """Kill `server` once `when` holds: the run stops (exit 3) after its patience, in one
    line naming Redis, and tells how to resume."""
    deadline = time.monotonic() + 60
    while not when():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr
        time.sleep(0.005)
    server.kill()
    code, err = finish(process)
    assert code == 3, err
    assert f"stopped: shared limits: Redis at {server.url}/0 failed for 1 s" in err
    assert "--resume" in err and "Traceback" not in err


@pytest.mark.parametrize("bound", ["slots", "rate"])
def test_three_processes_on_one_login_are_never_refused(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory, redis_url: str, bound: str
) -> None:
    """Three runs at the default concurrency (30 each) on an account of 30 at once; or at
    the account's rate (600 a minute: 20 per 2 s window, read from user_data by one of
    them for all). Not one 40209 or 40202, every record exactly once."""
    latency = FaultConfig(seed=3, latency_min=0.05, latency_max=0.15)
    if bound == "slots":
        config = EmulatorConfig(seed=8, max_pages=250, rate_limit=100_000, faults=latency)
        count, env = 40, {}
    else:
        config = EmulatorConfig(seed=8, max_pages=0, rate_limit=20, window_seconds=2.0)
        count, env = 10, {"TEST_WINDOW": "2"}
    emu = dfs_emulator_factory(config)
    runs = [job(tmp_path, f"p{p}", [f"site{p}-{i}.com" for i in range(count)]) for p in range(3)]
    processes = [
        start(CMD, targets, "-o", out, "--limit", "100", "--shared-limits", redis_url,
              "--base-url", emu.base_url, "--quiet", emu=emu, cwd=tmp_path, **env)
        for targets, out in runs
    ]  # fmt: skip
    for process in processes:
        code, err = finish(process)
        assert code == 0, err
    for targets, out in runs:
        assert jsonl_records(out) == expected_records(config, targets.read_text().split())
    counters = emu.app.counters
    assert not {40202, 40209} & set(counters.by_status)
    assert counters.max_simultaneous <= 30
    assert counters.user_data == 1


def test_a_process_killed_gives_its_slots_back_within_its_lease(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory, redis_url: str
) -> None:
    """A run holding the account's 30 slots is killed with -9: another run gets them back
    within the lease, and is never refused; the killed run resumes to exactly its records."""
    latency = FaultConfig(seed=4, latency_min=0.2, latency_max=0.3)
    config = EmulatorConfig(seed=9, max_pages=0, rate_limit=100_000, faults=latency)
    emu = dfs_emulator_factory(config)
    killed, other = (
        job(tmp_path, "killed", [f"k{i}.com" for i in range(300)]),
        job(tmp_path, "other", [f"o{i}.com" for i in range(30)]),
    )
    args = ["--shared-limits", redis_url, "--base-url", emu.base_url, "--quiet"]
    first = start(CMD, killed[0], "-o", killed[1], *args, emu=emu, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while emu.app.counters.simultaneous < 30:  # it holds every slot
        assert first.poll() is None and time.monotonic() < deadline, first.stderr
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    killed_at = time.monotonic()
    code, err = finish(start(CMD, other[0], "-o", other[1], *args, emu=emu, cwd=tmp_path))
    assert code == 0, err
    # its 30 requests (one slot-wait of the lease, then 0.2-0.3 s each at once)
    assert time.monotonic() - killed_at < LEASE + 5
    assert jsonl_records(other[1]) == expected_records(config, other[0].read_text().split())

    code, err = finish(start(CMD, killed[0], "-o", killed[1], *args, "--resume", emu=emu,
                             cwd=tmp_path))  # fmt: skip
    assert code == 0, err
    assert jsonl_records(killed[1]) == expected_records(config, killed[0].read_text().split())
    assert not {40202, 40209} & set(emu.app.counters.by_status)


def test_redis_lost_mid_run_stops_it_and_the_run_resumes_exactly(
    tmp_path: Path,
    dfs_emulator_factory: EmulatorFactory,
    redis_factory: Callable[..., RedisServer],
) -> None:
    """Redis killed mid-run: the run stops (exit 3) after its patience, saying so and how
    to resume; with Redis back, the same command with --resume ends with every record
    exactly once."""
    server = redis_factory()
    latency = FaultConfig(seed=6, latency_min=0.02, latency_max=0.05)
    config = EmulatorConfig(seed=10, max_pages=300, rate_limit=100_000, faults=latency)
    emu = dfs_emulator_factory(config)
    targets, out = job(tmp_path, "lost", [f"lost{i}.com" for i in range(60)])
    checkpoint = out.with_name(out.name + ".checkpoint")
    args = [CMD, targets, "-o", out, "--limit", "20", "--concurrency", "4",
            "--shared-limits", f"{server.url}/0", "--base-url", emu.base_url]  # fmt: skip
    process = start(*args, emu=emu, cwd=tmp_path)
    stopped_by_redis_lost(
        process, server, lambda: checkpoint.exists() and checkpoint.read_bytes().count(b"\n") >= 10
    )
    server.restart()
    code, err = finish(start(*args, "--resume", emu=emu, cwd=tmp_path))
    assert code == 0, err
    assert jsonl_records(out) == expected_records(config, targets.read_text().split())


def test_an_audit_and_a_run_of_one_login_keep_its_limits_together(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory, redis_url: str
) -> None:
    """An audit (its six endpoints at once on its one client: 18 requests of 1,000 domains)
    beside an endpoint run (30 at once) on an account of 30 at once: not one 40209, the
    table and the records exact, user_data read once for both."""
    latency = FaultConfig(seed=5, latency_min=0.1, latency_max=0.2)
    config = EmulatorConfig(seed=13, max_pages=250, rate_limit=100_000, faults=latency)
    emu = dfs_emulator_factory(config)
    domains = [f"shop{i}.example.net" for i in range(3_000)]
    audit_in, table = write_targets(tmp_path / "domains.txt", domains), tmp_path / "audit.csv"
    targets, out = job(tmp_path, "run", [f"site-{i}.com" for i in range(40)])
    shared = ["--shared-limits", redis_url, "--base-url", emu.base_url, "--quiet"]
    processes = [
        start("audit", audit_in, "-o", table, *shared, emu=emu, cwd=tmp_path),
        start(CMD, targets, "-o", out, "--limit", "100", *shared, emu=emu, cwd=tmp_path),
    ]
    for process in processes:
        code, err = finish(process)
        assert code == 0, err
    assert read_csv(table) == expected_rows(emu, domains)
    assert jsonl_records(out) == expected_records(config, targets.read_text().split())
    counters = emu.app.counters
    assert 40209 not in counters.by_status and counters.max_simultaneous <= 30
    assert counters.user_data == 1


def test_redis_lost_mid_audit_stops_it_and_the_resume_pays_nothing_twice(
    tmp_path: Path,
    dfs_emulator_factory: EmulatorFactory,
    redis_factory: Callable[..., RedisServer],
) -> None:
    """Redis killed mid-audit: the audit stops (exit 3) after its patience, the answers in
    flight landed in its one checkpoint; with Redis back, --resume writes the table an
    audit never stopped writes, and the two runs together cost what it costs."""
    server = redis_factory()
    latency = FaultConfig(seed=7, latency_min=0.02, latency_max=0.05)
    emu = dfs_emulator_factory(EmulatorConfig(seed=11, rate_limit=100_000, faults=latency))
    targets = write_targets(tmp_path / "domains.txt", [f"lost{i}.com" for i in range(300)])
    args = ["audit", targets, "--with", "summary", "--concurrency", "4",
            "--base-url", emu.base_url]  # fmt: skip
    whole = run_cli(*args, "-o", tmp_path / "whole.jsonl", env=cli_env(emu), timeout=300)
    assert whole.returncode == 0, whole.stderr
    uninterrupted = emu.app.counters.cost
    emu.app.reset_counters()
    out = tmp_path / "out.jsonl"
    shared = [*args, "-o", out, "--shared-limits", f"{server.url}/0"]
    process = start(*shared, emu=emu, cwd=tmp_path)
    summary = BY_NAME["summary"].path
    stopped_by_redis_lost(process, server, lambda: emu.app.counters.by_path.get(summary, 0) >= 50)
    assert out.with_name(out.name + ".checkpoint").exists() and not out.exists()
    server.restart()
    code, err = finish(start(*shared, "--resume", emu=emu, cwd=tmp_path))
    assert code == 0, err
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert emu.app.counters.cost == pytest.approx(uninterrupted, abs=1e-9)


def test_redis_unreachable_or_a_wrong_url_is_one_line_before_any_request(
    tmp_path: Path, dfs_emulator: EmulatorHandle, redis_url: str
) -> None:
    emu = dfs_emulator
    targets = write_targets(tmp_path / "t.txt", ["a.com"])
    where = ["--base-url", emu.base_url]
    cases = [
        ([CMD, targets, "-o", tmp_path / "t.jsonl", "--shared-limits", "redis://127.0.0.1:1/0"],
         {},
         "shared limits: cannot use Redis at redis://127.0.0.1:1/0: "),
        ([CMD, targets, "--shared-limits", "http://x:6379/0"], {},
         "--shared-limits: Redis URL http://x:6379/0: the scheme must be redis://"),
        (["index", "--shared-limits", "redis://x/zero"], {},
         "the database must be a number"),
        (["account"], {"DATAFORSEO_SHARED_LIMITS": "redis://:pw@127.0.0.1:1"},
         "cannot use Redis at redis://:***@127.0.0.1:1/0"),
        (["audit", targets, "-o", tmp_path / "a.csv", "--shared-limits", "redis://127.0.0.1:1"],
         {}, "shared limits: cannot use Redis at redis://127.0.0.1:1/0: "),
        (["audit", targets, "-o", tmp_path / "a.csv", "--dry-run"],  # reads the account
         {"DATAFORSEO_SHARED_LIMITS": "redis://127.0.0.1:1"}, "cannot use Redis at"),
    ]  # fmt: skip
    for args, env, message in cases:
        result = run_cli(*args, *where, env=cli_env(emu, **env), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        first, *rest = result.stderr.splitlines()
        assert message in first and rest == [f"see: dfs-async {args[0]} --help"], result.stderr
        assert "pw" not in result.stderr
    assert emu.app.counters.requests == emu.app.counters.user_data == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
    # every command takes it: the utility endpoints, the account
    for args in (["index"], ["account"]):
        result = run_cli(*args, *where, "--shared-limits", redis_url, env=cli_env(emu))
        assert result.returncode == 0, result.stderr
