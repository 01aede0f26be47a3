"""The library's audit (`dfs.audit`): one row per domain from every part at once, on one
client and one budget, against the emulator over a real socket, asyncio and trio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dfs_async import (
    AuditPlan,
    AuditRow,
    BudgetExhausted,
    DataForSEO,
    Interrupted,
    PartAnswer,
    RetryPolicy,
    ValidationError,
)
from dfs_async.audit import NEW_LOST, PARTS, PERIOD
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig, running_emulator
from dfs_async.endpoints import BY_NAME

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base=0.005, cap=0.05, slow_base=0.01, throttle_base=0.005)
TODAY = datetime.now(UTC).date()
DOMAINS = [f"site{i}.example.com" for i in range(2500)]


@asynccontextmanager
async def session(
    config: EmulatorConfig | None = None, **options: Any
) -> AsyncIterator[tuple[EmulatorHandle, DataForSEO]]:
    config = config or EmulatorConfig(rate_limit=10**6)
    async with running_emulator(config) as emu:
        client = DataForSEO(
            emu.login, emu.password, base_url=emu.base_url, rate=None, retry_policy=FAST,
            **options,
        )  # fmt: skip
        async with client as dfs:
            yield emu, dfs


def corpus_rows(emu: EmulatorHandle, plan: AuditPlan) -> dict[str, dict[str, Any]]:
    """Each domain's columns as the corpus answers each part."""
    rows: dict[str, dict[str, Any]] = {d: {} for d in plan.domains}
    for column, (part, field) in plan.columns.items():
        for domain in plan.domains:
            task = {"targets": [domain]} if part != "summary" else {"target": domain}
            result, _ = emu.app.corpus.answer_task(part, {**task, **plan.fields[part]})
            item = result.items[0] if part != "summary" else result
            rows[domain][column] = getattr(item, field)
    return rows


async def test_one_row_a_domain_joined_from_every_part_at_once() -> None:
    lines = [*DOMAINS[:300], "https://www.Site5.example.com/x", "https://new.example.org/", "x y"]
    async with session() as (emu, dfs):
        async with dfs.audit(lines, parts=[*PARTS, "summary"], rank_scale="one_hundred") as audit:
            rows = [row async for row in audit]
        plan = audit.plan
        # 300 domains, a URL of one of them (a duplicate), a URL of another: 301 rows
        assert plan.duplicates == ["https://www.Site5.example.com/x"]
        assert plan.from_url == [("https://new.example.org/", "new.example.org")]
        assert sorted(r.target for r in rows) == sorted(plan.rows) and len(rows) == 302
        by_target = {r.target: r for r in rows}
        bad = by_target.pop("x y")
        assert set(bad.failures) == set(plan.parts)
        assert all(f.status_code == 40501 and f.attempts == 0 for f in bad.failures.values())
        expected = corpus_rows(emu, plan)
        for domain, row in by_target.items():
            assert not row.failures
            assert {c: row.values[c] for c in plan.columns} == expected[domain], domain
            assert (row.values[PERIOD[0]], row.values[PERIOD[1]]) == (
                TODAY - timedelta(days=30),
                TODAY,
            )
            assert row.values["rank"] <= 100  # the rank scale reached bulk_ranks
        # the parts ran on one client: its stats tell each one's share of what was charged
        assert dfs.stats.costs.keys() == set(plan.parts)
        assert sum(dfs.stats.costs.values()) == pytest.approx(emu.app.counters.cost, abs=1e-9)
        assert dfs.stats.costs["bulk_ranks"] == pytest.approx(0.02 + 301 * 0.00003)
        assert emu.app.counters.by_path[BY_NAME["summary"].path] == 301


async def test_known_answers_are_not_asked_again() -> None:
    """A resumed audit asks each part only for the domains it lacks; rows complete from
    what was known come first."""
    async with session() as (emu, dfs):
        async with dfs.audit(DOMAINS) as first:
            events = [e async for e in first.events()]
        answers = [e for e in events if isinstance(e, PartAnswer)]
        rows = {e.target: e for e in events if isinstance(e, AuditRow)}
        assert len(answers) == len(DOMAINS) * len(PARTS) and len(rows) == len(DOMAINS)
        # forget bulk_ranks of the last 1,500 and bulk_backlinks of the last 10
        forgotten = {("bulk_ranks", d) for d in DOMAINS[1000:]}
        forgotten |= {("bulk_backlinks", d) for d in DOMAINS[-10:]}
        known = [a for a in answers if (a.part, a.target) not in forgotten]
        emu.app.reset_counters()
        estimate = await dfs.audit.estimate(DOMAINS, known=known)
        assert {p: e.targets for p, e in estimate.parts.items() if e.targets} == {
            "bulk_ranks": 1500, "bulk_backlinks": 10,
        }  # fmt: skip
        async with dfs.audit(DOMAINS, known=known) as again:
            resumed = [row async for row in again]
        assert emu.app.counters.by_path == {
            BY_NAME["bulk_ranks"].path: 2, BY_NAME["bulk_backlinks"].path: 1,
        }  # fmt: skip
        assert {r.target: r for r in resumed} == rows
        assert [r.target for r in resumed[:1000]] == DOMAINS[:1000]  # known: at once
        assert estimate.requests == 3


