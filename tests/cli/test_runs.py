"""Whole runs of the installed command against an emulator over a socket: outputs and exit codes."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from dfs_async.cli.checkpoint import finished
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig
from dfs_async.emulator.pytest_plugin import EmulatorFactory
from dfs_async.targets import normalize_target

from .helpers import (
    REPO,
    cli_env,
    csv_records,
    expected_records,
    jsonl_records,
    page_records,
    parquet_records,
    run_cli,
    start_cli,
    whole_pages,
    write_targets,
)

CMD = "domain-pages-summary"

# Small targets of pinned sizes (pages of several requests at --limit 100), a subdomain and
# a page URL, written the way a person would.
SIZES = {f"site{i}.com": 40 + 70 * i for i in range(6)}
TARGETS = [*SIZES, "https://www.Blog.Site1.com/", "https://site2.com/page/1"]


def small_config(**fields: object) -> EmulatorConfig:
    return EmulatorConfig(seed=11, max_pages=400, target_sizes=SIZES, **fields)  # type: ignore[arg-type]


def _errors(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_quickstart_as_written(tmp_path: Path) -> None:
    """`dfs-async domain-pages-summary examples/targets.txt --emulator -o pages.jsonl`."""
    (tmp_path / "examples").mkdir()
    example = (REPO / "examples" / "targets.txt").read_text()
    (tmp_path / "examples" / "targets.txt").write_text(example)
    result = run_cli(CMD, "examples/targets.txt", "--emulator", "-o", "pages.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [ln.strip() for ln in example.splitlines()]
    targets = [ln for ln in lines if ln and not ln.startswith("#")]
    expected = expected_records(EmulatorConfig(), targets)
    assert len(expected) > 1000
    assert jsonl_records(tmp_path / "pages.jsonl") == expected
    assert "done: 12 targets ok, 0 failed" in result.stderr
    assert finished(tmp_path / "pages.jsonl.checkpoint") is not None  # the job is complete
    assert not (tmp_path / "pages.jsonl.errors.jsonl").exists()  # no failure, no file


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_each_format_holds_exactly_the_corpus(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory, fmt: str
) -> None:
    config = small_config(faults=FaultConfig(seed=2, http_500=0.1, task_40103=0.1))
    emu = dfs_emulator_factory(config)
    targets = write_targets(tmp_path / "targets.txt", TARGETS)
    out = tmp_path / f"pages.{fmt}"
    fields = ["--limit", "100", "--order-by", "backlinks,desc", "--internal-list-limit", "3"]
    result = run_cli(
        CMD, targets, "--base-url", emu.base_url, "-o", out, *fields, env=cli_env(emu)
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    read = {"jsonl": jsonl_records, "csv": csv_records, "parquet": parquet_records}[fmt]
    expected = expected_records(config, TARGETS, internal_list_limit=3, order_by=["backlinks,desc"])
    assert read(out) == expected
    assert emu.app.counters.requests > len(TARGETS)  # several pages, and retries
    assert not (tmp_path / f"pages.{fmt}.partial.jsonl").exists()


def test_stdout_stdin_and_filters(dfs_emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    config = small_config()
    emu = dfs_emulator_factory(config)
    filters = '[["backlinks", ">", 5], "and", ["url", "like", "%site%"]]'
    result = run_cli(
        CMD, "-", "--base-url", emu.base_url, "--filters", filters, "--quiet",
        "--no-include-subdomains", "--backlinks-status-type", "all",
        env=cli_env(emu), stdin="\n".join(TARGETS) + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    (tmp_path / "o.jsonl").write_text(result.stdout)
    expected = expected_records(
        config, TARGETS, filters=json.loads(filters), include_subdomains=False,
        backlinks_status_type="all",
    )  # fmt: skip
    assert expected and jsonl_records(tmp_path / "o.jsonl") == expected


def test_exit_1_when_a_target_is_invalid(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emu = dfs_emulator_factory(small_config())
    listed = ["site1.com", "not a domain", "site2.com", "WWW.SITE1.com"]
    targets = write_targets(tmp_path / "t.txt", listed)
    out = tmp_path / "o.csv"
    result = run_cli(CMD, targets, "--base-url", emu.base_url, "-o", out, env=cli_env(emu))
    assert result.returncode == 1, result.stderr
    errors = _errors(tmp_path / "o.csv.errors.jsonl")
    assert len(errors) == 1
    assert errors[0]["target"] == "not a domain"
    assert errors[0]["status_code"] == 40501 and errors[0]["attempts"] == 0
    assert "white space" in str(errors[0]["status_message"])
    assert csv_records(out) == expected_records(small_config(), ["site1.com", "site2.com"])
    assert "1 failed" in result.stderr
    assert "dropped 1 duplicate target(s): WWW.SITE1.com" in result.stderr


def test_exit_3_on_wrong_credentials(dfs_emulator: EmulatorHandle, tmp_path: Path) -> None:
    targets = write_targets(tmp_path / "t.txt", ["site1.com"])
    env = cli_env(dfs_emulator, DATAFORSEO_PASSWORD="wrong-secret-123")
    result = run_cli(CMD, targets, "--base-url", dfs_emulator.base_url, "-o", "o.jsonl",
                     env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "credentials were refused (account error" in result.stderr
    assert "--resume" not in result.stderr  # nothing was written: nothing to resume
    assert "wrong-secret-123" not in result.stderr + result.stdout
    assert not (tmp_path / "o.jsonl").exists()


def test_exit_3_when_the_balance_runs_out_keeps_whole_pages(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    config = small_config(balance=0.15)
    emu = dfs_emulator_factory(config)
    targets = write_targets(tmp_path / "t.txt", TARGETS)
    out = tmp_path / "o.jsonl"
    result = run_cli(CMD, targets, "--base-url", emu.base_url, "-o", out, "--limit", "100",
                     "--concurrency", "2", env=cli_env(emu))  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "account error" in result.stderr
    written = jsonl_records(out)
    assert whole_pages(written, config, 100)  # pages written as they came, each once
    assert len(written) < len(expected_records(config, TARGETS))
    assert (tmp_path / "o.jsonl.checkpoint").exists()


def test_exit_3_on_budget_then_resume_with_more(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    config = small_config()
    emu = dfs_emulator_factory(config)
    targets = write_targets(tmp_path / "t.txt", TARGETS)
    out = tmp_path / "o.jsonl"
    args = [CMD, targets, "--base-url", emu.base_url, "-o", out, "--limit", "100"]
    first = run_cli(*args, "--budget", "0.12", "--concurrency", "1", env=cli_env(emu))
    assert first.returncode == 3, first.stderr
    assert "budget" in first.stderr
    second = run_cli(*args, "--budget", "5", "--resume", env=cli_env(emu))
    assert second.returncode == 0, second.stderr
    assert jsonl_records(out) == expected_records(config, TARGETS)


def test_exit_130_on_sigint_then_resume(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    config = small_config(faults=FaultConfig(latency_min=0.05, latency_max=0.15))
    emu = dfs_emulator_factory(config)
    many = [f"s{i}.example.org" for i in range(40)]
    targets = write_targets(tmp_path / "t.txt", many)
    out = tmp_path / "o.jsonl"
    args = [CMD, targets, "--base-url", emu.base_url, "-o", out, "--limit", "100",
            "--concurrency", "4"]  # fmt: skip
    proc = start_cli(*args, env=cli_env(emu))
    _wait_for(lambda: emu.app.counters.requests >= 10)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    assert "stopping: the requests in flight land first" in err
    resumed = run_cli(*args, "--resume", env=cli_env(emu))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming:" in resumed.stderr
    assert jsonl_records(out) == expected_records(config, many)
    assert all(normalize_target(t) == t for t in many)
    # The pages in flight at the signal landed and were written: nothing was asked twice.
    pages = page_records(config, many, 100)
    empty = len(many) - len({target for target, _ in pages})  # one request each
    assert emu.app.counters.requests == len(pages) + empty


def _wait_for(ready: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_target_failing_midway_keeps_its_pages_and_a_resume_continues_it(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    """One try per page against 50401s: targets fail after some pages, which stay written
    (each once); the budget stops the run; the resume continues the failed targets (50401
    is transient) from the pages they lack, asks nothing written, and ends exact."""
    sizes = {f"mid{i}.example.com": 300 + 50 * i for i in range(8)}
    config = EmulatorConfig(
        seed=4, max_pages=400, target_sizes=sizes, faults=FaultConfig(seed=2, task_50401=0.25)
    )
    emu = dfs_emulator_factory(config)
    targets = write_targets(tmp_path / "t.txt", list(sizes))
    out = tmp_path / "o.jsonl"
    args: list[str | Path] = [CMD, targets, "--base-url", emu.base_url, "-o", out, "--limit", "100"]
    first = run_cli(*args, "--max-attempts", "1", "--concurrency", "1", "--budget", "0.4",
                    env=cli_env(emu))  # fmt: skip
    assert first.returncode == 3, first.stderr
    failed = {e["target"] for e in _errors(tmp_path / "o.jsonl.errors.jsonl")}
    kept = whole_pages(jsonl_records(out), config, 100)
    assert {t for t, _ in kept} & failed, "no target failed after some of its pages"
    served = emu.app.counters.items

    again = run_cli(*args, "--max-attempts", "10", "--resume", "--budget", "100",
                    env=cli_env(emu))  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert jsonl_records(out) == expected_records(config, list(sizes))
    # the resume was served only the items of the pages not written before
    written_before = sum(len(rows) for key, rows in page_records(config, sizes, 100).items()
                         if key in kept)  # fmt: skip
    total = len(expected_records(config, list(sizes)))
    assert emu.app.counters.items - served == total - written_before
