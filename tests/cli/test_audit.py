"""`dfs-async audit`: many domains to one joined table, as one job, through the real command
against the emulator over a socket. Every case a user can get wrong is checked with the
emulator's own counters: what it was sent and what it charged."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dfs_async.audit import PARTS, PERIOD, AuditPlan
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig, serving_emulator
from dfs_async.emulator.pytest_plugin import EmulatorFactory
from dfs_async.endpoints import BY_NAME
from dfs_async.money import money

from .helpers import cli_env, run_cli, start_cli, write_targets

DOMAINS = [f"shop{i}.example.net" for i in range(10_000)]
CONFIG = EmulatorConfig(seed=13, rate_limit=1_000_000)
TODAY = datetime.now(UTC).date()
SINCE = TODAY - timedelta(days=30)  # the default period


def expected_rows(emu: EmulatorHandle, domains: list[str]) -> dict[str, dict[str, str]]:
    """Each domain's row as the corpus answers each bulk endpoint, as CSV text."""
    rows: dict[str, dict[str, str]] = {d: {"target": d} for d in domains}
    plan = AuditPlan.of(domains)
    for column, (name, field) in plan.columns.items():
        task = {"targets": domains, **plan.fields[name]}
        result, _ = emu.app.corpus.answer_task(name, task)
        for item in result.items:
            value = getattr(item, field)
            rows[item.target][column] = "" if value is None else str(value)
    for row in rows.values():
        row |= {PERIOD[0]: str(SINCE), PERIOD[1]: str(TODAY)}
    return rows


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    return {row["target"]: row for row in csv.DictReader(io.StringIO(path.read_text()))}


def per_endpoint(emu: EmulatorHandle, parts: tuple[str, ...] = PARTS) -> dict[str, int]:
    return {name: emu.app.counters.by_path.get(BY_NAME[name].path, 0) for name in parts}


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


@pytest.fixture(scope="module")
def served() -> EmulatorHandle:
    with serving_emulator(CONFIG) as emu:
        yield emu  # type: ignore[misc]


