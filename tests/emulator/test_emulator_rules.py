"""Every request rule of domain_pages_summary, over a real socket."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest

from dfs_async.emulator.corpus import MAP_VOCABULARY
from dfs_async.models import parse_api_datetime

from .helpers import Api, as_dicts

SEED = {"target": "forbes.com", "limit": 4, "order_by": ["backlinks,desc"]}
MAPS = list(MAP_VOCABULARY)


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def test_seed_request_gets_the_official_shape(api: Api) -> None:
    answer = api.answer(SEED)
    assert answer["status_code"] == 20000
    assert answer["tasks_count"] == 1 and answer["tasks_error"] == 0
    assert re.fullmatch(r"\d+\.\d{4} sec\.", answer["time"])
    task = answer["tasks"][0]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", task["id"])
    assert task["path"] == ["v3", "backlinks", "domain_pages_summary", "live"]
    assert task["data"] == {"api": "backlinks", "function": "domain_pages_summary", **SEED}
    result = task["result"][0]
    assert result["target"] == "forbes.com" and result["items_count"] == 4
    backlinks = [item["backlinks"] for item in result["items"]]
    assert backlinks == sorted(backlinks, reverse=True)
    assert task["cost"] == answer["cost"] == pytest.approx(0.02 + 0.00003 * 4)


def test_every_item_field_is_filled(api: Api) -> None:
    every = {"backlinks_status_type": "all", "internal_list_limit": 1000}  # maps whole
    for item in api.items(target="site.com", limit=200, **every):
        assert item["type"] == "backlinks_page_summary"
        assert str(urlsplit(item["url"]).hostname).endswith("site.com")
        assert 0 <= item["rank"] <= 1000
        assert item["referring_main_domains"] <= item["referring_domains"]
        assert item["referring_domains"] <= item["referring_pages"] <= item["backlinks"]
        first_seen = parse_api_datetime(item["first_seen"])
        if item["lost_date"] is not None:
            assert parse_api_datetime(item["lost_date"]) > first_seen  # type: ignore[operator]
        for name in MAPS:
            assert item[name] or name == "referring_links_attributes", name
            assert set(item[name]) <= set(MAP_VOCABULARY[name])
            counts = list(item[name].values())
            assert counts == sorted(counts, reverse=True)
        assert sum(item["referring_links_types"].values()) == item["backlinks"]
        assert sum(item["referring_links_semantic_locations"].values()) == item["backlinks"]
        assert sum(item["referring_links_tld"].values()) == item["backlinks"]
        assert sum(item["referring_links_countries"].values()) == item["referring_domains"]
        nofollow = item["referring_links_attributes"].get("nofollow", 0)
        assert (nofollow > 0) == (item["referring_domains_nofollow"] > 0)
        assert item["referring_links_types"].keys() <= {
            "anchor",
            "image",
            "link",
            "meta",
            "canonical",
            "alternate",
            "redirect",
        }


def test_paging_by_offset_delivers_every_item_exactly_once(api: Api) -> None:
    task = {"target": "site.com", "order_by": ["rank,desc"]}
    total, expected = api.app.corpus.query(task)
    got: list[dict[str, Any]] = []
    offset = 0
    while offset < total:
        result = api.result(**task, limit=1000, offset=offset)
        assert result["total_count"] == total
        assert result["items_count"] == len(result["items"])
        got += result["items"]
        offset += 1000
    assert got == as_dicts(expected)
    assert len({item["url"] for item in got}) == total > 1000


def test_limit_defaults_to_100_and_offset_past_the_end_is_empty(api: Api) -> None:
    assert len(api.items(target="site.com")) == 100
    result = api.result(target="site.com", offset=10**6)
    assert result["items"] == [] and result["items_count"] == 0 and result["total_count"] > 0
    assert api.task(target="site.com", offset=10**6)["cost"] == 0.02


def test_cost_is_per_task_plus_per_item(api: Api) -> None:
    for limit in (1, 7, 1000):
        answer = api.answer({"target": "site.com", "limit": limit})
        assert answer["cost"] == round(0.02 + 0.00003 * limit, 5)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("limit", 0),
        ("limit", 1001),
        ("limit", "10"),
        ("offset", -1),
        ("internal_list_limit", 0),
        ("internal_list_limit", 1001),
        ("backlinks_status_type", "dead"),
        ("rank_scale", "one_ten"),
        ("include_subdomains", "yes"),
        ("include_indirect_links", 1),
        ("exclude_internal_backlinks", "no"),
        ("tag", "x" * 256),
        ("target", "https://www.Forbes.com/"),
        ("target", "forbes.com/blog"),
        ("order_by", ["rank,up"]),
        ("order_by", ["nope,asc"]),
        ("order_by", ["rank,asc", "url,asc", "backlinks,desc", "first_seen,asc"]),
        ("filters", ["rank", "~", 1]),
        ("filters", ["nope", "=", 1]),
        ("filters", [["rank", ">", 1], "xor", ["rank", "<", 9]]),
        ("filters", [x for i in range(9) for x in (["rank", ">", i], "and")][:-1]),
        ("filters", ["url", "regex", "("]),
        ("backlinks_filters", ["nope", "=", 1]),
    ],
)
def test_an_invalid_field_is_40501_naming_it(api: Api, field: str, value: Any) -> None:
    task = api.task(**{"target": "site.com", field: value})
    assert task["status_code"] == 40501
    assert task["status_message"] == f"Invalid Field: '{field}'."
    assert task["cost"] == 0 and task["result"] is None
    assert api.app.counters.by_status[40501] == 1


def test_a_missing_target_is_40501(api: Api) -> None:
    task = api.task(limit=5)
    assert (task["status_code"], task["status_message"]) == (40501, "Invalid Field: 'target'.")


def test_an_unknown_field_is_40506(api: Api) -> None:
    task = api.task(target="site.com", limits=5)
    assert (task["status_code"], task["status_message"]) == (40506, "Unknown Field: 'limits'.")


@pytest.mark.parametrize("body", [b"[{", b"", b"\xff\xfe", b'{"target": "site.com"}', b"42"])
def test_an_unparsable_body_is_40503(api: Api, body: bytes) -> None:
    answer = api.post(body).json()
    assert answer["status_code"] == 40503 and answer["cost"] == 0


def test_an_empty_array_is_40502(api: Api) -> None:
    assert api.post([]).json()["status_code"] == 40502


def test_one_task_per_post_extra_tasks_fail_with_40000_at_no_cost(api: Api) -> None:
    answer = api.answer({"target": "site.com", "limit": 3}, {"target": "tiny.com"}, {"x": 1})
    assert [t["status_code"] for t in answer["tasks"]] == [20000, 40000, 40000]
    assert answer["tasks_count"] == 3 and answer["tasks_error"] == 2
    assert [t["cost"] for t in answer["tasks"][1:]] == [0, 0]
    assert answer["cost"] == answer["tasks"][0]["cost"] == round(0.02 + 3 * 0.00003, 5)
    assert answer["tasks"][1]["data"]["target"] == "tiny.com"


def test_null_means_the_default(api: Api) -> None:
    nulls = dict.fromkeys(
        [
            *("limit", "offset", "internal_list_limit", "backlinks_status_type", "filters"),
            *("order_by", "backlinks_filters", "include_subdomains", "include_indirect_links"),
            *("exclude_internal_backlinks", "rank_scale", "tag"),
        ]
    )
    with_nulls = api.task(target="site.com", **nulls)
    plain = api.task(target="site.com")
    assert with_nulls["status_code"] == 20000
    assert with_nulls["result"] == plain["result"]
    assert with_nulls["data"] == {"api": "backlinks", "function": "domain_pages_summary",
                                  "target": "site.com", **nulls}  # fmt: skip


def test_tag_is_echoed_in_data(api: Api) -> None:
    assert api.task(target="tiny.com", tag="batch-7 ü")["data"]["tag"] == "batch-7 ü"


def test_order_by_up_to_three_rules_and_map_keys(api: Api) -> None:
    rules = ["referring_links_types.anchor,desc", "rank,asc", "url,asc"]
    items = api.items(target="site.com", limit=1000, order_by=rules)

    def key(item: dict[str, Any]) -> tuple[int, int, str]:
        return (-item["referring_links_types"].get("anchor", 0), item["rank"], item["url"])

    assert [key(i) for i in items] == sorted(key(i) for i in items)
    first = api.items(target="site.com", limit=1000)
    assert items != first  # the rules changed the order


def test_order_without_order_by_is_stable_across_pages(api: Api) -> None:
    whole = api.items(target="site.com", limit=300)
    parts = [api.items(target="site.com", limit=100, offset=o) for o in (0, 100, 200)]
    assert whole == parts[0] + parts[1] + parts[2]


def test_filters_nest_and_or_with_every_condition_applied(api: Api) -> None:
    filters = [
        ["backlinks", ">", 5],
        "and",
        [["url", "like", "%/blog/%"], "or", ["referring_links_tld.com", ">=", 3]],
    ]
    result = api.result(target="site.com", limit=1000, filters=filters)
    assert 0 < result["total_count"] < api.result(target="site.com")["total_count"]
    for item in result["items"]:
        assert item["backlinks"] > 5
        assert "/blog/" in item["url"] or item["referring_links_tld"].get("com", 0) >= 3
    total, expected = api.app.corpus.query({"target": "site.com", "filters": filters})
    assert result["total_count"] == total and result["items"] == as_dicts(expected[:1000])


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        (["rank", "=", 300], lambda i: i["rank"] == 300),
        (["rank", "<>", 300], lambda i: i["rank"] != 300),
        (["rank", "<", 300], lambda i: i["rank"] < 300),
        (["rank", "<=", "300"], lambda i: i["rank"] <= 300),
        (["rank", ">", 300], lambda i: i["rank"] > 300),
        (["rank", ">=", 300], lambda i: i["rank"] >= 300),
        (["backlinks_spam_score", "in", [0, 1, 2]], lambda i: i["backlinks_spam_score"] < 3),
        (["backlinks_spam_score", "not_in", [0, 1]], lambda i: i["backlinks_spam_score"] > 1),
        (["url", "like", "%/news/%"], lambda i: "/news/" in i["url"]),
        (["url", "not_like", "%/news/%"], lambda i: "/news/" not in i["url"]),
        (["url", "ilike", "%/NEWS/%"], lambda i: "/news/" in i["url"]),
        (["url", "not_ilike", "%/NEWS/%"], lambda i: "/news/" not in i["url"]),
        (["url", "regex", r"-(1|2)[0-9a-f]/$"], lambda i: re.search(r"-(1|2)[0-9a-f]/$", i["url"])),
        (["url", "not_regex", "blog"], lambda i: "blog" not in i["url"]),
        (["url", "match", "Guide Mid"], lambda i: {"guide", "mid"} <= words(i["url"])),
        (["url", "not_match", "best"], lambda i: "best" not in words(i["url"])),
        (["first_seen", ">", "2020-01-01"], lambda i: i["first_seen"] > "2020-01-01"),
        (["lost_date", "=", None], lambda i: i["lost_date"] is None),
        (["referring_links_countries.US", ">", 0],
         lambda i: "US" in i["referring_links_countries"]),
    ],
)  # fmt: skip
def test_each_filter_operator(api: Api, condition: list[Any], holds: Any) -> None:
    task = {"target": "mid.com", "limit": 1000, "backlinks_status_type": "all"}
    task["internal_list_limit"] = 1000  # a map key is filtered on the whole map
    every = api.items(**task)
    kept = api.items(**task, filters=condition)
    assert kept == [item for item in every if holds(item)]
    assert 0 < len(kept) < len(every)


def test_internal_list_limit_truncates_the_maps_to_their_largest_keys(api: Api) -> None:
    full = api.items(target="site.com", limit=300, internal_list_limit=1000)
    default = api.items(target="site.com", limit=300)
    two = api.items(target="site.com", limit=300, internal_list_limit=2)
    assert any(len(item[name]) > 10 for item in full for name in MAPS)
    for f, d, t in zip(full, default, two, strict=True):
        for name in MAPS:
            assert d[name] == dict(list(f[name].items())[:10])
            assert t[name] == dict(list(f[name].items())[:2])


def test_include_subdomains(api: Api) -> None:
    task = {"target": "site.com", "limit": 1000, "backlinks_status_type": "all"}
    with_subs = api.result(**task)
    without = api.result(**task, include_subdomains=False)
    hosts = {urlsplit(i["url"]).hostname for i in with_subs["items"]}
    main_hosts = {urlsplit(i["url"]).hostname for i in without["items"]}
    assert len(main_hosts) == 1 and main_hosts <= {"site.com", "www.site.com"}
    assert hosts - main_hosts  # subdomains exist
    assert all(str(h).endswith(".site.com") for h in hosts - main_hosts)
    assert without["total_count"] < with_subs["total_count"]


def test_backlinks_status_type(api: Api) -> None:
    live = api.result(target="site.com", limit=1000)
    lost = api.result(target="site.com", limit=1000, backlinks_status_type="lost")
    every = api.result(target="site.com", backlinks_status_type="all")
    assert all(i["lost_date"] is None for i in live["items"])
    assert lost["items"] and all(i["lost_date"] is not None for i in lost["items"])
    assert live["total_count"] + lost["total_count"] == every["total_count"]


def test_rank_scale(api: Api) -> None:
    thousand = api.items(target="site.com", limit=500)
    hundred = api.items(target="site.com", limit=500, rank_scale="one_hundred")
    assert [i["url"] for i in hundred] == [i["url"] for i in thousand]
    assert [i["rank"] for i in hundred] == [round(i["rank"] / 10) for i in thousand]
    assert max(i["rank"] for i in thousand) > 100


def test_rank_filters_apply_on_the_requested_scale(api: Api) -> None:
    items = api.items(target="site.com", rank_scale="one_hundred", filters=["rank", ">", 50])
    assert items and all(50 < i["rank"] <= 100 for i in items)


def test_a_page_target_returns_that_page_only(api: Api) -> None:
    page = api.items(target="site.com", limit=5)[3]
    result = api.result(target=page["url"])
    assert result["items"] == [page] and result["total_count"] == 1
    other = api.result(target="https://elsewhere.org/some/page?id=4")
    assert other["total_count"] in (0, 1)
    assert all(i["url"] == "https://elsewhere.org/some/page?id=4" for i in other["items"])


def test_backlinks_filters_count_the_backlinks_they_keep(api: Api) -> None:
    bf = [["dofollow", "=", True], "and", ["item_type", "=", "anchor"]]
    task = {"target": "mid.com", "limit": 1000, "backlinks_filters": bf}
    once, again = api.result(**task), api.result(**task)
    assert once == again
    plain = {i["url"]: i for i in api.items(target="mid.com", limit=1000)}
    assert 0 < once["total_count"] < len(plain)
    kept, _ = api.app.corpus.answer_task(
        "backlinks", {"target": "mid.com", "limit": 10**6, "filters": bf}
    )
    per_page = Counter(b.url_to for b in kept.items)
    assert {i["url"]: i["backlinks"] for i in once["items"]} == dict(per_page)
    for item in once["items"]:
        assert 0 < item["backlinks"] <= plain[item["url"]]["backlinks"]
    other = api.result(**{**task, "backlinks_filters": ["dofollow", "=", False]})
    assert other["items"] != once["items"]


def test_seed_changes_the_corpus_and_is_reproducible(api_factory: Any) -> None:
    a, b, c = (api_factory(seed=s) for s in (1, 1, 2))
    task = {"target": "example.org", "limit": 50, "backlinks_status_type": "all"}
    assert a.result(**task) == b.result(**task)
    assert a.result(**task) != c.result(**task)


def test_an_empty_target_has_no_items(api: Api) -> None:
    result = api.result(target="empty.com")
    assert (result["total_count"], result["items_count"], result["items"]) == (0, 0, [])


def test_unknown_paths_are_404_40400(api: Api) -> None:
    for method, path in [("GET", "/v3/nope"), ("POST", "/v3/backlinks/nope/live"),
                         ("GET", "/v3/backlinks/domain_pages_summary/live")]:  # fmt: skip
        response = api.http.request(method, path)
        assert response.status_code == 404 and response.json()["status_code"] == 40400


@pytest.mark.parametrize("auth", [None, ("emulator", "wrong"), ("nobody", "emulator")])
def test_bad_credentials_are_401_40100(api: Api, auth: Any) -> None:
    response = api.post([SEED], auth=auth) if auth else api.http.post(
        "/v3/backlinks/domain_pages_summary/live", json=[SEED], auth=None,
        headers={"authorization": ""},
    )  # fmt: skip
    assert response.status_code == 401 and response.json()["status_code"] == 40100
    assert api.app.counters.by_status == {401: 1, 40100: 1}


def test_accounts_are_configurable(api_factory: Any) -> None:
    api = api_factory(accounts={"alice": "s3cret", "bob": "hunter2"})
    assert api.handle.login == "alice"
    assert api.post([SEED], auth=("bob", "hunter2")).json()["status_code"] == 20000
    assert api.post([SEED], auth=("emulator", "emulator")).status_code == 401


def test_available_filters_lists_fields_and_map_keys(api: Api) -> None:
    answer = api.http.get("/v3/backlinks/available_filters").json()
    fields = answer["tasks"][0]["result"][0]["domain_pages_summary"]
    assert fields["url"] == "str" and fields["rank"] == "num" and fields["first_seen"] == "time"
    assert fields["referring_links_types.anchor"] == "num"
    assert "referring_links_types" not in fields
    backlinks = answer["tasks"][0]["result"][0]["backlinks"]
    assert backlinks["dofollow"] == "bool" and backlinks["anchor"] == "str"


def test_user_data_reports_login_rates_and_money(api_factory: Any) -> None:
    api = api_factory(rate_limit=100, window_seconds=30, balance=1.0, daily_cost_cap=0.5)
    api.answer({"target": "forbes.com", "limit": 10})
    result = api.http.get("/v3/appendix/user_data").json()["tasks"][0]["result"][0]
    assert result["login"] == "emulator"
    assert result["rates"]["limits"]["minute"]["total"] == 200
    assert result["money"]["balance"] == pytest.approx(1.0 - 0.0203)
    assert result["money"]["limits"]["day"]["total"] == 0.5
