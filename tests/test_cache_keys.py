"""Cache keys (the same task, the same key; any other task, another) and durations."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dfs_async.cache import keys
from dfs_async.cache.keys import bulk_log, cache_key
from dfs_async.duration import parse_duration

API = "https://api.dataforseo.com"
PATH = "/v3/backlinks/bulk_ranks/live"

values = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
fields = st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda k: k != "tag"),
    values | st.lists(values, max_size=3),
    max_size=6,
)


@given(fields, st.randoms())
def test_the_order_of_fields_does_not_matter(task: dict[str, object], rnd: random.Random) -> None:
    items = list(task.items())
    rnd.shuffle(items)
    assert cache_key(API, PATH, dict(items)) == cache_key(API, PATH, task)


@given(fields, st.text(max_size=10))
def test_the_tag_and_nulls_are_left_out(task: dict[str, object], tag: str) -> None:
    without_nulls = {k: v for k, v in task.items() if v is not None}
    assert cache_key(API, PATH, {**task, "tag": tag}) == cache_key(API, PATH, without_nulls)


@given(fields, st.text(min_size=1, max_size=8).filter(lambda k: k != "tag"), values)
def test_another_value_is_another_key(task: dict[str, object], name: str, value: object) -> None:
    other = {**task, name: {"x": value}}  # `fields` never holds a mapping
    assert cache_key(API, PATH, other) != cache_key(API, PATH, task)


def test_the_server_path_and_layout_are_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    task = {"targets": ["forbes.com"], "rank_scale": "one_hundred"}
    key = cache_key(API, PATH, task)
    assert len(key) == 40 and int(key, 16) >= 0
    assert cache_key(API + "/", "v3/backlinks/bulk_ranks/live/", task) == key
    assert cache_key("https://sandbox.dataforseo.com", PATH, task) != key
    assert cache_key(API, "/v3/backlinks/bulk_spam_score/live", task) != key
    monkeypatch.setattr(keys, "layout", lambda: "1/another-version")
    assert cache_key(API, PATH, task) != key


def test_a_bulk_log_is_named_by_the_task_s_other_fields() -> None:
    fields = {"rank_scale": "one_hundred", "tag": "run 1"}
    first = bulk_log(API, PATH, {**fields, "targets": ["a.com", "b.com", "c.com"]})
    assert len(first) == 40
    # every list of targets with these fields shares it, with or without the list, any tag
    assert bulk_log(API, PATH, fields) == first
    assert bulk_log(API, PATH, {"rank_scale": "one_hundred", "targets": ["d.com"]}) == first
    # never an answer's key: an awaited call reads no log as an answer
    assert first != cache_key(API, PATH, fields)
    # the request's other fields, the server and the endpoint are part of it
    assert bulk_log(API, PATH, {"rank_scale": "one_thousand"}) != first
    assert bulk_log("https://sandbox.dataforseo.com", PATH, fields) != first
    assert bulk_log(API, "/v3/backlinks/bulk_spam_score/live", fields) != first
    # and the field that lists the targets
    assert bulk_log(API, PATH, fields, field="urls") != first


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800),
     (" 1.5h ", 5400), ("0.5", 0.5), ("2D", 172800), (".5m", 30)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "not a duration: ''"), ("7w", "not a duration: '7w'"), ("-5m", "not a duration"),
     ("1h30m", "not a duration"), ("inf", "not a duration"), ("nan", "not a duration"),
     ("1e3", "not a duration"), ("0", "more than 0"), ("0.0h", "more than 0")],
)  # fmt: skip
def test_a_bad_duration_is_one_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as caught:
        parse_duration(text)
    assert message in str(caught.value)
    assert "90, 90s, 30m, 12h, 7d" in str(caught.value) or "more than 0" in str(caught.value)


@given(st.integers(1, 10**6), st.sampled_from(["", "s", "m", "h", "d"]))
def test_every_unit_multiplies(n: int, unit: str) -> None:
    assert parse_duration(f"{n}{unit}") == n * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