def audit(
    served: EmulatorHandle, *args: str | Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return run_cli("audit", *args, "--base-url", served.base_url, env=cli_env(served),
                   timeout=timeout)  # fmt: skip


def test_ten_thousand_domains_one_table_ten_requests_a_bulk_endpoint(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "domains.txt", DOMAINS)
    out = tmp_path / "audit.csv"
    served.app.reset_counters()
    result = audit(served, targets, "-o", out)
    assert result.returncode == 0, result.stderr
    assert per_endpoint(served) == dict.fromkeys(PARTS, 10)
    got = read_csv(out)
    assert list(got) == DOMAINS  # one row a domain, in the file's order
    assert got == expected_rows(served, DOMAINS)
    assert listing(tmp_path) == ["audit.csv", "audit.csv.checkpoint", "domains.txt"]
    # the summary: the total the API charged, and each endpoint's share of it
    charged = served.app.counters.cost
    assert f"; {money(charged)}; " in result.stderr
    share = f"bulk_ranks {money(charged / 6)} (16.7%), bulk_backlinks {money(charged / 6)}"
    assert "cost by endpoint (this job): " + share in result.stderr
    assert f"new/lost: from {SINCE} to {TODAY}" in result.stderr

    served.app.reset_counters()  # a scheduler that always passes --resume pays once
    again = audit(served, targets, "-o", out, "--resume")
    assert again.returncode == 0, again.stderr
    assert f"{out} is complete (10,000 rows, 0 failed" in again.stderr
    assert "nothing sent" in again.stderr
    assert served.app.counters.requests == 0 and served.app.counters.user_data == 0


def test_killed_and_resumed_the_table_is_the_same(served: EmulatorHandle, tmp_path: Path) -> None:
    targets = write_targets(tmp_path / "domains.txt", DOMAINS)
    args = ["audit", targets, "--base-url", served.base_url, "--quiet", "--concurrency", "2"]
    env = cli_env(served)
    served.app.reset_counters()
    whole = run_cli(*args, "-o", tmp_path / "whole.csv", env=env, timeout=300)
    assert whole.returncode == 0, whole.stderr
    uninterrupted = served.app.counters.cost
    out = tmp_path / "out.csv"
    served.app.reset_counters()
    proc = start_cli(*args, "-o", out, env=env)
    deadline = time.monotonic() + 120
    while served.app.counters.requests < 25:  # killed midway: some parts half done
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert not out.exists()  # the table is written whole, at the end
    refused = run_cli(*args, "-o", out, env=env)
    assert refused.returncode == 2 and "--resume" in refused.stderr  # nothing thrown away
    resumed = run_cli(*args, "-o", out, "--resume", env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    # A kill costs at most the packs in flight (2 at once) and those whose answers were on
    # their way to the checkpoint (the audit's buffer: 1,024 answers, two packs at most).
    assert sum(per_endpoint(served).values()) <= 60 + 2 + 2
    assert served.app.counters.cost <= uninterrupted + 4 * (0.02 + 1000 * 0.00003) + 1e-9


def test_ctrl_c_loses_nothing_paid_for(
    dfs_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    """SIGINT sends nothing more, lets the requests in flight land and records them: the
    interrupted and resumed audit costs exactly what an uninterrupted one does."""
    config = EmulatorConfig(
        seed=3, rate_limit=1_000_000, faults=FaultConfig(latency_min=0.02, latency_max=0.06)
    )
    emu = dfs_emulator_factory(config)
    domains = DOMAINS[:400]
    targets = write_targets(tmp_path / "domains.txt", domains)
    args = ["audit", targets, "--with", "summary", "--base-url", emu.base_url, "--concurrency",
            "4"]  # fmt: skip
    whole = run_cli(*args, "-o", tmp_path / "whole.jsonl", env=cli_env(emu), timeout=300)
    assert whole.returncode == 0, whole.stderr
    uninterrupted = emu.app.counters.cost
    emu.app.reset_counters()
    out = tmp_path / "out.jsonl"
    proc = start_cli(*args, "-o", out, env=cli_env(emu))
    deadline = time.monotonic() + 60
    while emu.app.counters.by_path.get(BY_NAME["summary"].path, 0) < 50:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    hint = f"resume: dfs-async audit {targets} --with summary --base-url {emu.base_url}"
    assert f"{hint} --concurrency 4 -o {out} --resume" in err  # the user's own command
    resumed = run_cli(*args, "-o", out, "--resume", env=cli_env(emu), timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming: " in resumed.stderr
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert emu.app.counters.cost == pytest.approx(uninterrupted, abs=1e-9)


def test_a_failed_endpoint_leaves_its_columns_empty_and_its_failure_listed(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "domains.txt", ["good.com", "not a domain", "fine.org"])
    out = tmp_path / "audit.jsonl"
    result = audit(served, targets, "-o", out, "--quiet")
    assert result.returncode == 1, result.stderr
    rows = out.read_text().splitlines()
    assert len(rows) == 3 and '"target":"not a domain"' in rows[1] and '"rank":null' in rows[1]
    errors = (tmp_path / "audit.jsonl.errors.jsonl").read_text().splitlines()
    assert len(errors) == len(PARTS) and all('"endpoint":"bulk_' in line for line in errors)


def test_the_dry_run_gives_each_endpoint_and_the_total(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "domains.txt", DOMAINS[:2500])
    served.app.reset_counters()
    result = audit(served, targets, "-o", tmp_path / "a.csv", "--with", "summary", "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    bulk = 3 * 0.02 + 2500 * 0.00003  # 3 requests of up to 1,000 domains, a row each
    for part in PARTS:
        assert f"{part}: 3 requests of up to 1,000 domains, cost bound ${bulk:.3f}" in out
    summary = 2500 * (0.02 + 0.00003)
    assert f"summary: 2,500 requests, one a domain, cost bound ${summary:.2f}" in out
    assert f"total: 2,518 requests, cost bound ${6 * bulk + summary:.3f}" in out
    assert served.app.counters.requests == 0
    assert listing(tmp_path) == ["domains.txt"]


# -- what a user can get wrong costs nothing and leaves nothing ------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date-from", "2024-13-01"], "--date-from: a date as yyyy-mm-dd (got '2024-13-01')"),
        (["--date-from", str(TODAY - timedelta(days=400))], "--date-from: "),
        (["--date-from", str(TODAY + timedelta(days=2))], "(today)"),
        (["--rank-scale", "ten"], "--rank-scale: must be one of one_hundred, one_thousand"),
        (["--sort", "nope"], "--sort: no column 'nope'"),
        (["--sort", "rank,up"], "the order is asc or desc"),
        (["--sort", "summary_referring_links_tld", "--with", "summary"], "--sort: no column"),
        (["-o", "nodir/a.csv"], "directory nodir does not exist"),
        (["-o", "a.txt"], "cannot tell the format of a.txt"),
        (["--report", "nodir/a.html"], "report nodir/a.html: directory nodir does not exist"),
        (["--max-item", "5"], "unrecognized arguments: --max-item"),
        (["--date", "2026-01-01"], "unrecognized arguments: --date"),  # no abbreviations
        (["nosuch.txt"], "targets file not found: nosuch.txt"),
        (["empty.txt"], "no targets in empty.txt"),
        (["latin1.txt"], "latin1.txt is not UTF-8 text"),
    ],
)
def test_a_mistake_is_one_line_costs_nothing_and_leaves_nothing(
    served: EmulatorHandle, tmp_path: Path, args: list[str], message: str
) -> None:
    write_targets(tmp_path / "domains.txt", DOMAINS[:20])
    (tmp_path / "empty.txt").write_text("# nothing here\n\n")
    (tmp_path / "latin1.txt").write_bytes("café.fr\n".encode("latin-1"))
    before = listing(tmp_path)
    source = args.pop(0) if args[0].endswith(".txt") and "-o" not in args else "domains.txt"
    served.app.reset_counters()
    argv = [source, *(["-o", "a.csv"] if "-o" not in args else []), *args]
    result = run_cli("audit", *argv, "--base-url", served.base_url, env=cli_env(served),
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("dfs-async audit: error: "), result.stderr
    assert message in lines[0] and lines[1] == "see: dfs-async audit --help"
    assert served.app.counters.requests == 0 and served.app.counters.user_data == 0
    assert listing(tmp_path) == before
    good = run_cli("audit", "domains.txt", "-o", "a.csv", "--base-url", served.base_url,
                   "--quiet", env=cli_env(served), cwd=tmp_path)  # fmt: skip
    assert good.returncode == 0, good.stderr  # nothing left that blocks the next run


PROBE = """
import sys
sys.modules[{module!r}] = None  # as if its extra were not installed
from dfs_async.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("pyarrow", ["-o", "a.parquet"], "[parquet]"),
        ("vl_convert", ["-o", "a.csv", "--report", "a.html"], "[report]"),
    ],
)
def test_without_an_output_s_extra_nothing_is_paid(
    served: EmulatorHandle, tmp_path: Path, module: str, args: list[str], extra: str
) -> None:
    write_targets(tmp_path / "domains.txt", DOMAINS[:20])
    served.app.reset_counters()
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module), "audit", "domains.txt", *args,
         "--with", "summary", "--base-url", served.base_url],
        env=cli_env(served), cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"pip install 'dfs-async{extra}'" in result.stderr and "Traceback" not in result.stderr
    assert served.app.counters.requests == 0
    assert listing(tmp_path) == ["domains.txt"]


def test_a_server_never_reached_leaves_nothing_that_blocks_the_next_run(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "domains.txt", DOMAINS[:20])
    closed = "http://127.0.0.1:9"  # discard: nothing listens
    for command in (["audit", targets, "-o", "a.csv"], ["bulk-ranks", targets, "-o", "r.csv"]):
        before = listing(tmp_path)
        result = run_cli(*command, "--base-url", closed, "--max-attempts", "1",
                         "--no-account-limits", env=cli_env(served), cwd=tmp_path)  # fmt: skip
        assert result.returncode == 3, result.stderr
        assert "cannot reach" in result.stderr and "nothing was paid" in result.stderr
        assert listing(tmp_path) == before
        again = run_cli(*command, "--base-url", served.base_url, "--quiet",
                        env=cli_env(served), cwd=tmp_path)  # fmt: skip
        assert again.returncode == 0, again.stderr


# -- one budget, one total -------------------------------------------------------------------

_REACHED = re.compile(
    r"stopped: budget reached: spent \$([\d.]+) of \$1\.00 \(this job, across resumed runs\),"
    r" \$([\d.]+) left; the next request could have passed it"
)


def test_the_budget_is_the_whole_audit_s(served: EmulatorHandle, tmp_path: Path) -> None:
    domains = DOMAINS[:150]
    targets = write_targets(tmp_path / "domains.txt", domains)
    served.app.reset_counters()
    whole = audit(served, targets, "-o", tmp_path / "whole.csv", "--with", "summary", "-q")
    assert whole.returncode == 0, whole.stderr
    uninterrupted = served.app.counters.cost
    assert uninterrupted > 2  # the budget below stops it midway
    served.app.reset_counters()
    out = tmp_path / "a.csv"
    first = audit(served, targets, "-o", out, "--with", "summary", "--budget", "1")
    assert first.returncode == 3, first.stderr
    reached = _REACHED.search(first.stderr)
    assert reached, first.stderr
    spent, left = float(reached.group(1)), float(reached.group(2))
    assert spent == pytest.approx(served.app.counters.cost, abs=1e-5) and spent <= 1
    assert spent + left == pytest.approx(1.0, abs=1e-5)
    assert f"resume: dfs-async audit {targets} -o {out} --with summary --budget 1 --base-url" in (
        first.stderr
    )
    again = audit(served, targets, "-o", out, "--with", "summary", "--budget", "1", "--resume")
    assert again.returncode == 3 and _REACHED.search(again.stderr), again.stderr
    assert served.app.counters.cost <= 1  # across resumes
    done = audit(served, targets, "-o", out, "--with", "summary", "--budget", "9", "--resume")
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert served.app.counters.cost == pytest.approx(uninterrupted, abs=1e-9)
    assert f"{money(uninterrupted)} for the whole job" in done.stderr


# -- the table an SEO user expects -----------------------------------------------------------


def test_sorted_on_a_rank_scale_with_its_period_recorded(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    pages = ["https://www.Shop7.example.net/page", "https://www.Other.example.org/"]
    domains = [*DOMAINS[:50], "not a domain", *pages]
    targets = write_targets(tmp_path / "domains.txt", domains)
    out = tmp_path / "a.csv"
    since = TODAY - timedelta(days=90)
    result = audit(served, targets, "-o", out, "--sort", "rank", "--rank-scale", "one_hundred",
                   "--date-from", str(since))  # fmt: skip
    assert result.returncode == 1, result.stderr  # the line that is no domain
    assert f"dropped 1 duplicate domain(s): {pages[0]} (shop7.example.net)" in result.stderr
    assert f"read 1 URL(s) as their domain: {pages[1]} -> other.example.org" in result.stderr
    rows = list(read_csv(out).values())
    assert len(rows) == 52 and "other.example.org" in {r["target"] for r in rows}
    ranks = [int(r["rank"]) for r in rows if r["rank"]]
    assert ranks == sorted(ranks, reverse=True) and max(ranks) <= 100
    assert rows[-1]["target"] == "not a domain"  # no value: last
    assert {(r[PERIOD[0]], r[PERIOD[1]]) for r in rows[:-1]} == {(str(since), str(TODAY))}
    assert f"new/lost: from {since} to {TODAY}; rank: one_hundred" in result.stderr
    by_name = audit(served, targets, "-o", out, "--sort", "target,desc", "--rank-scale",
                    "one_hundred", "--date-from", str(since), "--restart")  # fmt: skip
    assert by_name.returncode == 1, by_name.stderr
    names = list(read_csv(out))
    assert names == sorted(names, reverse=True)


def test_one_type_for_one_field_in_every_output(served: EmulatorHandle, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    targets = write_targets(tmp_path / "domains.txt", DOMAINS[:5])
    for name in ("a.parquet", "a.jsonl"):
        result = audit(served, targets, "-o", tmp_path / name, "--with", "summary", "-q")
        assert result.returncode == 0, result.stderr
    summary = run_cli("summary", targets, "-o", tmp_path / "s.parquet", "--base-url",
                      served.base_url, "-q", env=cli_env(served))  # fmt: skip
    assert summary.returncode == 0, summary.stderr
    table, alone = pq.read_schema(tmp_path / "a.parquet"), pq.read_schema(tmp_path / "s.parquet")
    for field in ("first_seen", "lost_date"):
        assert table.field(f"summary_{field}").type == alone.field(field).type
        assert alone.field(field).type == pa.timestamp("us", tz="UTC")
    assert table.field("new_lost_from").type == pa.date32()
    line = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    assert line["new_lost_from"] == str(SINCE)  # ISO text in JSONL and CSV
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00", line["summary_first_seen"])


def test_the_report_comes_with_the_table(served: EmulatorHandle, tmp_path: Path) -> None:
    targets = write_targets(tmp_path / "domains.txt", DOMAINS[:30])
    result = audit(served, targets, "-o", tmp_path / "a.csv", "--report", tmp_path / "a.html")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert page.count("<tr><td>") == 30 and page.count("<svg") == 4
    assert f"<dt>New and lost since<dd>{SINCE} to {TODAY}" in page
    assert f"report: {tmp_path / 'a.html'}" in result.stderr


def test_the_readme_s_main_job_as_written(tmp_path: Path) -> None:
    """The README's quickstart command, run as written (its built-in emulator), gives the
    table the README shows (its period columns aside: they move with the calendar)."""
    from .helpers import REPO

    readme = (REPO / "README.md").read_text()
    install = next(line for line in readme.splitlines() if "python3 -m venv .venv" in line)
    command = install.split("&& .venv/bin/dfs-async ")[1].split()
    assert command[:2] == ["audit", "examples/targets.txt"] and "--report" in command
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "targets.txt").write_bytes(
        (REPO / "examples" / "targets.txt").read_bytes()
    )
    result = run_cli(*command, cwd=tmp_path, env=cli_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    shown = [line.strip() for line in readme.split("The first lines of `audit.csv`")[1]
             .split("\n\n")[1].splitlines()]  # fmt: skip
    written = (tmp_path / "audit.csv").read_text().splitlines()
    assert [line.rsplit(",", 2)[0] for line in written[:4]] == [
        line.rsplit(",", 2)[0] for line in shown
    ]
    assert (tmp_path / "audit.html").stat().st_size > 10_000
