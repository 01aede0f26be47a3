"""Every endpoint's answer from the one corpus (no socket): consistency, the backlinks cursor,
bulk refusals, date checks and the result types."""

from __future__ import annotations

import base64
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from dfs_async.emulator import EmulatorConfig
from dfs_async.emulator.corpus import ANSWERS, Corpus
from dfs_async.emulator.tasks import ANSWERED
from dfs_async.endpoints import ENDPOINTS, UTILITIES
from dfs_async.errors import ValidationError
from dfs_async.models import (
    BacklinksResult,
    BulkBacklinksResult,
    BulkNewLostBacklinksResult,
    BulkNewLostReferringDomainsResult,
    BulkPagesSummaryResult,
    BulkRanksResult,
    BulkReferringDomainsResult,
    BulkSpamScoreResult,
    CompetitorsResult,
    DomainIntersectionResult,
    DomainPagesResult,
    DomainPagesSummaryResult,
    HistoryResult,
    Index,
    PageIntersectionResult,
    ReferringDomainsResult,
    ReferringNetworksResult,
    Summary,
    TimeseriesNewLostSummaryResult,
    TimeseriesSummaryResult,
)
from dfs_async.models.results import AnchorsResult

SMALL = EmulatorConfig(seed=3, max_pages=300, target_sizes={"bigsite.com": 40})
DOMAINS = ["alpha.com", "beta.org", "gamma.net", "delta.io", "epsilon.de", "zeta.co", "eta.com"]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(SMALL)


def today(days: int = 0) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def every(corpus: Corpus, name: str, target: str) -> list[Any]:
    items: list[Any] = []
    while True:
        result, _ = corpus.answer_task(
            name, {"target": target, "limit": 1000, "offset": len(items)}
        )
        items += result.items
        if len(items) >= result.total_count:
            return items


@pytest.mark.parametrize("target", DOMAINS)
def test_a_domains_summary_agrees_with_its_other_answers(corpus: Corpus, target: str) -> None:
    s, charged = corpus.answer_task("summary", {"target": target})
    assert charged == 1 and isinstance(s, Summary)
    b, _ = corpus.answer_task("backlinks", {"target": target})
    rd, _ = corpus.answer_task("referring_domains", {"target": target})
    one = {"targets": [target]}
    assert s.backlinks == b.total_count
    assert s.backlinks == corpus.answer_task("bulk_backlinks", one)[0].items[0].backlinks
    assert s.referring_domains == rd.total_count
    bulk_rd = corpus.answer_task("bulk_referring_domains", one)[0].items[0]
    assert s.referring_domains == bulk_rd.referring_domains
    assert s.referring_main_domains == bulk_rd.referring_main_domains
    assert s.rank == corpus.answer_task("bulk_ranks", one)[0].items[0].rank
    spam = corpus.answer_task("bulk_spam_score", one)[0].items[0].spam_score
    assert s.backlinks_spam_score == spam
    # the referring domains' backlinks add up to the backlinks; one per domain is one each
    assert sum(i.backlinks for i in every(corpus, "referring_domains", target)) == s.backlinks
    per_domain, _ = corpus.answer_task("backlinks", {"target": target, "mode": "one_per_domain"})
    assert per_domain.total_count == s.referring_domains


@pytest.mark.parametrize("status", ["live", "lost", "all"])
@pytest.mark.parametrize("subdomains", [True, False])
def test_the_counts_agree_for_every_status_and_scope(
    corpus: Corpus, status: str, subdomains: bool
) -> None:
    task = {"target": "alpha.com", "backlinks_status_type": status}
    task["include_subdomains"] = subdomains
    s, _ = corpus.answer_task("summary", task)
    page = corpus.answer_task("backlinks", {**task, "limit": 1000})[0]
    rd = corpus.answer_task("referring_domains", task)[0]
    assert s.backlinks == page.total_count
    assert s.referring_domains == rd.total_count
    assert all(it.is_lost == (status == "lost") for it in page.items if status != "all")


