"""The shape of an endpoint spec, and the checks it makes before anything is sent.

An `Endpoint` is data: its path, its request type (a msgspec Struct: every field's name, type,
bounds and choices), its item type, its paging kind and its price. The per-field rules are
derived from the request type (`Meta(ge=, le=, max_length=)`, `Literal[...]`, `bool`); the
rules a type cannot say (target syntax, filter expressions, sort rules) are the small named
functions below, attached to a spec by field name in `checks`. The client checks every task
with `check_task` before sending (a bad field never costs money); the emulator answers with
the API's codes from the same checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from dfs_async.errors import UnknownField, ValidationError
from dfs_async.filters import BOOL, NUM, STR, TIME, check_filters, field_kind
from dfs_async.models import Envelope
from dfs_async.models.fields import FieldInfo, fields_of, kinds_of
from dfs_async.plan import PageRequest, Paging
from dfs_async.targets import is_api_target, normalize_target

Rule = Callable[[str, Any], None]
"""A field rule: raises ValidationError(name, rule) when the (non-null) value breaks it."""

Unit = Callable[[Any], tuple[str, dict[str, Any]]]
"""A unit of work from what the caller passed: its key (a record's `target`) and the task
fields that name it; raises InvalidTarget (or ValidationError) when it is not valid."""

MAX_ORDER_RULES: Final = 3


def one_target(raw: Any) -> tuple[str, dict[str, Any]]:
    """The unit of most endpoints: one normalised `target`."""
    target = normalize_target(raw)
    return target, {"target": target}


# -- the rules a type cannot say ----------------------------------------------------------


def target(name: str, value: Any) -> None:
    """The API's own form only: the client normalises targets before they get here."""
    if not isinstance(value, str) or not is_api_target(value):
        raise ValidationError(
            name,
            "a domain or subdomain without scheme and www., or an absolute http(s) page URL"
            f" (got {value!r})",
        )


def filters(fields: Mapping[str, str]) -> Rule:
    """Filter expressions on these fields (at most 8 conditions, known operators)."""

    def rule(name: str, value: Any) -> None:
        check_filters(value, fields, name=name)

    return rule


def order_by(fields: Mapping[str, str]) -> Rule:
    """Up to three `"field,asc"` / `"field,desc"` rules on these fields."""

    def rule(name: str, value: Any) -> None:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValidationError(name, 'must be a list of "field,asc" or "field,desc" rules')
        if len(value) > MAX_ORDER_RULES:
            raise ValidationError(name, f"at most {MAX_ORDER_RULES} rules, got {len(value)}")
        for spec in value:
            fname, _, direction = spec.partition(",")
            if direction not in ("asc", "desc"):
                raise ValidationError(name, f'{spec!r}: the direction is "asc" or "desc"')
            if field_kind(fname, fields) is None:
                raise ValidationError(name, f"{spec!r}: unknown field {fname!r}")

    return rule


# -- the rules a type says ----------------------------------------------------------------


def _type_rule(info: FieldInfo) -> Rule:
    """The check of one request field, read from its type and `Meta` bounds."""
    if info.choices is not None:
        choices = info.choices

        def choice(name: str, value: Any) -> None:
            if value not in choices:
                shown = ", ".join(map(str, choices))
                raise ValidationError(name, f"must be one of {shown}; got {value!r}")

        return choice
    if info.kind == "int":
        lo, hi = info.ge, info.le

        def integer(name: str, value: Any) -> None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(name, f"must be an integer, got {value!r}")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                bounds = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
                raise ValidationError(name, f"must be {bounds}, got {value}")

        return integer
    if info.kind == "bool":

        def boolean(name: str, value: Any) -> None:
            if not isinstance(value, bool):
                raise ValidationError(name, f"must be true or false, got {value!r}")

        return boolean
    if info.kind in ("str", "time"):
        most = info.max_length

        def text(name: str, value: Any) -> None:
            if not isinstance(value, str):
                raise ValidationError(name, f"must be a string, got {value!r}")
            if most is not None and len(value) > most:
                raise ValidationError(name, f"at most {most} characters, got {len(value)}")

        return text
    if info.kind == "list":

        def array(name: str, value: Any) -> None:
            if not isinstance(value, list | tuple):
                raise ValidationError(name, f"must be a list, got {value!r}")

        return array
    return lambda name, value: None


# -- the spec -----------------------------------------------------------------------------

_FILTER_KINDS: Final = {"int": NUM, "float": NUM, "bool": BOOL, "time": TIME, "map": "map"}


def filter_fields(item: type[msgspec.Struct]) -> dict[str, str]:
    """The fields `filters` and `order_by` may name, by kind, derived from an item Struct."""
    return {
        name: _FILTER_KINDS.get(kind, STR)
        for name, kind in kinds_of(item).items()
        if name != "type" and kind not in ("list", "object")
    }


@dataclass(frozen=True)
class Price:
    """The documented price: per request (task) plus per returned item (or row)."""

    per_request: float = 0.02
    per_item: float = 0.00003

    def worst(self, items: int) -> float:
        """The most one task asking for up to `items` items can cost."""
        return self.per_request + self.per_item * items


@dataclass(frozen=True)
class Endpoint:
    """One endpoint as data; see the module docstring."""

    name: str
    path: str
    request: type[msgspec.Struct]
    item: type[msgspec.Struct]
    paging: Paging
    price: Price = Price()
    method: str = "POST"
    checks: Mapping[str, Rule] = field(default_factory=dict)
    unit: Unit = one_target
    batch_capacity: int = 1  # tasks per POST (live endpoints: 1)

    @functools.cached_property
    def fields(self) -> dict[str, FieldInfo]:
        """The request's fields by name."""
        return {f.name: f for f in fields_of(self.request)}

    @functools.cached_property
    def rules(self) -> dict[str, Rule]:
        """Each field's check: its named check where it has one, else its type's."""
        return {
            name: self.checks.get(name) or _type_rule(info) for name, info in self.fields.items()
        }

    @functools.cached_property
    def filter_fields(self) -> dict[str, str]:
        return filter_fields(self.item)

    @functools.cached_property
    def decoder(self) -> msgspec.json.Decoder[Any]:
        """The one decoder of this endpoint's responses, built once and reused."""
        result = self.paging.result_type(self.item)
        return msgspec.json.Decoder(Envelope[result])  # type: ignore[valid-type]

    @property
    def default_limit(self) -> int | None:
        """The page size the API uses when `limit` is left out (None: not paged)."""
        info = self.fields.get("limit")
        return None if info is None or not info.extra else int(info.extra["default"])

    def page_cost(self, page: PageRequest) -> float:
        """The most one request of this page can cost (an unpaged one: one row)."""
        return self.price.worst(page.limit)

    def check_task(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """The task without its nulls (null means default), or ValidationError/UnknownField."""
        rules = self.rules
        for name in task:
            if name not in rules:
                raise UnknownField(name)
        clean = {k: v for k, v in task.items() if v is not None}
        for name, info in self.fields.items():
            if info.required and name not in clean:
                raise ValidationError(name, "required")
        for name, value in clean.items():
            rules[name](name, value)
        return clean
