"""What a task's `filters` and `order_by` do to a list of items, for any item Struct.

The request was checked against the endpoint's rules before it gets here (a wrong filter is
40501 there, not here); this module gives the checked request its meaning:

- `filters`: SQL-like. `and` binds tighter than `or`; a null field matches only `= null`
  (and `<> value`); a map key (`referring_links_types.anchor`) that a page lacks counts 0 and
  is read on the whole map, before `internal_list_limit`. `like`/`ilike` take `%` as the
  wildcard (case-sensitive / not); `regex` searches (Python `re`); `match` holds when every
  word of the value is a word of the field (case-insensitive). Numbers may come as strings;
  times as the API's datetime or `YYYY-MM-DD`.
- `order_by`: up to three rules applied as one stable sort over the corpus order, so equal
  keys keep the corpus order and paging by offset is exact; nulls sort as the smallest.

What a field means to one endpoint (`backlinks_filters`, `rank_scale`, `internal_list_limit`)
is the corpus's business, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from operator import attrgetter
from typing import Any

import msgspec

from dfs_async.errors import ValidationError
from dfs_async.filters import NUM, TIME, field_kind, is_condition, parse_filter_time
from dfs_async.models import format_api_datetime

Item = Any  # an item Struct of any endpoint
Predicate = Callable[[Item], bool]
Getter = Callable[[Item], Any]


def getter(name: str) -> Getter:
    """Reads a field, `object.field` (a nested object's field), or `map.key` (0 when the
    item's map lacks the key); the filter's check made sure the name is one of these."""
    if "." not in name:
        return attrgetter(name)
    head, key = name.split(".", 1)

    def get(item: Item) -> Any:
        part = getattr(item, head, None)  # an intersection's view lacks a target it lacks
        if isinstance(part, msgspec.Struct):
            return getattr(part, key)
        return (part or {}).get(key, 0)

    return get


def compile_filter(expr: Any, fields: Mapping[str, str], name: str = "filters") -> Predicate:
    """A predicate for a checked filter expression."""
    if is_condition(expr):
        return _condition(expr, fields, name)
    groups: list[list[Predicate]] = [[]]
    for i, node in enumerate(expr):
        if i % 2:
            if node == "or":
                groups.append([])
            continue
        groups[-1].append(compile_filter(node, fields, name))

    def predicate(item: Item) -> bool:
        return any(all(p(item) for p in group) for group in groups)

    return predicate


def _normal(kind: str | None, value: Any) -> Any:
    """A filter value in the form the field's values take (numbers as float, times as text)."""
    if value is None:
        return None
    if kind == NUM:
        return float(value)
    if kind == TIME:
        parsed = parse_filter_time(value)
        assert parsed is not None  # checked before
        return format_api_datetime(parsed.astimezone(UTC))
    return value


def _condition(cond: Sequence[Any], fields: Mapping[str, str], name: str) -> Predicate:
    fname, op, raw = cond
    kind = field_kind(fname, fields)
    get = getter(fname)
    if op in ("in", "not_in"):
        values = {_normal(kind, v) for v in raw}
        if op == "in":
            return lambda item: get(item) in values
        return lambda item: (x := get(item)) is not None and x not in values
    if op in ("like", "not_like", "ilike", "not_ilike", "regex", "not_regex"):
        if "regex" in op:
            pattern = _compile(raw, 0, name)
            search = pattern.search
        else:
            flags = re.IGNORECASE if "ilike" in op else 0
            regex = "".join(".*" if part == "%" else re.escape(part) for part in _like(raw))
            search = _compile(regex, flags | re.DOTALL, name).fullmatch
        if op.startswith("not_"):
            return lambda item: (x := get(item)) is not None and search(_text(x)) is None
        return lambda item: (x := get(item)) is not None and search(_text(x)) is not None
    if op in ("match", "not_match"):
        words = set(re.findall(r"\w+", raw.lower()))
        if op == "match":
            return lambda item: (x := get(item)) is not None and words <= _words(x)
        return lambda item: (x := get(item)) is not None and not words <= _words(x)
    value = _normal(kind, raw)
    if op == "=":
        return lambda item: get(item) == value
    if op == "<>":
        return lambda item: get(item) != value
    compare: Callable[[Any, Any], bool] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[op]
    return lambda item: (x := get(item)) is not None and compare(x, value)


def _like(pattern: str) -> list[str]:
    return re.split(r"(%)", pattern)


def _compile(pattern: str, flags: int, name: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValidationError(name, f"invalid pattern {pattern!r}: {exc}") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _words(value: Any) -> set[str]:
    return set(re.findall(r"\w+", _text(value).lower()))


def sort_items(items: list[Item], order_by: Sequence[str]) -> list[Item]:
    """A stable sort by up to three `field,dir` rules; nulls count as the smallest."""
    rows = [(item, tuple(getter(rule.partition(",")[0])(item) for rule in order_by))
            for item in items]  # fmt: skip
    sort_rows(rows, order_by)
    return [item for item, _ in rows]


Row = tuple[Any, tuple[Any, ...]]  # (anything, the item's values of the order_by fields)


def sort_rows(rows: list[Row], order_by: Sequence[str]) -> None:
    """Sort rows in place by their values of the `order_by` fields, as `sort_items` sorts
    the items they were read from (rows keep only what a long list needs to be ordered)."""
    for j, rule in reversed(list(enumerate(order_by))):

        def key(row: Row, j: int = j) -> tuple[bool, Any]:
            value = row[1][j]
            return (value is not None, value)

        rows.sort(key=key, reverse=rule.endswith(",desc"))
