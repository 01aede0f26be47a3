"""Nothing paid twice by accident, in every subcommand: a finished job's `--resume` sends
nothing, a rule across fields is checked before sending, no option is abbreviated; and the
progress of one big target counts its items against its total."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dfs_async.cli import build_parser
from dfs_async.cli.outputs import JsonlEncoder
from dfs_async.cli.progress import Snapshot, plain_line
from dfs_async.cli.writer import AuditWriter
from dfs_async.emulator import EmulatorConfig, EmulatorHandle
from dfs_async.emulator.pytest_plugin import EmulatorFactory
from dfs_async.endpoints import BY_NAME
from dfs_async.models import DomainPageSummary

from .helpers import cli_env, run_cli, write_targets

TODAY = datetime.now(UTC).date()


def test_a_finished_job_resumed_sends_nothing(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emu = dfs_emulator_factory(EmulatorConfig(seed=2, rate_limit=10**6))
    targets = write_targets(tmp_path / "t.txt", ["a.com", "b.org", "not a target"])
    out = tmp_path / "s.csv"
    args = ["summary", targets, "--base-url", emu.base_url, "-o", out, "--resume"]
    first = run_cli(*args, env=cli_env(emu))
    assert first.returncode == 1, first.stderr  # "not a target"
    assert "no checkpoint to resume: starting the run" in first.stderr
    kept, sent, charged = out.read_bytes(), emu.app.counters.requests, emu.app.counters.cost

    again = run_cli(*args, env=cli_env(emu))  # a scheduler that always passes --resume
    assert again.returncode == 0, again.stderr
    assert f"{out} is complete (2 ok, 1 failed; ${charged:.5f}".rstrip("0") in again.stderr
    assert emu.app.counters.requests == sent and emu.app.counters.user_data == 1
    assert out.read_bytes() == kept

    out.write_text("changed by hand\n")
    changed = run_cli(*args, env=cli_env(emu))
    assert changed.returncode == 2 and "was changed since" in changed.stderr
    out.unlink()
    gone = run_cli(*args, env=cli_env(emu))
    assert gone.returncode == 2 and "is missing: run it without --resume" in gone.stderr
    assert emu.app.counters.requests == sent
    fresh = run_cli(*args[:-1], env=cli_env(emu))  # asked for: a new run
    # the same rows, perhaps in another order (the targets' answers race each other)
    assert fresh.returncode == 1 and sorted(out.read_bytes().splitlines()) == sorted(
        kept.splitlines()
    )

    write_targets(tmp_path / "other.txt", ["c.net"])
    other = run_cli("summary", tmp_path / "other.txt", *args[2:], env=cli_env(emu))
    assert other.returncode == 0, other.stderr  # another job's finished checkpoint blocks nothing
    assert "is of another, finished job: starting this one" in other.stderr


def _days(n: int) -> str:
    return str(TODAY - timedelta(days=n))


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("timeseries-summary", ["--date-from", _days(10), "--date-to", _days(40)], "reversed"),
        ("history", ["--date-from", _days(10), "--date-to", _days(40)], "reversed"),
        ("timeseries-new-lost-summary", ["--date-to", _days(-1)], "(today)"),
        ("domain-pages-summary", ["--max-item", "5"], "unrecognized arguments: --max-item"),
        ("domain-pages-summary", ["--order", "rank,desc"], "unrecognized arguments: --order"),
    ],
)
def test_a_rule_across_fields_or_an_abbreviation_is_refused_before_sending(
    dfs_emulator: EmulatorHandle, tmp_path: Path, command: str, args: list[str], message: str
) -> None:
    targets = write_targets(tmp_path / "t.txt", [f"d{i}.com" for i in range(32)])
    result = run_cli(command, targets, "-o", tmp_path / "o.jsonl", *args, "--base-url",
                     dfs_emulator.base_url, env=cli_env(dfs_emulator))  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and message in lines[0], result.stderr
    assert dfs_emulator.app.counters.requests == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_the_library_and_the_emulator_check_a_range_the_same_way() -> None:
    from dfs_async import ValidationError

    for name in ("history", "timeseries_summary", "timeseries_new_lost_summary"):
        with pytest.raises(ValidationError, match="the range is reversed") as raised:
            BY_NAME[name].check_fields({"date_from": _days(10), "date_to": _days(40)})
        assert raised.value.field == "date_from"
    later = datetime.now(UTC).replace(microsecond=0)
    times = {
        "datetime_from": f"{later:%Y-%m-%d %H:%M:%S} +00:00",
        "datetime_to": f"{later - timedelta(hours=1):%Y-%m-%d %H:%M:%S} +00:00",
    }
    for name in ("errors", "id_list"):
        with pytest.raises(ValidationError, match="the range is reversed"):
            BY_NAME[name].check_task(times)
    long_ago = f"{later - timedelta(days=200):%Y-%m-%d %H:%M:%S} +00:00"
    with pytest.raises(ValidationError, match="more than six months back"):
        BY_NAME["id_list"].check_task({**times, "datetime_from": long_ago})


def test_no_parser_takes_an_abbreviated_option() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parsers = [parser, *sub.choices.values()]
    assert len(parsers) > 25 and all(p.allow_abbrev is False for p in parsers)


def test_one_big_target_s_progress_counts_its_items() -> None:
    """One target of 45,000 items, 12,000 written: progress by its total, with an eta."""
    writer = AuditWriter(JsonlEncoder(DomainPageSummary), io.BytesIO(), io.BytesIO(), None)
    for offset in range(0, 12_000, 1000):
        writer.page_done("big.com", offset, 45_000, 1000, 0.0)
    share, left, told = writer.unfinished()
    assert (round(share, 3), left, told) == (round(12 / 45, 3), 33_000, 1)
    snapshot = Snapshot(
        total=1, done_before=0, ok=0, failed=0, items=12_000, requests=12, answered=12,
        retry_codes={}, cost=0.6, elapsed=30.0, partial=share, items_left=left,
    )  # fmt: skip
    line = plain_line(snapshot)
    assert "0/1 targets, 12,000 of 45,000 items" in line
    assert snapshot.eta == pytest.approx(30 * 33 / 12) and "eta 1m22s" in line
    # a resumed target: what the runs before wrote counts, and max_items caps the total
    resumed = AuditWriter(JsonlEncoder(DomainPageSummary), io.BytesIO(), io.BytesIO(), None,
                          cap=20_000, before={"big.com": 10_000})  # fmt: skip
    resumed.page_done("big.com", 10_000, 45_000, 1000, 0.0)
    assert resumed.unfinished() == (pytest.approx(11 / 20), 9_000, 1)
    resumed.done("big.com", 0.0)
    assert resumed.unfinished() == (0.0, 0, 0)
