"""The endpoint spec: the one rulebook the client and the emulator share."""

from __future__ import annotations

from typing import Any

import pytest

from dfs_async import UnknownField, ValidationError
from dfs_async.codes import Action, classify, classify_http
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY as SPEC

SEED = {"target": "forbes.com", "limit": 4, "order_by": ["backlinks,desc"]}


def test_seed_request_is_valid_and_nulls_mean_default() -> None:
    assert SPEC.check_task(SEED) == SEED
    assert SPEC.check_task({**SEED, "offset": None, "tag": None}) == SEED


def test_every_documented_field_is_accepted() -> None:
    task = {
        "target": "https://www.forbes.com/sites/",
        "limit": 1000,
        "offset": 20000,
        "internal_list_limit": 1,
        "backlinks_status_type": "all",
        "filters": ["backlinks", ">", 1],
        "order_by": ["rank,asc", "referring_links_tld.com,desc", "url,asc"],
        "backlinks_filters": [["dofollow", "=", True]],
        "include_subdomains": False,
        "include_indirect_links": False,
        "exclude_internal_backlinks": False,
        "rank_scale": "one_hundred",
        "tag": "t" * 255,
    }
    assert SPEC.check_task(task) == task


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"limit": 0}, "limit", "from 1 to 1000"),
        ({"limit": 1001}, "limit", "from 1 to 1000"),
        ({"limit": True}, "limit", "integer"),
        ({"limit": "10"}, "limit", "integer"),
        ({"offset": -1}, "offset", "at least 0"),
        ({"internal_list_limit": 0}, "internal_list_limit", "from 1 to 1000"),
        ({"backlinks_status_type": "dead"}, "backlinks_status_type", "all, live, lost"),
        ({"rank_scale": "ten"}, "rank_scale", "one_hundred, one_thousand"),
        ({"include_subdomains": "yes"}, "include_subdomains", "true or false"),
        ({"tag": "t" * 256}, "tag", "at most 255"),
        ({"order_by": ["a,asc", "b,asc", "c,asc", "d,asc"]}, "order_by", "at most 3"),
        ({"order_by": ["rank,up"]}, "order_by", "asc"),
        ({"order_by": "rank,asc"}, "order_by", "list"),
        ({"target": "Forbes.com"}, "target", "without scheme"),
        ({"target": "https://forbes.com"}, "target", "without scheme"),
        ({"target": ""}, "target", "without scheme"),
        ({"backlinks_filters": [["rank", "??", 1]]}, "backlinks_filters", "unknown operator"),
    ],
)
def test_each_rule_names_its_field(change: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        SPEC.check_task({**SEED, **change})
    assert info.value.field == field
    assert words in info.value.rule


def test_target_is_required_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="target: required"):
        SPEC.check_task({"limit": 3})
    with pytest.raises(UnknownField) as info:
        SPEC.check_task({**SEED, "limt": 3})
    assert info.value.field == "limt"


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (20000, Action.DELIVER),
        (40202, Action.SLOW_DOWN),
        (40209, Action.FEWER_AT_ONCE),
        (40103, Action.RETRY),
        (50303, Action.RETRY),
        (None, Action.RETRY),
        (40501, Action.FAIL),
        (40000, Action.FAIL),
        (40210, Action.STOP),
        (40100, Action.STOP),
        (40999, Action.FAIL),
        (59999, Action.RETRY),
    ],
)
def test_status_code_table(code: int | None, action: Action) -> None:
    assert classify(code) is action


def test_http_status_without_envelope() -> None:
    assert classify_http(401) is Action.STOP
    assert classify_http(402) is Action.STOP
    assert classify_http(503) is Action.RETRY
    assert classify_http(404) is Action.FAIL