def test_a_page_target_has_the_backlinks_of_its_page(corpus: Corpus) -> None:
    home = corpus.profile("alpha.com").layout.url(0)
    s, _ = corpus.answer_task("summary", {"target": home})
    b, _ = corpus.answer_task("backlinks", {"target": home, "limit": 1000})
    assert s.backlinks == b.total_count > 0
    assert {it.url_to for it in b.items} == {home}
    bulk = corpus.answer_task("bulk_backlinks", {"targets": [home]})[0]
    assert bulk.items[0].backlinks == s.backlinks


def test_big_hosts_have_more_than_45000_backlinks_by_default() -> None:
    corpus = Corpus(EmulatorConfig())
    for host in ("bigsite.com", "big-news.net"):
        assert corpus.answer_task("summary", {"target": host})[0].backlinks > 45_000
    listed = Corpus(EmulatorConfig(big_hosts={"huge.org"}))
    assert listed.profile("huge.org").live > 45_000


def walk(corpus: Corpus, task: dict[str, Any]) -> list[Any]:
    items: list[Any] = []
    result, _ = corpus.answer_task("backlinks", task)
    items += result.items
    while result.search_after_token:
        result, charged = corpus.answer_task(
            "backlinks", {**task, "search_after_token": result.search_after_token}
        )
        assert charged == len(result.items) > 0
        items += result.items
    assert len(items) == result.total_count - task.get("offset", 0)
    return items


def test_the_token_walk_gives_every_backlink_once_in_order(corpus: Corpus) -> None:
    task = {"target": "bigsite.com", "limit": 1000, "offset": 0}
    items = walk(corpus, task)
    assert len(items) > 45_000
    source = corpus.source("bigsite.com")
    assert items == corpus.backlinks_of(source, "live")
    # the same walk from an offset, then tokens: the tail of the same list
    tail = walk(corpus, {**task, "offset": 20_000})
    assert tail == items[20_000:]


def test_a_token_works_across_restarts_and_refuses_changes(corpus: Corpus) -> None:
    task = {"target": "bigsite.com", "limit": 10}
    first, _ = corpus.answer_task("backlinks", task)
    token = first.search_after_token
    assert token
    again = Corpus(SMALL).answer_task("backlinks", {**task, "search_after_token": token})[0]
    assert again.items == corpus.answer_task("backlinks", {**task, "offset": 10})[0].items
    for changed in ({"limit": 11}, {"mode": "one_per_anchor"}, {"tag": "x"}, {"offset": 1}):
        with pytest.raises(ValidationError, match="search_after_token"):
            corpus.answer_task("backlinks", {**task, **changed, "search_after_token": token})
    raw = base64.urlsafe_b64decode(token + "==").decode().replace(":10:", ":99:", 1)
    forged = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    for bad in (forged, "nonsense", token[:-2]):
        with pytest.raises(ValidationError, match="search_after_token"):
            corpus.answer_task("backlinks", {**task, "search_after_token": bad})
    with pytest.raises(ValidationError):  # another seed: another key
        Corpus(EmulatorConfig(seed=4)).answer_task(
            "backlinks", {**task, "search_after_token": token}
        )


def test_modes_filters_and_order(corpus: Corpus) -> None:
    base = {"target": "alpha.com", "limit": 1000}
    anchors, _ = corpus.answer_task("anchors", {"target": "alpha.com", "limit": 1000})
    one, _ = corpus.answer_task("backlinks", {**base, "mode": "one_per_anchor"})
    assert one.total_count == anchors.total_count
    custom = {"field": "domain_from_country", "value": 3}
    capped, _ = corpus.answer_task("backlinks", {**base, "custom_mode": custom})
    assert capped.custom_mode.field == "domain_from_country"
    assert max(Counter(i.domain_from_country for i in capped.items).values()) <= 3
    dofollow, _ = corpus.answer_task(
        "backlinks",
        {**base, "filters": ["dofollow", "=", True], "order_by": ["domain_from_rank,desc"]},
    )
    ranks = [i.domain_from_rank for i in dofollow.items]
    assert all(i.dofollow for i in dofollow.items) and ranks == sorted(ranks, reverse=True)
    filtered, _ = corpus.answer_task(
        "summary", {"target": "alpha.com", "backlinks_filters": ["dofollow", "=", True]}
    )
    assert filtered.backlinks == dofollow.total_count


