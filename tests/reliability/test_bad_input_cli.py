"""Bad input to the command line, beyond tests/cli/test_usage.py (which covers limit 0/1001,
malformed filter JSON, an unknown filter field, a bad order_by direction, a 256-character
tag, an empty, binary, missing or directory targets file, missing credentials, ...).

Every case: a clear one-line message, the documented exit code, no traceback, and no request
when the problem could be known beforehand (the emulator's counters prove it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli.helpers import (
    cli_env,
    expected_records,
    jsonl_records,
    page_records,
    run_cli,
    whole_pages,
    write_targets,
)

from dfs_async.emulator import EmulatorConfig, EmulatorHandle
from dfs_async.emulator.pytest_plugin import EmulatorFactory

from .servers import HtmlSite, closed_port, serving

CMD = "domain-pages-summary"
FOUR_RULES = [
    arg
    for rule in ("rank,desc", "backlinks,desc", "url,asc", "first_seen,asc")
    for arg in ("--order-by", rule)
]
NINE = json.dumps([["backlinks", ">", i] if i % 2 == 0 else "and" for i in range(17)])


def _usage_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[1] == f"see: dfs-async {CMD} --help", result.stderr


def _errors(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["--filters", NINE], "--filters: at most 8", id="filters-9-conditions"),
        pytest.param(["--filters", '[["url", "~~", "x"]]'], "--filters", id="filters-unknown-op"),
        pytest.param(FOUR_RULES, "--order-by: at most 3", id="order-by-4-rules"),
        pytest.param(["--base-url", "ftp://127.0.0.1/"], "base_url", id="base-url-not-http"),
        pytest.param(["--base-url", "not a url"], "base_url", id="base-url-garbage"),
        pytest.param(["--budget", "0"], "--budget", id="budget-0"),
        pytest.param(["--rate", "-5"], "--rate", id="rate-negative"),
    ],
)
def test_bad_options_exit_2_before_any_request(
    tmp_path: Path, dfs_emulator: EmulatorHandle, args: list[str], needle: str
) -> None:
    targets = write_targets(tmp_path / "t.txt", ["forbes.com"])
    base = [] if "--base-url" in args else ["--base-url", dfs_emulator.base_url]
    result = run_cli(CMD, targets, *base, *args, env=cli_env(dfs_emulator), cwd=tmp_path)
    _usage_error(result, needle)
    assert dfs_emulator.app.counters.requests == 0


def test_unreadable_targets_files_exit_2(tmp_path: Path, dfs_emulator: EmulatorHandle) -> None:
    """Tests run as root, for whom chmod 000 does not make a file unreadable: a path through a
    file (ENOTDIR) and a directory stand in; chmod 000 is tried too when not root."""
    env, url = cli_env(dfs_emulator), dfs_emulator.base_url
    plain = write_targets(tmp_path / "t.txt", ["forbes.com"])
    cases = [(plain / "child", "cannot be read"), (tmp_path, "is a directory")]
    if os.geteuid() != 0:
        locked = write_targets(tmp_path / "locked.txt", ["forbes.com"])
        locked.chmod(0)
        cases.append((locked, "permission denied"))
    for path, needle in cases:
        _usage_error(run_cli(CMD, path, "--base-url", url, env=env, cwd=tmp_path), needle)
    assert dfs_emulator.app.counters.requests == 0


def test_targets_written_oddly_are_normalised_and_bad_ones_fail_alone(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory
) -> None:
    config = EmulatorConfig(seed=8, max_pages=40)
    emu = dfs_emulator_factory(config)
    good = ["https://www.Forbes.com/", "WWW.Example.ORG", "bücher.de",
            "HTTPS://Shop.Example.com/Blog/Post?id=1"]  # fmt: skip
    bad = ["a b.com", "example.com/blog", "ftp://example.com/x"]
    targets = tmp_path / "t.txt"
    targets.write_text("\n".join([*good, *bad]) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = run_cli(CMD, targets, "--base-url", emu.base_url, "-o", out, env=cli_env(emu))
    assert result.returncode == 1, result.stderr  # some targets failed
    assert "Traceback" not in result.stderr
    assert jsonl_records(out) == expected_records(config, good)
    errors = _errors(tmp_path / "o.jsonl.errors.jsonl")
    assert sorted(e["target"] for e in errors) == sorted(bad)
    assert all(e["status_code"] == 40501 and e["attempts"] == 0 for e in errors)
    assert emu.app.counters.requests == len(good)  # the bad ones cost nothing


def test_wrong_credentials_exit_3_at_the_first_401(
    tmp_path: Path, dfs_emulator: EmulatorHandle
) -> None:
    targets = write_targets(tmp_path / "t.txt", [f"site{i}.com" for i in range(100)])
    env = cli_env(dfs_emulator, DATAFORSEO_PASSWORD="Wr0ng-pass")
    result = run_cli(CMD, targets, "--base-url", dfs_emulator.base_url, "-o", tmp_path / "o.jsonl",
                     env=env)  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "account error 40100" in result.stderr and "Traceback" not in result.stderr
    counters = dfs_emulator.app.counters  # user_data refused first: no task sent
    assert (counters.user_data, counters.requests) == (1, 0)


def test_an_unreachable_base_url_stops_the_run(tmp_path: Path) -> None:
    """Nothing listens: one page's attempts, then exit 3 with one message naming the URL;
    no target is failed, and nothing paid leaves nothing (the next run, once the server is
    up, starts afresh and does them all)."""
    targets = write_targets(tmp_path / "t.txt", [f"s{i}.com" for i in range(20)])
    env = cli_env(DATAFORSEO_LOGIN="me", DATAFORSEO_PASSWORD="secret")
    url = closed_port()
    result = run_cli(CMD, targets, "--base-url", url, "-o", tmp_path / "o.jsonl",
                     "--max-attempts", "2", env=env)  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "127.0.0.1" in result.stderr
    assert f"stopped: cannot reach {url}: connection refused\n" in result.stderr
    assert "ssl" not in result.stderr  # aiohttp's wording, misleading for http://
    # attempts that never reached the server are not counted as answered requests
    assert re.search(r"; 0 of \d+ requests answered;", result.stderr), result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr
    assert "nothing was paid or written: the output and checkpoint are removed" in result.stderr
    assert "--resume" not in result.stderr
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("o.jsonl")]


@pytest.mark.parametrize(("status", "message"), [(200, "undecodable"), (500, "HTTP 500")])
def test_a_base_url_answering_html_fails_the_targets_clearly(
    tmp_path: Path, status: int, message: str
) -> None:
    site = HtmlSite(status)
    targets = write_targets(tmp_path / "t.txt", ["a.com", "b.com"])
    env = cli_env(DATAFORSEO_LOGIN="me", DATAFORSEO_PASSWORD="secret")
    with serving(site) as url:
        result = run_cli(CMD, targets, "--base-url", url, "-o", tmp_path / "o.jsonl",
                         "--max-attempts", "2", env=env)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert site.requests == 1 + 4  # its user_data (falling back to the defaults), 2 x 2 tries
    assert "could not read the account's limits" in result.stderr
    errors = _errors(tmp_path / "o.jsonl.errors.jsonl")
    assert len(errors) == 2 and all(message in str(e["status_message"]) for e in errors)


def test_funds_running_out_mid_run_stop_cleanly_and_resume(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory
) -> None:
    """40210 in the middle of a run: exit 3, the pages written so far kept, then a resume (on
    an account with funds again: the same corpus on a second emulator) completes exactly."""
    sizes = {f"fund{i}.example.com": 120 + 40 * i for i in range(12)}
    poor = EmulatorConfig(seed=9, max_pages=600, target_sizes=sizes, balance=0.2)
    rich = EmulatorConfig(seed=9, max_pages=600, target_sizes=sizes)
    targets = write_targets(tmp_path / "t.txt", list(sizes))
    out = tmp_path / "o.jsonl"
    args: list[str | Path] = [CMD, targets, "-o", out, "--limit", "100", "--concurrency", "3"]
    emu = dfs_emulator_factory(poor)
    first = run_cli(*args, "--base-url", emu.base_url, env=cli_env(emu))
    assert first.returncode == 3, first.stderr
    assert "account error 40210" in first.stderr and "--resume" in first.stderr
    assert "Traceback" not in first.stderr
    assert emu.app.counters.by_status.get(40210, 0) >= 1
    assert emu.app.counters.cost <= 0.2
    written = jsonl_records(out)
    kept = whole_pages(written, poor, 100)  # intact: whole pages, each once
    assert 0 < len(kept) < len(page_records(poor, sizes, 100))

    funded = dfs_emulator_factory(rich)
    again = run_cli(*args, "--base-url", funded.base_url, "--resume", env=cli_env(funded))
    assert again.returncode == 0, again.stderr
    assert jsonl_records(out) == expected_records(rich, list(sizes))
