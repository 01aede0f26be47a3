"""Filter expressions: the nested lists the API takes, a small builder, and the checks.

A condition is `[field, operator, value]`; an expression joins conditions or expressions
with `"and"` / `"or"`: `[["backlinks", ">", 10], "and", [["url", "like", "%blog%"], "or",
["rank", ">=", 100]]]`. The builder writes the same thing from Python::

    (Field("backlinks") > 10) & (Field("url").like("%blog%") | (Field("rank") >= 100))

`check_filters` enforces what the API enforces (at most 8 conditions, known operators, fields
the endpoint knows, values that fit the field) so a bad filter never costs a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from dfs_async.errors import ValidationError
from dfs_async.models.datetimes import API_FORMAT

MAX_CONDITIONS: Final = 8
COMPARISONS: Final = frozenset({"<", "<=", ">", ">="})
PATTERNS: Final = frozenset(
    {"like", "not_like", "ilike", "not_ilike", "regex", "not_regex", "match", "not_match"}
)
SETS: Final = frozenset({"in", "not_in"})
OPERATORS: Final = frozenset({"=", "<>"}) | COMPARISONS | PATTERNS | SETS
JOINS: Final = frozenset({"and", "or"})

# Field kinds, as `available_filters` names them.
NUM, STR, TIME, BOOL, ARRAY = "num", "str", "time", "bool", "array"


def is_condition(node: Any) -> bool:
    """A condition is a 3-list whose first element is a field name."""
    return isinstance(node, list | tuple) and len(node) == 3 and isinstance(node[0], str)


def conditions(expr: Any) -> list[Sequence[Any]]:
    """Every condition of an expression, in order (the expression is assumed well-formed)."""
    if is_condition(expr):
        return [expr]
    return [c for node in expr[::2] for c in conditions(node)]


def field_kind(field: str, fields: Mapping[str, str]) -> str | None:
    """The kind of `field`; `map.key` reaches a key of a map field (whose values are counts)."""
    kind = fields.get(field)
    if kind is None and "." in field:
        head = field.split(".", 1)[0]
        if fields.get(head) == "map":
            return NUM
    return None if kind == "map" else kind


def check_filters(expr: Any, fields: Mapping[str, str], *, name: str = "filters") -> None:
    """Raise ValidationError(name, rule) unless `expr` is a filter the API would take."""
    _check_node(expr, fields, name)
    count = len(conditions(expr))
    if count > MAX_CONDITIONS:
        raise ValidationError(name, f"at most {MAX_CONDITIONS} conditions, got {count}")


def _check_node(node: Any, fields: Mapping[str, str], name: str) -> None:
    if is_condition(node):
        _check_condition(node, fields, name)
        return
    if not isinstance(node, list | tuple) or len(node) % 2 == 0 or not node:
        raise ValidationError(
            name, f"expected a condition [field, operator, value] or an expression, got {node!r}"
        )
    for i, part in enumerate(node):
        if i % 2:
            if part not in JOINS:
                raise ValidationError(name, f"conditions are joined by 'and' or 'or', got {part!r}")
        else:
            _check_node(part, fields, name)


def _check_condition(cond: Sequence[Any], fields: Mapping[str, str], name: str) -> None:
    field, op, value = cond
    if op not in OPERATORS:
        raise ValidationError(
            name, f"unknown operator {op!r} (one of {', '.join(sorted(OPERATORS))})"
        )
    kind = field_kind(field, fields)
    if kind is None:
        raise ValidationError(name, f"unknown field {field!r}")
    if op in SETS:
        if not isinstance(value, list | tuple) or not value:
            raise ValidationError(name, f"{op!r} takes a non-empty list of values")
        for v in value:
            _check_value(field, kind, v, name)
    elif op in PATTERNS:
        if not isinstance(value, str):
            raise ValidationError(name, f"{op!r} on {field!r} takes a string")
    elif op in COMPARISONS:
        if kind not in (NUM, TIME):
            raise ValidationError(name, f"{op!r} compares numbers or dates; {field!r} is {kind}")
        _check_value(field, kind, value, name)
    elif value is not None:
        _check_value(field, kind, value, name)


def _check_value(field: str, kind: str, value: Any, name: str) -> None:
    ok = True
    if kind == NUM:
        ok = _is_number(value)
    elif kind == BOOL:
        ok = isinstance(value, bool)
    elif kind == STR:
        ok = isinstance(value, str)
    elif kind == TIME:
        ok = isinstance(value, str) and parse_filter_time(value) is not None
    if not ok:
        raise ValidationError(name, f"{value!r} does not fit {field!r} ({kind})")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def parse_filter_time(value: str) -> datetime | None:
    """A time filter value: the API's datetime format, or a bare `YYYY-MM-DD` (UTC)."""
    for fmt in (API_FORMAT, "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


class Expr:
    """A built filter expression; `to_list()` gives what the API takes."""

    def __init__(self, node: list[Any]) -> None:
        self.node = node

    def to_list(self) -> list[Any]:
        return self.node

    def _join(self, join: str, other: Expr) -> Expr:
        if not isinstance(other, Expr):
            return NotImplemented
        return Expr([self.node, join, other.node])

    def __and__(self, other: Expr) -> Expr:
        return self._join("and", other)

    def __or__(self, other: Expr) -> Expr:
        return self._join("or", other)

    def __repr__(self) -> str:
        return f"Expr({self.node!r})"


class Field:
    """One side of a condition: `Field("rank") >= 100`, `Field("url").like("%blog%")`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _cond(self, op: str, value: Any) -> Expr:
        return Expr([self.name, op, value])

    def __eq__(self, value: Any) -> Expr:  # type: ignore[override]
        return self._cond("=", value)

    def __ne__(self, value: Any) -> Expr:  # type: ignore[override]
        return self._cond("<>", value)

    def __lt__(self, value: Any) -> Expr:
        return self._cond("<", value)

    def __le__(self, value: Any) -> Expr:
        return self._cond("<=", value)

    def __gt__(self, value: Any) -> Expr:
        return self._cond(">", value)

    def __ge__(self, value: Any) -> Expr:
        return self._cond(">=", value)

    __hash__ = None  # type: ignore[assignment]

    def is_in(self, values: Sequence[Any]) -> Expr:
        return self._cond("in", list(values))

    def not_in(self, values: Sequence[Any]) -> Expr:
        return self._cond("not_in", list(values))

    def like(self, pattern: str) -> Expr:
        return self._cond("like", pattern)

    def not_like(self, pattern: str) -> Expr:
        return self._cond("not_like", pattern)

    def ilike(self, pattern: str) -> Expr:
        return self._cond("ilike", pattern)

    def not_ilike(self, pattern: str) -> Expr:
        return self._cond("not_ilike", pattern)

    def regex(self, pattern: str) -> Expr:
        return self._cond("regex", pattern)

    def not_regex(self, pattern: str) -> Expr:
        return self._cond("not_regex", pattern)

    def match(self, text: str) -> Expr:
        return self._cond("match", text)

    def not_match(self, text: str) -> Expr:
        return self._cond("not_match", text)