def test_a_bulk_task_with_a_server_invalid_target_is_refused_whole() -> None:
    corpus = Corpus(EmulatorConfig(max_pages=100, invalid_targets={"gone.com"}))
    for name in (n for n in ANSWERS if n.startswith("bulk_")):
        for bad in ("nowhere.invalid", "x.test", "gone.com"):
            with pytest.raises(ValidationError, match="targets"):
                corpus.answer_task(name, {"targets": ["a.com", bad, "b.com"]})
        result, charged = corpus.answer_task(name, {"targets": ["a.com", "b.com", "a.com"]})
        assert charged == result.items_count == 3
        assert [i.target if hasattr(i, "target") else i.url for i in result.items] == [
            "a.com",
            "b.com",
            "a.com",
        ]


def test_bulk_pages_summary_takes_at_most_100_root_domains(corpus: Corpus) -> None:
    targets = [f"https://www.site{i}.com/page" for i in range(101)]
    with pytest.raises(ValidationError, match="targets"):
        corpus.answer_task("bulk_pages_summary", {"targets": targets})
    pages = [f"https://sub{i}.site.com/" for i in range(150)]
    result, charged = corpus.answer_task("bulk_pages_summary", {"targets": pages})
    assert charged == result.total_count == 150


@pytest.mark.parametrize(
    ("name", "task", "field"),
    [
        ("history", {"date_from": "2018-12-31"}, "date_from"),
        ("history", {"date_to": today(1)}, "date_to"),
        ("history", {"date_from": "2020-02-01", "date_to": "2020-01-01"}, "date_from"),
        ("timeseries_summary", {"date_from": "2019-01-29"}, "date_from"),
        ("timeseries_summary", {"date_from": "01/02/2020"}, "date_from"),
        ("timeseries_new_lost_summary", {"date_to": today(2)}, "date_to"),
    ],
)
def test_series_dates_out_of_range_are_refused(
    corpus: Corpus, name: str, task: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        corpus.answer_task(name, {"target": "alpha.com", **task})


@pytest.mark.parametrize("name", ["bulk_new_lost_backlinks", "bulk_new_lost_referring_domains"])
def test_new_lost_dates_are_at_most_a_year_back(corpus: Corpus, name: str) -> None:
    with pytest.raises(ValidationError, match="date_from"):
        corpus.answer_task(name, {"targets": ["alpha.com"], "date_from": today(-400)})
    ok, _ = corpus.answer_task(name, {"targets": ["alpha.com"], "date_from": today(-300)})
    assert ok.items_count == 1


def test_series_cover_the_range(corpus: Corpus) -> None:
    h, charged = corpus.answer_task("history", {"target": "alpha.com", "date_from": "2024-01-01"})
    assert charged == h.items_count == len(h.items) >= 23
    week, _ = corpus.answer_task(
        "timeseries_summary",
        {"target": "alpha.com", "date_from": today(-70), "group_range": "week"},
    )
    assert week.items_count == 11 and week.group_range == "week"
    s, _ = corpus.answer_task("summary", {"target": "alpha.com"})
    assert week.items[-1].backlinks <= s.backlinks


def test_intersections(corpus: Corpus) -> None:
    targets = {"1": "alpha.com", "2": "beta.org"}
    di, _ = corpus.answer_task("domain_intersection", {"targets": targets, "limit": 1000})
    assert di.total_count > 0 and di.targets == targets
    for item in di.items:
        assert set(item.domain_intersection) == {"1", "2"}
        assert len({e.target for e in item.domain_intersection.values()}) == 1
    excluded, _ = corpus.answer_task(
        "domain_intersection", {"targets": targets, "exclude_targets": ["gamma.net"]}
    )
    assert excluded.total_count <= di.total_count
    ordered, _ = corpus.answer_task(
        "domain_intersection",
        {"targets": targets, "order_by": ["1.backlinks,desc"], "filters": ["2.backlinks", ">", 0]},
    )
    counts = [i.domain_intersection["1"].backlinks for i in ordered.items]
    assert counts == sorted(counts, reverse=True)
    pi, _ = corpus.answer_task("page_intersection", {"targets": targets})
    for item in pi.items:
        urls = {v[0].url_from for v in item.page_intersection.values()}
        assert len(urls) == 1


TASKS: dict[str, tuple[dict[str, Any], Any]] = {
    "available_filters": ({}, dict[str, dict[str, str]]),
    "index": ({}, Index),
    "domain_pages_summary": ({"target": "alpha.com"}, DomainPagesSummaryResult),
    "summary": ({"target": "alpha.com"}, Summary),
    "backlinks": ({"target": "alpha.com", "rank_scale": "one_hundred"}, BacklinksResult),
    "anchors": ({"target": "alpha.com"}, AnchorsResult),
    "domain_pages": ({"target": "alpha.com"}, DomainPagesResult),
    "referring_domains": ({"target": "alpha.com"}, ReferringDomainsResult),
    "referring_networks": (
        {"target": "alpha.com", "network_address_type": "subnet"},
        ReferringNetworksResult,
    ),
    "competitors": ({"target": "alpha.com"}, CompetitorsResult),
    "domain_intersection": (
        {"targets": {"1": "alpha.com", "2": "beta.org"}},
        DomainIntersectionResult,
    ),
    "page_intersection": ({"targets": {"1": "alpha.com", "2": "beta.org"}}, PageIntersectionResult),
    "history": ({"target": "alpha.com"}, HistoryResult),
    "timeseries_summary": ({"target": "alpha.com"}, TimeseriesSummaryResult),
    "timeseries_new_lost_summary": ({"target": "alpha.com"}, TimeseriesNewLostSummaryResult),
    "bulk_ranks": ({"targets": ["alpha.com"]}, BulkRanksResult),
    "bulk_backlinks": ({"targets": ["alpha.com"]}, BulkBacklinksResult),
    "bulk_spam_score": ({"targets": ["alpha.com"]}, BulkSpamScoreResult),
    "bulk_referring_domains": ({"targets": ["alpha.com"]}, BulkReferringDomainsResult),
    "bulk_new_lost_backlinks": ({"targets": ["alpha.com"]}, BulkNewLostBacklinksResult),
    "bulk_new_lost_referring_domains": (
        {"targets": ["alpha.com"]},
        BulkNewLostReferringDomainsResult,
    ),
    "bulk_pages_summary": ({"targets": ["alpha.com"]}, BulkPagesSummaryResult),
}


def test_every_endpoint_is_answered() -> None:
    """By the corpus, or (`errors`, `id_list`) by the account's task log (test_emulator_tasks)."""
    assert set(TASKS) == set(ANSWERS)
    assert set(ANSWERS) | ANSWERED == {e.name for e in (*ENDPOINTS, *UTILITIES)}
    assert not set(ANSWERS) & ANSWERED


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_answer_encodes_as_its_model(corpus: Corpus, name: str) -> None:
    task, model = TASKS[name]
    result, charged = corpus.answer_task(name, task)
    encoded = msgspec.json.encode(result)
    decoded = msgspec.json.decode(encoded, type=model)
    assert msgspec.json.encode(decoded) == encoded
    if isinstance(result, list) or name in ("index", "available_filters"):  # free utilities
        assert charged == 0
        return
    items = getattr(result, "items", None)
    if items is not None:
        assert charged == len(items) == result.items_count
        assert all(type(i).__name__ != "dict" for i in items)
    else:
        assert charged == 1
