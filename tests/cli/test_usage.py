"""Exit code 2: every usage or configuration error is one clear line, before any request.

The server in these runs is an emulator whose counters must stay at zero: "before any
request" is checked, not assumed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dfs_async.emulator import EmulatorHandle

from .helpers import REPO, cli_env, run_cli, write_targets

CMD = "domain-pages-summary"


def _assert_usage_error(result: object, needle: str) -> None:
    code, err = result.returncode, result.stderr  # type: ignore[attr-defined]
    assert code == 2, err
    assert needle in err
    assert "Traceback" not in err
    assert f"dfs-async {CMD}: error:" in err or "usage:" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--limit", "0"], "--limit: must be from 1 to 1000"),
        (["--limit", "1001"], "--limit: must be from 1 to 1000"),
        (["--limit", "ten"], "not an integer"),
        (["--internal-list-limit", "0"], "--internal-list-limit"),
        (["--backlinks-status-type", "dead"], "--backlinks-status-type: must be one of"),
        (["--rank-scale", "ten"], "--rank-scale"),
        (["--filters", "[broken"], "--filters: not valid JSON"),
        (["--filters", '[["nope", ">", 1]]'], "--filters"),
        (["--order-by", "backlinks,up"], "--order-by"),
        (["--tag", "x" * 256], "--tag"),
        (["--max-items", "0"], "--max-items"),
        (["--concurrency", "0"], "--concurrency"),
        (["--sandbox", "--emulator"], "not allowed with"),
        (["-o", "out.txt"], "cannot tell the format"),
        (["--format", "parquet"], "parquet output needs -o FILE"),
        (["--resume"], "--resume needs -o FILE"),
        (["-o", "missing-dir/out.jsonl"], "does not exist"),
        (["-o", "."], "is a directory"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, dfs_emulator: EmulatorHandle, args: list[str], needle: str
) -> None:
    targets = write_targets(tmp_path / "t.txt", ["forbes.com"])
    result = run_cli(
        CMD, targets, "--base-url", dfs_emulator.base_url, *args,
        env=cli_env(dfs_emulator), cwd=tmp_path,
    )  # fmt: skip
    _assert_usage_error(result, needle)
    assert dfs_emulator.app.counters.requests == 0


def test_bad_targets_files(tmp_path: Path, dfs_emulator: EmulatorHandle) -> None:
    env = cli_env(dfs_emulator)
    url = dfs_emulator.base_url
    (tmp_path / "empty.txt").write_text("# nothing here\n\n")
    (tmp_path / "bin.dat").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    cases = [
        ("missing.txt", "targets file not found"),
        ("empty.txt", "no targets in"),
        ("bin.dat", "not a text file"),
        (".", "is a directory"),
    ]
    for name, needle in cases:
        _assert_usage_error(run_cli(CMD, name, "--base-url", url, env=env, cwd=tmp_path), needle)
    _assert_usage_error(run_cli(CMD, "--base-url", url, env=env, cwd=tmp_path), "no targets")
    assert dfs_emulator.app.counters.requests == 0


def test_missing_credentials(tmp_path: Path, dfs_emulator: EmulatorHandle) -> None:
    targets = write_targets(tmp_path / "t.txt", ["forbes.com"])
    result = run_cli(CMD, targets, "--base-url", dfs_emulator.base_url, "-o", tmp_path / "o.jsonl")
    _assert_usage_error(result, "DATAFORSEO_LOGIN")
    assert not (tmp_path / "o.jsonl").exists()
    assert dfs_emulator.app.counters.requests == 0


def test_help_explains_every_option() -> None:
    result = run_cli(CMD, "--help")
    assert result.returncode == 0
    for option in (
        "--limit", "--order-by", "--filters", "--backlinks-filters", "--internal-list-limit",
        "--backlinks-status-type", "--no-include-subdomains", "--no-include-indirect-links",
        "--no-exclude-internal-backlinks", "--rank-scale", "--tag", "--max-items",
        "--base-url", "--sandbox", "--emulator", "--concurrency", "--rate", "--budget",
        "--dry-run", "--output", "--format", "--errors", "--resume", "--quiet",
    ):  # fmt: skip
        assert option in result.stdout
    assert result.stdout.count("default") >= 20
    assert "exit codes" in result.stdout and "130" in result.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("dfs-async ")


def test_dry_run_sends_nothing(tmp_path: Path, dfs_emulator: EmulatorHandle) -> None:
    out = tmp_path / "o.jsonl"
    result = run_cli(
        CMD, REPO / "examples" / "targets.txt", "--target", "bad target", "--max-items", "1500",
        "--base-url", dfs_emulator.base_url, "--dry-run", "-o", out, env=cli_env(dfs_emulator),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "first-page requests: 12" in result.stdout
    # 12 targets, pages of up to 1000 and 500 items at $0.02 + $0.00003 per item
    assert "cost bound: $1.02 (at most 24 requests" in result.stdout
    assert "1 invalid" in result.stdout
    assert not out.exists()
    assert dfs_emulator.app.counters.requests == 0
