"""One story per link, over a real socket: what every endpoint says about a target's links
agrees with the links themselves (the `backlinks` they come from), and a page target is the
links pointing at that page."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from dfs_async.emulator import EmulatorConfig, serving_emulator

from .helpers import Api

SIZES = {"alpha.com": 400, "beta.org": 250, "gamma.net": 120}
TARGETS = list(SIZES)
WHOLE = {"internal_list_limit": 1000}  # maps uncut
# What belongs to the page a link is on (and to its domain), not to the link.
PAGE_FIELDS = (
    "domain_from", "url_from_https", "tld_from", "page_from_rank", "domain_from_rank",
    "domain_from_platform_type", "domain_from_ip", "domain_from_country",
    "page_from_external_links", "page_from_internal_links", "page_from_size",
    "page_from_encoding", "page_from_language", "page_from_title", "page_from_status_code",
    "ranked_keywords_info",
)  # fmt: skip


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with serving_emulator(EmulatorConfig(seed=5, target_sizes=SIZES)) as emu:
        api = Api(emu)
        yield api
        api.http.close()


def one(api: Api, endpoint: str, target: str, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = api.call(endpoint, targets=[target], **fields)["items"][0]
    return item


@pytest.mark.parametrize("target", TARGETS)
def test_the_counts_agree_across_endpoints(api: Api, target: str) -> None:
    summary = api.call("summary", target=target, **WHOLE)
    links = api.every("backlinks", target=target)
    domains = api.every("referring_domains", target=target)
    anchors = api.every("anchors", target=target)
    pages = api.every("domain_pages_summary", target=target)
    bulk = one(api, "bulk_referring_domains", target)

    backlinks = summary["backlinks"]
    assert backlinks == len(links) == one(api, "bulk_backlinks", target)["backlinks"]
    assert backlinks == sum(d["backlinks"] for d in domains) == sum(a["backlinks"] for a in anchors)
    assert backlinks == sum(p["backlinks"] for p in pages)
    referring = summary["referring_domains"]
    assert (
        referring
        == len(domains)
        == bulk["referring_domains"]
        == len({b["domain_from"] for b in links})
    )
    nofollow = summary["referring_domains_nofollow"]
    assert nofollow == bulk["referring_domains_nofollow"]
    assert nofollow == sum(d["referring_domains_nofollow"] for d in domains)
    assert nofollow == len({b["domain_from"] for b in links if not b["dofollow"]}) > 0
    assert summary["referring_pages"] == sum(d["referring_pages"] for d in domains)
    assert summary["referring_pages"] == len({b["url_from"] for b in links})
    ips = api.call("referring_networks", target=target, network_address_type="ip")
    subnets = api.call("referring_networks", target=target, network_address_type="subnet")
    assert summary["referring_ips"] == ips["total_count"]
    assert summary["referring_subnets"] == subnets["total_count"]
    assert summary["referring_links_types"] == dict(Counter(b["item_type"] for b in links))
    assert summary["referring_links_tld"] == dict(Counter(b["tld_from"] for b in links))
    assert summary["rank"] == one(api, "bulk_ranks", target)["rank"]


@pytest.mark.parametrize("target", TARGETS)
def test_each_grouping_is_its_backlinks_grouped(api: Api, target: str) -> None:
    links = api.every("backlinks", target=target, backlinks_status_type="all")
    task = {"target": target, "backlinks_status_type": "all", **WHOLE}

    by_domain = defaultdict(list)
    for b in links:
        by_domain[b["domain_from"]].append(b)
    domains = api.every("referring_domains", **task)
    assert [d["domain"] for d in domains] == list(by_domain)  # in order of first appearance
    for d in domains:
        own = by_domain[d["domain"]]
        assert d["backlinks"] == len(own)
        assert d["referring_pages"] == len({b["url_from"] for b in own})
        assert d["first_seen"] == min(b["first_seen"] for b in own)
        lost = all(b["is_lost"] for b in own)
        assert (d["lost_date"] is not None) == lost
        if lost:
            assert d["lost_date"] == max(b["last_seen"] for b in own)
        assert d["rank"] == own[0]["domain_from_rank"]
        assert d["referring_links_types"] == dict(Counter(b["item_type"] for b in own))
        locations = Counter(b["semantic_location"] for b in own)
        assert d["referring_links_semantic_locations"] == dict(locations)
        assert d["referring_links_tld"] == {own[0]["tld_from"]: len(own)}
        assert d["referring_domains_nofollow"] == int(not own[0]["dofollow"])

    by_anchor = defaultdict(list)
    for b in links:
        by_anchor[b["anchor"]].append(b)
    anchors = api.every("anchors", **task)
    assert {a["anchor"]: a["backlinks"] for a in anchors} == {
        k: len(v) for k, v in by_anchor.items()
    }
    for a in anchors:
        own = by_anchor[a["anchor"]]
        assert a["referring_domains"] == len({b["domain_from"] for b in own})
        assert a["referring_pages"] == len({b["url_from"] for b in own})
        assert a["first_seen"] == min(b["first_seen"] for b in own)

    by_page = defaultdict(list)
    for b in links:
        by_page[b["url_to"]].append(b)
    pages = api.every("domain_pages_summary", **task)
    assert {p["url"]: p["backlinks"] for p in pages} == {k: len(v) for k, v in by_page.items()}
    for p in pages:
        own = by_page[p["url"]]
        assert p["referring_domains"] == len({b["domain_from"] for b in own})
        assert p["referring_pages"] == len({b["url_from"] for b in own})
        assert p["referring_links_types"] == dict(Counter(b["item_type"] for b in own))
        assert (p["lost_date"] is not None) == all(b["is_lost"] for b in own)

    networks = api.every("referring_networks", **task, network_address_type="ip")
    per_ip = Counter(b["domain_from_ip"] for b in links)
    assert {n["network_address"]: n["backlinks"] for n in networks} == dict(per_ip)


def test_a_source_page_is_the_same_wherever_it_appears(api: Api) -> None:
    seen: dict[str, set[str]] = defaultdict(set)  # url_from -> its page fields as served
    targets: dict[str, set[str]] = defaultdict(set)
    for target in TARGETS:
        for b in api.every("backlinks", target=target, backlinks_status_type="all"):
            seen[b["url_from"]].add(repr([b[name] for name in PAGE_FIELDS]))
            targets[b["url_from"]].add(target)
    assert len(seen) > 1000
    assert all(len(fields) == 1 for fields in seen.values())
    assert sum(len(t) > 1 for t in targets.values()) > 10  # pages linking to several targets


def test_a_domain_intersection_shows_each_targets_referring_domain(api: Api) -> None:
    result = api.call("domain_intersection", targets={"1": "alpha.com", "2": "beta.org"},
                      limit=1000, **WHOLE)  # fmt: skip
    assert result["total_count"] > 0
    for n, target in (("1", "alpha.com"), ("2", "beta.org")):
        domains = {d["domain"]: d for d in api.every("referring_domains", target=target, **WHOLE)}
        for item in result["items"]:
            part = item["domain_intersection"][n]
            shown = {k: v for k, v in domains[part["target"]].items() if k in part and k != "type"}
            assert {k: v for k, v in part.items() if k in shown} == shown


# -- page targets ----------------------------------------------------------------------------


def test_a_page_target_is_the_links_pointing_at_that_page(api: Api) -> None:
    task = {"target": "alpha.com", "backlinks_status_type": "all"}
    pages = api.every("domain_pages_summary", **task)
    links = api.every("backlinks", **task)
    domain_summary = api.call("summary", **task)
    most = max(pages[1:], key=lambda p: p["backlinks"])  # the home page: see below
    on_subdomain = next(p for p in pages if "://www.alpha.com/" not in p["url"]
                        and "://alpha.com/" not in p["url"])  # fmt: skip
    lost = next(p for p in pages if p["lost_date"] is not None)
    for page in (most, on_subdomain, lost):
        url = page["url"]
        own = {**task, "target": url}
        pointing = [b for b in links if b["url_to"] == url]
        assert api.every("backlinks", **own) == pointing
        summary = api.call("summary", **own)
        assert summary["backlinks"] == page["backlinks"] == len(pointing)
        assert summary["backlinks"] <= domain_summary["backlinks"]
        assert summary["referring_domains"] == page["referring_domains"]
        domains = api.every("referring_domains", **own)
        assert {d["domain"]: d["backlinks"] for d in domains} == dict(
            Counter(b["domain_from"] for b in pointing)
        )
        assert sum(a["backlinks"] for a in api.every("anchors", **own)) == len(pointing)
        assert api.every("domain_pages_summary", **own) == [page]
        live = 0 if page["lost_date"] else page["backlinks"]
        assert one(api, "bulk_backlinks", url)["backlinks"] == live
        live_domains = api.call("referring_domains", target=url)["total_count"]
        assert one(api, "bulk_referring_domains", url)["referring_domains"] == live_domains


def test_a_page_the_corpus_does_not_hold_has_no_links(api: Api) -> None:
    url = "https://alpha.com/sites/a"
    assert api.call("summary", target=url)["backlinks"] == 0
    for endpoint in ("backlinks", "referring_domains", "anchors", "domain_pages_summary"):
        assert api.call(endpoint, target=url)["total_count"] == 0
    assert one(api, "bulk_backlinks", url)["backlinks"] == 0


def test_a_home_page_url_is_the_home_page_however_written(api: Api) -> None:
    corpus = api.app.corpus
    home = api.every("domain_pages_summary", target="alpha.com")[0]
    count = corpus.answer_task("backlinks", {"target": home["url"], "limit": 1})[0].total_count
    assert count == home["backlinks"] > 0
    for url in ("https://alpha.com/", "http://www.alpha.com/", "https://ALPHA.com"):
        result, _ = corpus.answer_task("backlinks", {"target": url, "limit": 1})
        assert result.total_count == count
        assert result.items[0].url_to == home["url"]
