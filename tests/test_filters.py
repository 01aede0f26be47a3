"""Filters: the builder writes what the API takes; the checks refuse what it would refuse."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dfs_async import Field, ValidationError
from dfs_async.endpoints import BACKLINK_FILTER_FIELDS, DOMAIN_PAGES_SUMMARY
from dfs_async.filters import MAX_CONDITIONS, OPERATORS, check_filters, conditions

FIELDS = DOMAIN_PAGES_SUMMARY.filter_fields


def test_builder_writes_the_documented_shape() -> None:
    expr = (Field("backlinks") > 10) & (Field("url").like("%blog%") | (Field("rank") >= 100))
    assert expr.to_list() == [
        ["backlinks", ">", 10],
        "and",
        [["url", "like", "%blog%"], "or", ["rank", ">=", 100]],
    ]
    check_filters(expr.to_list(), FIELDS)


def test_builder_covers_every_operator() -> None:
    f = Field("url")
    built = [
        f == "x", f != "x", Field("rank") < 1, Field("rank") <= 1, Field("rank") > 1,
        Field("rank") >= 1, f.is_in(["a"]), f.not_in(["a"]), f.like("%a"), f.not_like("%a"),
        f.ilike("%a"), f.not_ilike("%a"), f.regex("a+"), f.not_regex("a+"), f.match("a"),
        f.not_match("a"),
    ]  # fmt: skip
    assert {e.to_list()[1] for e in built} == OPERATORS
    for e in built:
        check_filters(e.to_list(), FIELDS)


@pytest.mark.parametrize(
    "expr",
    [
        ["referring_links_types.anchor", ">", "1"],
        [["broken_pages", ">", 2], "and", ["backlinks", ">", 10]],
        [["first_seen", ">", "2017-10-23 11:31:45 +00:00"], "and", ["lost_date", "=", None]],
        [["first_seen", ">=", "2020-01-01"], "or", ["url", "not_ilike", "%AMP%"]],
        [["rank", "in", [1, 2, 3]], "and", ["url", "regex", "^https://"], "and", ["rank", "<", 9]],
    ],
)
def test_accepts_documented_forms(expr: Any) -> None:
    check_filters(expr, FIELDS)


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        (["rank", "between", 1], "unknown operator"),
        (["nope", "=", 1], "unknown field"),
        (["referring_links_nope.x", "=", 1], "unknown field"),
        (["rank", ">", "high"], "does not fit"),
        (["url", ">", "a"], "compares numbers or dates"),
        (["first_seen", ">", "yesterday"], "does not fit"),
        (["rank", "in", []], "non-empty list"),
        (["url", "like", 5], "takes a string"),
        ([["rank", ">", 1], "xor", ["rank", "<", 5]], "'and' or 'or'"),
        ([["rank", ">", 1], "and"], "expected a condition"),
        ("rank > 1", "expected a condition"),
    ],
)
def test_refuses_with_a_reason(expr: Any, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_filters(expr, FIELDS)
    assert words in info.value.rule
    assert info.value.field == "filters"


def test_at_most_eight_conditions() -> None:
    def chain(n: int) -> list[Any]:
        expr: list[Any] = [["rank", ">", 0]]
        for i in range(1, n):
            expr += ["and", ["rank", ">", i]]
        return expr

    check_filters(chain(MAX_CONDITIONS), FIELDS)
    with pytest.raises(ValidationError, match="at most 8 conditions, got 9"):
        check_filters(chain(MAX_CONDITIONS + 1), FIELDS)


def test_backlinks_filters_know_backlink_fields() -> None:
    check_filters(
        [["dofollow", "=", True], "and", ["anchor", "like", "%seo%"]], BACKLINK_FILTER_FIELDS
    )
    with pytest.raises(ValidationError, match="unknown field 'url'"):
        check_filters(["url", "=", "x"], BACKLINK_FILTER_FIELDS, name="backlinks_filters")


conds = st.sampled_from(
    [Field("rank") > 1, Field("url").like("%a%"), Field("backlinks").is_in([1, 2])]
)


@given(st.recursive(conds, lambda inner: st.tuples(inner, inner, st.booleans()).map(
    lambda t: t[0] & t[1] if t[2] else t[0] | t[1]), max_leaves=12))  # fmt: skip
def test_any_built_expression_is_checked_by_its_size(expr: Any) -> None:
    node = expr.to_list()
    if len(conditions(node)) <= MAX_CONDITIONS:
        check_filters(node, FIELDS)
    else:
        with pytest.raises(ValidationError, match="at most 8"):
            check_filters(node, FIELDS)
