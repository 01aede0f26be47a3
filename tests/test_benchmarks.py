"""Every benchmark runs once at a tiny size: proof that it works, not a measurement.

No assertion here is about speed: only that each benchmark measured what it claims (every
row has its figures, every client got every item, each goal was judged) and that the report
is written from them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `benchmarks` is a top-level folder, not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import (  # noqa: E402
    decode,
    hot_path,
    import_time,
    memory,
    overhead,
    paced,
    pool,
    saturation,
    scale,
    small_answers,
)
from benchmarks.harness import Section, Size, canned_server, engine_missing, machine  # noqa: E402
from benchmarks.report import render_markdown, render_text  # noqa: E402

needs_engine = pytest.mark.skipif(bool(engine_missing()), reason=engine_missing())


def assert_complete(section: Section) -> None:
    """Every row carries a positive figure for each metric it reports, and renders."""
    assert section.rows
    for row in section.rows:
        assert row.values, row.name
        assert all(v >= 0 for v in row.values.values()), row
    text = render_text([section])
    assert section.title in text
    assert all(row.name in text for row in section.rows)


def test_canned_server_pages_a_target_like_the_api() -> None:
    with canned_server(per_target=250) as server, httpx.Client(base_url=server.url) as client:
        seen = []
        for offset in (0, 100, 200):
            task = {"target": "site1.com", "limit": 100, "offset": offset, "tag": "t"}
            r = client.post("/v3/backlinks/domain_pages_summary/live", json=[task])
            envelope = r.json()
            result = envelope["tasks"][0]["result"][0]
            assert envelope["tasks"][0]["data"]["tag"] == "t"
            assert result["target"] == "site1.com"
            assert result["total_count"] == 250
            seen += [item["url"] for item in result["items"]]
        assert len(seen) == 250 == len(set(seen))
        assert client.get("/v3/nowhere").json()["status_code"] == 40400
        answered = server.stop()
    assert answered["tasks"] == 3


def test_decode() -> None:
    section = decode.run(Size.TINY)
    assert_complete(section)
    assert {r.name for r in section.rows} == set(decode.decoders())
    assert all(len(r.values) == len(decode.PAGE_SIZES) for r in section.rows)


def test_overhead() -> None:
    section = overhead.run(Size.TINY)
    assert_complete(section)
    names = {r.name for r in section.rows}
    assert {overhead.FLOOR, overhead.NAIVE, overhead.OFFICIAL} <= names
    assert len(section.goals) == 4  # the floor, many-page and one-page; official; naive
    if not engine_missing():
        assert {overhead.OURS, overhead.OURS_TRIO} <= names
        assert all(g.met is not None for g in section.goals)
        for name in overhead.ONE_PAGE:  # both cases measured, side by side
            row = section.row(name)
            assert row is not None and row.values["cpu_per_1k_one"] > 0
        assert any("under trio" in n for n in section.notes)


@needs_engine
def test_small_answers() -> None:
    section = small_answers.run(Size.TINY)
    assert_complete(section)
    assert {r.name for r in section.rows} == set(small_answers.VARIANTS)
    assert all(r.values["cpu_per_request"] > 0 for r in section.rows)
    assert [g.met is not None for g in section.goals] == [True]
    assert any("the floor under trio" in note for note in section.notes)


@needs_engine
def test_paced() -> None:
    section = paced.run(Size.TINY)
    assert_complete(section)
    assert {r.name for r in section.rows} == set(paced.VARIANTS)
    assert [g.met is not None for g in section.goals] == [True]
    floor = section.row(paced.FLOOR)
    assert floor is not None
    # The floor is paced: n requests, one every 60 / rate s, span at least (n - 1) intervals
    # (a bound a loaded machine can only exceed; 20% off for the timers' resolution).
    n = floor.values["per_minute"] * floor.values["wall"] / 60
    assert floor.values["wall"] >= 0.8 * (n - 1) * 60 / paced.RATE
    assert sum("Pacing" in note for note in section.notes) == 2


def test_import_time() -> None:
    section = import_time.run(Size.TINY)
    assert_complete(section)
    names = {r.name for r in section.rows}
    assert {import_time.BARE, import_time.HTTPX} <= names
    assert len(section.goals) == 1
    if not engine_missing():
        assert {import_time.IMPORT, import_time.HELP} <= names
        assert section.goals[0].met is not None
        assert any("-X importtime" in n for n in section.notes)


def test_pool() -> None:
    section = pool.run(Size.TINY)
    assert_complete(section)
    measured = {r.name for r in section.rows}
    skipped = {
        name for name in pool.RAW if any(n.startswith(f"{name}: skipped") for n in section.notes)
    }
    assert set(pool.RAW) - skipped <= measured
    assert any("Least CPU per request" in n for n in section.notes)


@needs_engine
def test_saturation_reads_the_emulators_counters() -> None:
    section = saturation.run(Size.TINY)
    assert_complete(section)
    ours = section.row("ours (asyncio)")
    assert ours is not None
    for case in saturation.CASES:
        assert ours.values[f"rps_{case.key}"] > 0
        assert ours.values[f"peak_{case.key}"] >= 1  # the emulator saw the requests
    assert len(section.goals) == len(saturation.CASES)
    assert all(g.met is not None for g in section.goals)
    assert any("over the client's wall time" in n for n in section.notes)


def test_the_best_saturation_run_keeps_every_runs_refusals() -> None:
    def run(busy: float, rps: float, refused: int, peak: int) -> dict[str, float]:
        return {"busy": busy, "rps": rps, "refused": refused, "40202": refused,
                "40209": 0, "max_simultaneous": peak}  # fmt: skip

    conc, rate = saturation.CASES
    runs = [run(0.97, 146, 0, 30), run(0.99, 144, 0, 29), run(0.98, 145, 2, 31)]
    best = saturation.best_run(runs, conc)
    assert best["busy"] == 0.99  # the run the machine disturbed least
    assert (best["refused"], best["40202"], best["max_simultaneous"]) == (2, 2, 31)
    assert best["each"] == "29.10, 29.70, 29.40"
    assert saturation.best_run(runs, rate)["rps"] == 146  # judged by its rate


@needs_engine
def test_memory() -> None:
    section = memory.run(Size.TINY)
    assert_complete(section)
    assert [g.met is not None for g in section.goals] == [True, True]


@needs_engine
def test_scale() -> None:
    section = scale.run(Size.TINY)
    assert_complete(section)
    assert section.goals[0].met is not None


@needs_engine
def test_emulator_runs_through_the_command_line() -> None:
    from benchmarks import emulator_throughput

    for run in (emulator_throughput.run, emulator_throughput.run_endpoints):
        section = run(Size.TINY)
        assert_complete(section)
        assert all(row.values["records"] > 0 for row in section.rows)
        assert section.goals and all(g.met is not None for g in section.goals)
    assert emulator_throughput.read_retries("done: ...; retries: 3 (no status: 2, 50000: 1)") == (
        3,
        2,
    )


@needs_engine
def test_profile() -> None:
    section = hot_path.run(Size.TINY)
    assert_complete(section)
    assert 0 < sum(r.values["share"] for r in section.rows) <= 100.0 + 1e-6


def test_report_shows_machine_command_ratios_and_verdicts() -> None:
    section = decode.run(Size.TINY)
    section.goals.append(overhead.goals(section, "the client is missing")[0])
    text = render_markdown(
        [section], machine(), "scripts/bench --only decode", datetime.now(UTC), Size.TINY
    )
    assert "scripts/bench --only decode" in text
    assert "shared" in text and "**CPU**" in text
    assert "Python" in text and "msgspec" in text
    assert "1.00x" in text  # the baseline's own ratio
    assert "NOT RUN" in text and "the client is missing" in text
    assert msgspec.json.decode(msgspec.json.encode(machine()))  # plain strings only


def test_only_part_of_the_suite_never_replaces_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import benchmarks.__main__ as bench

    def tiny(name: str) -> Callable[[Size], Section]:
        return lambda size: Section(name, name.title(), "what", "baseline", [])

    monkeypatch.setattr(bench, "BENCHMARKS", {n: tiny(n) for n in ("decode", "pool")})
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    (tmp_path / "benchmarks").mkdir()
    report = tmp_path / "benchmarks" / "RESULTS.md"
    assert bench.main(["--only", "decode"]) == 0
    assert not report.exists()  # a part: printed only
    assert bench.main(["--only", "decode", "--output", str(tmp_path / "part.md")]) == 0
    assert "Decode" in (tmp_path / "part.md").read_text()
    assert bench.main([]) == 0  # the whole suite: the report
    assert "Decode" in report.read_text() and "Pool" in report.read_text()


def test_family() -> None:
    from benchmarks import family

    section = family.run(Size.TINY)
    assert_complete(section)
    assert {r.name for r in section.rows} == {
        f"{what} {who}" for what in ("bulk", "cursor") for who in (family.FLOOR, family.OURS)
    }
    assert all(g.met is not None for g in section.goals)
    assert section.goals[0].met  # packed: ceil(n / 1000) requests


def test_cache(redis_server: object) -> None:  # the fixture: skip where Redis is missing
    from benchmarks import cache

    section = cache.run(Size.TINY)
    assert_complete(section)
    stores = len(cache.STORES)
    # + bulk's index and log, and the store opened and closed
    pages, micro = 1 + 2 * stores, 2 + stores * 2 * len(cache.LOOPS) + 3
    assert len(section.rows) == pages + micro + len(cache.BULK_RUNS) + len(cache.AUDIT_RUNS)
    held = [r for r in section.rows if "nothing sent" in r.name or "from the cache" in r.name]
    assert len(held) == stores + 2 and all(r.values["requests"] == 0 for r in held)
    assert len(section.goals) == 2 * stores + 3 and all(g.met is not None for g in section.goals)
    assert section.goals[-1].met  # the second run of the audit sends no request
    bulk = next(g for g in section.goals if g.text.startswith("bulk, a run with no hits"))
    assert bulk.met or all(  # the run's budget, against the store's cost however idle
        part in bulk.limit for part in ("% of a run of", "the SQLite file opened and closed")
    )
    pages = next(g for g in section.goals if g.text.startswith("a run with no hits (SQLite)"))
    assert pages.met or "the file system alone takes" in pages.limit


def test_shared_limits() -> None:
    from benchmarks import shared_limits

    section = shared_limits.run(Size.TINY)
    assert_complete(section)
    shared = section.row("primitive: SharedLimits, 1 at a time")
    assert shared is not None
    assert 1 <= shared.values["trips"] <= 3  # counted by Redis: an acquire, maybe a release
    assert all(g.met is not None for g in section.goals)


def test_audit() -> None:
    from benchmarks import audit

    section = audit.run(Size.TINY)
    assert_complete(section)
    assert {r.name for r in section.rows} == {
        f"{what} {who}" for what in ("bulk", "with summary") for who in (audit.FLOOR, audit.OURS)
    }
    assert section.row(f"bulk {audit.FLOOR}").values["requests"] == 6  # type: ignore[union-attr]
    assert all(g.met is not None for g in section.goals)
