"""The account through the real command (issue 13): `dfs-async account`, a run paced by the
account, --rate and --no-account-limits, the fallback, a daily limit, the account's prices."""

from __future__ import annotations

import json
from pathlib import Path

from dfs_async.emulator import EmulatorConfig, serving_emulator

from .helpers import cli_env, run_cli, write_targets

CMD = "domain-pages-summary"
NAME = "domain_pages_summary"


def test_account_prints_the_account_and_json() -> None:
    config = EmulatorConfig(
        accounts={"me@example.com": "s3cret-Pw"},
        rate_limit=120,
        balance=50.0,
        daily_limits={NAME: 100},
        used_today={NAME: 7},
    )
    with serving_emulator(config) as emu:
        env = cli_env(emu)
        text = run_cli("account", "--base-url", emu.base_url, env=env)
        raw = run_cli("account", "--base-url", emu.base_url, "--json", env=env)
        assert emu.app.counters.user_data == 2 and emu.app.counters.requests == 0
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "login: me@example.com" in out and "balance: $50" in out
    assert "requests a minute: 120" in out and "spent today: $0" in out
    assert "backlinks subscription expires: 2099-12-31" in out
    assert f"{NAME}: 100; 7" in out
    assert raw.returncode == 0, raw.stderr
    info = json.loads(raw.stdout)
    assert info["login"] == "me@example.com" and info["per_minute"] == 120
    assert info["balance"] == 50.0 and info["daily_limits"] == {NAME: 100}
    assert info["used_today"] == {NAME: 7}
    assert info["prices"][NAME] == {"per_request": 0.02, "per_item": 0.00003}
    assert emu.password not in out + raw.stdout + text.stderr + raw.stderr


def test_account_that_cannot_be_read_is_exit_3() -> None:
    with serving_emulator(EmulatorConfig(user_data_fails=True)) as emu:
        result = run_cli("account", "--base-url", emu.base_url, env=cli_env(emu))
    assert result.returncode == 3
    assert "cannot read the account" in result.stderr and "Traceback" not in result.stderr


def test_a_run_paces_at_the_accounts_limit(tmp_path: Path) -> None:
    """120 a minute (12 per 6 s window): 14 targets with no --rate, none refused."""
    targets = write_targets(tmp_path / "t.txt", [f"s{i}.example.com" for i in range(14)])
    config = EmulatorConfig(rate_limit=12, window_seconds=6, max_pages=0)
    with serving_emulator(config) as emu:
        result = run_cli(
            CMD, targets, "--base-url", emu.base_url, "-o", tmp_path / "o.jsonl",
            env=cli_env(emu),
        )  # fmt: skip
        counters = emu.app.counters
    assert result.returncode == 0, result.stderr
    assert "account: pacing at 118 requests a minute (its limit: 120)" in result.stderr
    assert counters.user_data == 1 and counters.requests == 14
    assert counters.by_status.get(40202, 0) == 0


def test_rate_and_the_opt_out_skip_the_account(tmp_path: Path) -> None:
    with serving_emulator(EmulatorConfig(max_pages=0)) as emu:
        env, url = cli_env(emu), emu.base_url
        rate = run_cli(CMD, "--target", "a.com", "--base-url", url, "--rate", "600", env=env)
        off = run_cli(CMD, "--target", "b.com", "--base-url", url, "--no-account-limits", env=env)
        assert emu.app.counters.user_data == 0 and emu.app.counters.requests == 2
    for result in (rate, off):
        assert result.returncode == 0, result.stderr
        assert "account:" not in result.stderr


def test_a_failing_user_data_falls_back_with_one_notice(tmp_path: Path) -> None:
    with serving_emulator(EmulatorConfig(max_pages=0, user_data_fails=True)) as emu:
        result = run_cli(
            CMD, "--target", "a.com", "--target", "b.com", "--base-url", emu.base_url,
            env=cli_env(emu),
        )  # fmt: skip
        assert emu.app.counters.requests == 2
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("could not read the account's limits") == 1
    assert "pacing at 2,000 requests a minute" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_daily_limit_stops_the_run_clearly(tmp_path: Path) -> None:
    targets = write_targets(tmp_path / "t.txt", [f"s{i}.example.com" for i in range(6)])
    config = EmulatorConfig(max_pages=0, daily_limits={NAME: 10}, used_today={NAME: 8})
    with serving_emulator(config) as emu:
        result = run_cli(
            CMD, targets, "--base-url", emu.base_url, "-o", tmp_path / "o.jsonl",
            env=cli_env(emu),
        )  # fmt: skip
        counters = emu.app.counters
    assert result.returncode == 3, result.stderr
    assert "2 of 10 requests a day left today" in result.stderr
    assert "stopped: daily limit reached" in result.stderr and "00:00 UTC" in result.stderr
    assert counters.requests == 2 and counters.by_status.get(40205, 0) == 0


def test_the_dry_run_and_the_run_go_by_the_accounts_price(tmp_path: Path) -> None:
    config = EmulatorConfig(target_sizes={"a.com": 50}, prices={NAME: (0.05, 0.0001)})
    with serving_emulator(config) as emu:
        env = cli_env(emu)
        common = [CMD, "--target", "a.com", "--base-url", emu.base_url, "--max-items", "100"]
        dry = run_cli(*common, "--dry-run", env=env)
        assert emu.app.counters.requests == 0
        real = run_cli(*common, "-o", tmp_path / "o.jsonl", env=env)
        charged = emu.app.counters.cost
    assert dry.returncode == 0, dry.stderr
    # one request of up to 100 items at $0.05 + $0.0001 an item
    assert "cost bound: $0.06 (at most 1 requests" in dry.stdout
    assert "price: $0.05 a request + $0.0001 an item" in dry.stdout
    assert real.returncode == 0, real.stderr
    assert "$0.05 a request + $0.0001 an item" in real.stderr
    items = len((tmp_path / "o.jsonl").read_text().splitlines())
    assert charged == round(0.05 + 0.0001 * items, 5)
    assert f"${charged:.5f}".rstrip("0") in real.stderr
