"""The response cache on the command line, against an emulator over a socket: a second run
sends nothing and says what it saved, an endpoint's as the audit's; a store that cannot be
used is one line and exit 2 before any request; a store that breaks is one warning and the
run goes on; two runs at once share one file; `dfs-async cache stats|prune|clear`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dfs_async.audit import PARTS
from dfs_async.emulator import EmulatorConfig, EmulatorHandle
from dfs_async.emulator.pytest_plugin import EmulatorFactory
from dfs_async.money import money
from tests.redis_server import _free_port
from tests.test_cache_faults import tmpfs

from .helpers import cli_env, expected_records, jsonl_records, run_cli, start_cli, write_targets
from .test_audit import read_csv

CMD = "domain-pages-summary"
SIZES = {f"site{i}.com": 40 + 70 * i for i in range(6)}
CONFIG = EmulatorConfig(seed=11, max_pages=400, target_sizes=SIZES)
WARNING = "warning: cache off for the rest of this run: cache "


def run(emu: EmulatorHandle, tmp_path: Path, out: str, *extra: str | Path, **env: str) -> Any:
    targets = write_targets(tmp_path / "targets.txt", list(SIZES))
    return run_cli(
        CMD, targets, "--base-url", emu.base_url, "-o", tmp_path / out, "--limit", "100",
        *extra, env=cli_env(emu, **env),
    )  # fmt: skip


def test_a_second_run_is_answered_by_the_cache(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory
) -> None:
    emu, cache = dfs_emulator_factory(CONFIG), tmp_path / "cache.db"
    first = run(emu, tmp_path, "first.jsonl", "--cache", cache)
    assert first.returncode == 0, first.stderr
    paid = emu.app.counters.requests
    assert paid > len(SIZES) and "from the cache" not in first.stderr
    emu.app.reset_counters()

    dry = run(emu, tmp_path, "dry.jsonl", "--cache", cache, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"from the cache: {len(SIZES)} answers ($" in dry.stdout  # the first pages
    assert "first-page requests: none (the cache holds every first page)" in dry.stdout

    # DATAFORSEO_CACHE names it too; a budget below one request is enough: hits cost nothing
    second = run(emu, tmp_path, "second.jsonl", "--budget", "0.001", DATAFORSEO_CACHE=str(cache))
    assert second.returncode == 0, second.stderr
    assert emu.app.counters.requests == 0
    saved = re.search(
        rf"\n{paid:,} answers from the cache \((\$[\d.]+) not spent\)\n", second.stderr
    )
    assert saved is not None, second.stderr
    assert "0 of 0 requests answered" in second.stderr and "; $0.00;" in second.stderr
    expected = expected_records(CONFIG, list(SIZES))
    assert jsonl_records(tmp_path / "first.jsonl") == expected
    assert jsonl_records(tmp_path / "second.jsonl") == expected

    again = run(emu, tmp_path, "third.jsonl", "--no-cache", DATAFORSEO_CACHE=str(cache))
    assert again.returncode == 0 and emu.app.counters.requests == paid

    stats = run_cli("cache", "stats", "--cache", cache)
    assert stats.returncode == 0, stats.stderr
    assert f"entries: {paid}" in stats.stdout
    assert f"served: {paid} answers from the cache ({saved[1]} not spent)" in stats.stdout
    as_json = json.loads(run_cli("cache", "stats", "--json", "--cache", cache).stdout)
    assert (as_json["entries"], as_json["hits"]) == (paid, paid)
    assert run_cli("cache", "prune", "--cache", cache).stdout == "dropped 0 entries (expired)\n"
    assert run_cli("cache", "clear", "--cache", cache).stdout == f"dropped {paid} entries\n"
    assert "entries: 0 (0 B)" in run_cli("cache", "stats", "--cache", cache).stdout
    missing = run_cli("cache", "stats")
    assert missing.returncode == 2 and "--cache PATH|URL, or set DATAFORSEO_CACHE" in missing.stderr


def test_an_audit_again_pays_nothing_and_says_what_it_saved(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory
) -> None:
    """The audit takes the cache as every subcommand does: its second run over the same
    domains sends nothing (a budget below one request is enough), its dry run counts what
    the cache holds, and a longer list pays only for its new domains."""
    emu, cache = dfs_emulator_factory(rate_limit=10**6), tmp_path / "cache.db"
    domains = [f"shop{i}.example.net" for i in range(1200)]
    longer = domains + [f"new{i}.example.net" for i in range(300)]

    def audit(name: str, targets: list[str], *extra: str) -> Any:
        path = write_targets(tmp_path / f"{name}.txt", targets)
        return run_cli(
            "audit", path, "--base-url", emu.base_url, "-o", tmp_path / f"{name}.csv",
            "--cache", cache, *extra, env=cli_env(emu),
        )  # fmt: skip

    first = audit("first", domains)
    assert first.returncode == 0, first.stderr
    paid, held = emu.app.counters.cost, len(domains) * len(PARTS)
    assert emu.app.counters.requests == 2 * len(PARTS) and "from the cache" not in first.stderr
    emu.app.reset_counters()

    second = audit("second", domains, "--budget", "0.001")
    assert second.returncode == 0, second.stderr
    assert emu.app.counters.requests == 0
    assert f"\n{held:,} answers from the cache ({money(paid)} not spent)\n" in second.stderr
    assert "cost by endpoint (this job): nothing charged" in second.stderr
    assert read_csv(tmp_path / "second.csv") == read_csv(tmp_path / "first.csv")

    # its client opened to reach the cache, not as a process of the shared limits
    alone = ["--rate", "60000", "--shared-limits", f"redis://127.0.0.1:{_free_port()}/0"]
    dry = audit("dry", longer, "--dry-run", *alone)
    assert dry.returncode == 0, dry.stderr
    each = 0.02 + 300 * 0.00003  # a request of the 300 new domains, a row each
    for part in PARTS:
        assert (
            f"{part}: 1 request of up to 1,000 domains (1,200 domains from the cache),"
            f" cost bound {money(each)}"
        ) in dry.stdout
    assert f"total: 6 requests, cost bound {money(len(PARTS) * each)}" in dry.stdout
    assert f"from the cache: {held:,} answers ({money(paid)} not spent)" in dry.stdout

    third = audit("third", longer)
    assert third.returncode == 0, third.stderr
    assert emu.app.counters.requests == len(PARTS)
    assert emu.app.counters.cost == pytest.approx(len(PARTS) * each)
    rows = read_csv(tmp_path / "third.csv")
    assert list(rows) == longer
    assert {d: rows[d] for d in domains} == read_csv(tmp_path / "first.csv")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("redis", "cannot use Redis at redis://127.0.0.1:"),
        ("under a file", "cannot create its directory"),
        ("scheme", "ftp:// is not a store"),
        ("ttl", "--cache-ttl: not a duration: '7w'"),
    ],
)
def test_a_cache_that_cannot_be_used_is_one_line_before_any_request(
    tmp_path: Path, dfs_emulator: EmulatorHandle, option: str, message: str
) -> None:
    (tmp_path / "file").write_text("")
    extra = {
        "redis": ["--cache", f"redis://127.0.0.1:{_free_port()}/0"],
        "under a file": ["--cache", str(tmp_path / "file" / "cache.db")],
        "scheme": ["--cache", "ftp://example.com/cache"],
        "ttl": ["--cache", str(tmp_path / "cache.db"), "--cache-ttl", "7w"],
    }[option]
    result = run(dfs_emulator, tmp_path, "pages.jsonl", *extra)
    assert result.returncode == 2
    first, see = result.stderr.splitlines()[-2:]
    assert first.startswith(f"dfs-async {CMD}: ") and message in first, result.stderr
    assert see == f"see: dfs-async {CMD} --help"
    assert dfs_emulator.app.counters.requests == 0
    assert not (tmp_path / "pages.jsonl").exists()


@pytest.mark.parametrize("fault", ["garbage", "full disk"])
def test_a_store_that_breaks_is_one_warning_and_the_run_goes_on(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory, fault: str
) -> None:
    emu = dfs_emulator_factory(CONFIG)
    if fault == "garbage":
        cache = tmp_path / "cache.db"
        cache.write_bytes(b"not a database, " * 1000)
        result = run(emu, tmp_path, "pages.jsonl", "--cache", cache)
        assert cache.read_bytes() == b"not a database, " * 1000  # left alone
    else:
        with tmpfs(tmp_path / "small", "size=128k") as small:  # a few pages fill it
            result = run(emu, tmp_path, "pages.jsonl", "--cache", small / "cache.db")
    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning.startswith(WARNING)
    assert jsonl_records(tmp_path / "pages.jsonl") == expected_records(CONFIG, list(SIZES))


def test_the_audit_s_cache_faults_are_the_subcommands_(
    tmp_path: Path, dfs_emulator: EmulatorHandle
) -> None:
    """A cache the audit cannot use is one line and exit 2 before any request, leaving
    nothing; one that breaks during the audit is one warning, and the audit goes on."""
    (tmp_path / "file").write_text("")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database, " * 1000)
    targets = write_targets(tmp_path / "domains.txt", [f"site{i}.com" for i in range(30)])
    args = ["audit", targets, "--base-url", dfs_emulator.base_url, "-o", tmp_path / "a.csv"]
    refused = run_cli(*args, "--cache", tmp_path / "file" / "c.db", env=cli_env(dfs_emulator))
    assert refused.returncode == 2
    line = refused.stderr.splitlines()[-2]
    assert line.startswith("dfs-async audit: ") and "cannot create its directory" in line
    assert dfs_emulator.app.counters.requests == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["domains.txt", "file", "garbage.db"]
    broken = run_cli(*args, "--cache", garbage, env=cli_env(dfs_emulator))
    assert broken.returncode == 0, broken.stderr
    [warning] = [line for line in broken.stderr.splitlines() if line.startswith("warning:")]
    assert warning.startswith(WARNING)
    assert len(read_csv(tmp_path / "a.csv")) == 30


def test_two_runs_at_once_share_one_file(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory
) -> None:
    emu, cache = dfs_emulator_factory(CONFIG), tmp_path / "cache.db"
    targets = list(SIZES)
    lists = [targets[:4], targets[2:]]  # two shared
    runs = []
    for n, mine in enumerate(lists):
        path = write_targets(tmp_path / f"targets{n}.txt", mine)
        args = [CMD, path, "--base-url", emu.base_url, "-o", tmp_path / f"out{n}.jsonl"]
        runs.append(start_cli(*args, "--limit", "100", "--cache", cache, env=cli_env(emu)))
    for n, process in enumerate(runs):
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert jsonl_records(tmp_path / f"out{n}.jsonl") == expected_records(CONFIG, lists[n])
    emu.app.reset_counters()
    whole = run(emu, tmp_path, "whole.jsonl", "--cache", cache)
    assert whole.returncode == 0, whole.stderr
    assert emu.app.counters.requests == 0  # every answer either run fetched was kept
    assert jsonl_records(tmp_path / "whole.jsonl") == expected_records(CONFIG, targets)
