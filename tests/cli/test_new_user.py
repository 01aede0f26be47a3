"""What a new user ran into (issue 15): each case through the real command over a socket."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dfs_async.cli import build_parser
from dfs_async.cli.progress import money
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig
from dfs_async.emulator.pytest_plugin import EmulatorFactory

from .helpers import CLI, REPO, cli_env, expected_records, jsonl_records, run_cli, write_targets

CMD = "domain-pages-summary"
SIZES = {f"site{i}.com": 150 + 50 * i for i in range(6)}


def _config(**fields: object) -> EmulatorConfig:
    return EmulatorConfig(seed=11, max_pages=400, target_sizes=SIZES, **fields)  # type: ignore[arg-type]


# -- 2: a forgotten --resume never throws a paid partial run away --------------------------


def test_an_unfinished_run_is_refused_without_resume_or_restart(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emu = dfs_emulator_factory(_config())
    targets = write_targets(tmp_path / "t.txt", list(SIZES))
    out = tmp_path / "o.jsonl"
    args = [CMD, targets, "--base-url", emu.base_url, "-o", out, "--limit", "100"]
    first = run_cli(*args, "--budget", "0.1", "--concurrency", "1", env=cli_env(emu))
    assert first.returncode == 3, first.stderr
    kept, requests = out.read_bytes(), emu.app.counters.requests

    again = run_cli(*args, env=cli_env(emu))
    assert again.returncode == 2, again.stderr
    assert "unfinished run" in again.stderr and "--resume" in again.stderr
    assert "--restart" in again.stderr and "Traceback" not in again.stderr
    both = run_cli(*args, "--resume", "--restart", env=cli_env(emu))
    assert both.returncode == 2 and "--restart: not allowed with argument --resume" in both.stderr
    assert out.read_bytes() == kept and emu.app.counters.requests == requests

    restarted = run_cli(*args, "--restart", env=cli_env(emu))
    assert restarted.returncode == 0, restarted.stderr
    assert "starting over" in restarted.stderr
    assert jsonl_records(out) == expected_records(_config(), list(SIZES), limit=100)


# -- 4: the budget counts the whole job, and says what it spent -----------------------------

_SPENT = re.compile(
    r"budget reached: spent \$([\d.]+) of \$0\.10 \(this job, across resumed runs\)"
)
_WHOLE = re.compile(r"\$([\d.]+) for the whole job|; \$([\d.]+); ")


def test_the_budget_counts_the_whole_job_across_resumes(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emu = dfs_emulator_factory(_config())
    targets = write_targets(tmp_path / "t.txt", list(SIZES))
    args = [CMD, targets, "--base-url", emu.base_url, "-o", tmp_path / "o.jsonl", "--limit",
            "100", "--budget", "0.1", "--concurrency", "1"]  # fmt: skip
    first = run_cli(*args, env=cli_env(emu))
    assert first.returncode == 3, first.stderr
    spent = _SPENT.search(first.stderr)
    assert spent, first.stderr
    summary = _WHOLE.search(first.stderr.split("so far:")[1])
    assert summary and spent.group(1) in summary.groups()  # the same figure as the summary
    assert float(spent.group(1)) == pytest.approx(emu.app.counters.cost, abs=1e-5)
    for _ in range(5):  # resumes with the same budget until nothing is left of it
        sent = emu.app.counters.requests
        again = run_cli(*args, "--resume", env=cli_env(emu))
        assert again.returncode == 3, again.stderr
        spent = _SPENT.search(again.stderr)
        assert spent, again.stderr
        assert float(spent.group(1)) == pytest.approx(emu.app.counters.cost, abs=1e-5)
        assert emu.app.counters.cost <= 0.1
        if emu.app.counters.requests == sent:
            break
    assert "a higher --budget" in again.stderr and "Traceback" not in again.stderr


# -- 5: the library reads a targets file the way the command line does ---------------------


def test_read_targets_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    from dfs_async import read_targets

    example = read_targets(REPO / "examples" / "targets.txt")
    assert len(example) == 12 and example[0] == "forbes.com"
    assert all(t and not t.startswith("#") for t in example)
    odd = tmp_path / "odd.txt"
    odd.write_bytes(b"\xef\xbb\xbfa.com\r\n\r\n# note\r\n  b.com  # trailing\r\n")
    assert read_targets(odd) == ["a.com", "b.com"]
    readme = (REPO / "README.md").read_text()
    assert 'read_targets("targets.txt")' in readme and "open(" not in readme


# -- 6: every usage error is one line naming the option, then the subcommand's help --------


@pytest.mark.parametrize(
    ("args", "first"),
    [
        ([CMD, "--limit", "abc"], f"dfs-async {CMD}: error: --limit: not an integer: 'abc'"),
        ([CMD, "--concurrency", "0"], f"dfs-async {CMD}: error: --concurrency: must be at least"),
        ([CMD, "--rate", "-5"], f"dfs-async {CMD}: error: --rate: must be more than 0"),
        ([CMD, "--format", "xml"], f"dfs-async {CMD}: error: --format: invalid choice: 'xml'"),
        ([CMD, "--bogus"], f"dfs-async {CMD}: error: unrecognized arguments: --bogus"),
        ([CMD, "-o", "out.txt"], f"dfs-async {CMD}: error: cannot tell the format"),
        (["emulator", "--port", "99999"], "dfs-async emulator: error: --port: a port is from 0"),
        (["emulator", "--bogus"], "dfs-async emulator: error: unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_are_one_line_and_a_hint(
    tmp_path: Path, dfs_emulator: EmulatorHandle, args: list[str], first: str
) -> None:
    targets = write_targets(tmp_path / "t.txt", ["forbes.com"])
    extra = [targets, "--base-url", dfs_emulator.base_url] if args[0] == CMD else []
    result = run_cli(*args, *extra, env=cli_env(dfs_emulator), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(first), result.stderr
    assert lines[1] == f"see: dfs-async {args[0]} --help"
    assert dfs_emulator.app.counters.requests == 0


def test_every_emulator_option_is_explained() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    emulator = sub.choices["emulator"]  # type: ignore[index]
    options = [a for a in emulator._actions if a.option_strings and a.dest != "help"]
    assert len(options) > 20
    assert [a.dest for a in options if not a.help] == []


# -- 7: the dry run prints the first-page requests and needs nothing ------------------------


def test_dry_run_prints_the_first_requests_without_credentials(
    tmp_path: Path, dfs_emulator: EmulatorHandle
) -> None:
    result = run_cli(
        CMD, REPO / "examples" / "targets.txt", "--max-items", "300", "--order-by",
        "backlinks,desc", "--base-url", dfs_emulator.base_url, "--dry-run", env=cli_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # the task exactly as the stream sends it: the fields, the target, the first page
    first = {"target": "forbes.com", "limit": 300, "order_by": ["backlinks,desc"], "offset": 0}
    shown = [json.loads(line) for line in out.splitlines() if line.startswith("  [")]
    assert shown[0] == [first]
    assert '"target":"wikipedia.org"' in out and '"target":"github.com"' not in out
    assert "... and 7 more" in out
    assert "first-page requests: 12" in out and "cost bound: $0.348" in out
    assert dfs_emulator.app.counters.requests == 0


PROBE = """
import sys
sys.modules["uvicorn"] = None  # as if the emulator extra were not installed
from dfs_async.cli import main
sys.exit(main(["domain-pages-summary", "--target", "a.com", "--emulator", "--dry-run"]))
"""


def test_dry_run_with_the_emulator_needs_no_uvicorn() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert '[{"target":"a.com","offset":0,"limit":1000}]' in result.stdout  # as sent


def test_a_real_run_without_credentials_names_the_variables(tmp_path: Path) -> None:
    result = run_cli(CMD, "--target", "a.com", "-o", tmp_path / "o.jsonl", env=cli_env())
    assert result.returncode == 2
    assert "set DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD (or use --emulator)" in result.stderr
    assert "login=" not in result.stderr


# -- 9: leftovers ---------------------------------------------------------------------------


def test_refused_credentials_leave_nothing_behind(
    dfs_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "t.txt", ["site1.com", "site2.com"])
    env = cli_env(dfs_emulator, DATAFORSEO_PASSWORD="wrong-secret-123")
    result = run_cli(CMD, targets, "--base-url", dfs_emulator.base_url, "-o", "o.csv",
                     env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "credentials were refused" in result.stderr and "--resume" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_no_empty_errors_file(dfs_emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    emu = dfs_emulator_factory(_config())
    out = tmp_path / "o.jsonl"
    (tmp_path / "o.jsonl.errors.jsonl").write_text('{"target": "stale"}\n')  # a past run's
    result = run_cli(CMD, "--target", "site1.com", "--base-url", emu.base_url, "-o", out,
                     env=cli_env(emu))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1 target ok" in result.stderr  # and not "1 targets"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jsonl", "o.jsonl.checkpoint"]


def test_the_emulator_command_prints_its_account_and_logs_requests() -> None:
    proc = subprocess.Popen(
        [*CLI, "emulator", "--port", "0", "--verbose"], env=cli_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert proc.stdout.readline().strip() == "login: emulator  password: emulator"
        env = cli_env(DATAFORSEO_LOGIN="emulator", DATAFORSEO_PASSWORD="emulator")
        result = run_cli(CMD, "--target", "a.com", "--max-items", "5", "--base-url", url,
                         env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "POST /v3/backlinks/domain_pages_summary/live" in err


# -- 10: small things -------------------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    example = REPO / "examples" / "targets.txt"
    proc = subprocess.Popen(
        [*CLI, CMD, example, "--emulator", "--limit", "100"], env=cli_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b'{"target":')
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141, err
    assert "Broken pipe" not in err and "Traceback" not in err and "stopped" not in err


def test_too_much_concurrency_is_warned_about(tmp_path: Path) -> None:
    result = run_cli(CMD, "--target", "a.com", "--concurrency", "100", "--dry-run", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "the API allows 30 simultaneous requests per account" in result.stderr


def test_money_has_no_float_noise() -> None:
    assert money(11.563140000000026) == "$11.56314"
    assert money(0.3408) == "$0.3408" and money(1.2) == "$1.20" and money(0) == "$0.00"


# -- 11: what a user looks for -----------------------------------------------------------------


def test_the_summary_names_empty_targets_and_retries_by_code(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    sizes = {**SIZES, "empty1.com": 0, "empty2.com": 0}
    config = EmulatorConfig(
        seed=11, max_pages=400, target_sizes=sizes,
        faults=FaultConfig(seed=3, http_500=0.15, envelope_50000=0.15),
    )  # fmt: skip
    emu = dfs_emulator_factory(config)
    targets = write_targets(tmp_path / "t.txt", list(sizes))
    result = run_cli(CMD, targets, "--base-url", emu.base_url, "-o", tmp_path / "o.jsonl",
                     "--limit", "100", env=cli_env(emu))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"2 targets had no items: empty[12].com, empty[12].com\n", result.stderr)
    by_status = emu.app.counters.by_status
    retried = {code: n for code, n in by_status.items() if code in (500, 50000)}
    total = sum(retried.values())
    assert total > 0
    parts = sorted(retried.items(), key=lambda kv: (-kv[1], kv[0]))
    listed = ", ".join(f"{code}: {n}" for code, n in parts)
    assert f"retries: {total} ({listed})" in result.stderr
    requests = emu.app.counters.requests
    assert f"{requests} of {requests} requests answered" in result.stderr


def test_what_a_user_looks_for_is_there() -> None:
    assert "MIT License" in (REPO / "LICENSE").read_text()
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "## [0.1.0]" in changelog
    readme = (REPO / "README.md").read_text()
    for option in ("retry_policy=", "timeout=", "concurrency=", "rate=", "max_cost=",
                   "max_attempts=", "http=", "--restart", "about 4 minutes"):  # fmt: skip
        assert option in readme