async def test_one_budget_for_every_part() -> None:
    async with session(max_cost=0.2) as (emu, dfs):
        rows = []
        with pytest.raises(BudgetExhausted):
            async with dfs.audit(DOMAINS, parts=[*PARTS, "summary"]) as audit:
                async for row in audit:
                    rows.append(row)
        assert emu.app.counters.cost == pytest.approx(dfs.stats.cost, abs=1e-9)
        assert 0.15 < dfs.stats.cost <= 0.2  # stopped before the next request could pass it
        assert all(len(r.values) and not r.failures for r in rows)


async def test_a_stop_lets_what_is_in_flight_land() -> None:
    """`dfs.stop()` (a Ctrl-C): nothing more is sent, what was answered is delivered, and
    the audit ends with Interrupted; nothing the API charged for is lost."""
    faults = FaultConfig(latency_min=0.01, latency_max=0.03)
    async with session(EmulatorConfig(rate_limit=10**6, faults=faults), concurrency=8) as (
        emu,
        dfs,
    ):
        answers: list[PartAnswer] = []
        with pytest.raises(Interrupted):
            async with dfs.audit(DOMAINS[:400], parts=["bulk_ranks", "summary"]) as audit:
                async for event in audit.events():
                    if isinstance(event, PartAnswer):
                        answers.append(event)
                        if len(answers) == 500:
                            dfs.stop()
        summaries = [a for a in answers if a.part == "summary"]
        assert 100 <= len(summaries) < 400  # stopped midway
        # every summary the API was asked for (and charged) was delivered
        assert emu.app.counters.by_path[BY_NAME["summary"].path] == len(summaries)
        assert emu.app.counters.cost == pytest.approx(dfs.stats.cost, abs=1e-9)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"date_from": "2024-13-01"}, "date_from"),
        ({"date_from": TODAY - timedelta(days=400)}, "date_from"),
        ({"rank_scale": "ten"}, "rank_scale"),
        ({"parts": ["bulk_ranks", "nope"]}, "parts"),
        ({"parts": ["bulk_ranks"], "date_from": str(TODAY)}, "date_from"),  # no new/lost part
        ({"parts": ["bulk_backlinks"], "rank_scale": "one_hundred"}, "rank_scale"),
    ],
)
async def test_mistakes_are_refused_before_anything_is_sent(
    options: dict[str, Any], field: str
) -> None:
    async with session() as (emu, dfs):
        with pytest.raises(ValidationError) as raised:
            dfs.audit(DOMAINS, **options)
        assert raised.value.field == field
        with pytest.raises(ValidationError):
            await dfs.audit.estimate(DOMAINS, **options)
        assert emu.app.counters.requests == 0 and emu.app.counters.user_data == 0


def test_the_plan_reads_domains_as_the_audit_documents() -> None:
    plan = AuditPlan.of(
        ["Forbes.com", "https://www.forbes.com/about", "www.bbc.co.uk", "not a domain"],
        parts=["bulk_ranks", "bulk_new_lost_backlinks"],
        date_from=str(TODAY),
    )
    assert plan.rows == ["forbes.com", "bbc.co.uk", "not a domain"]
    assert plan.domains == ["forbes.com", "bbc.co.uk"]
    assert plan.duplicates == ["https://www.forbes.com/about"]
    assert plan.invalid[0][0] == "not a domain"
    assert list(plan.fields["bulk_new_lost_backlinks"]) == ["date_from"]
    assert plan.fields["bulk_ranks"] == {}
    assert list(plan.columns) == ["rank", "new_backlinks", "lost_backlinks"]
    assert set(NEW_LOST) & set(plan.parts) == {"bulk_new_lost_backlinks"}
