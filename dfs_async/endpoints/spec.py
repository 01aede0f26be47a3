"""The shape of an endpoint spec, and the checks it makes before anything is sent.

An `Endpoint` is data: its path, its request type (a msgspec Struct: every field's name, type,
bounds and choices), its item type, its paging kind and its price. The per-field rules are
derived from the request type (`Meta(ge=, le=, max_length=)`, `Literal[...]`, `bool`); the
rules a type cannot say (target syntax, filter expressions, sort rules) are the small named
functions of `checks`, attached to a spec by field name in `checks`, and the rules across
fields (a date range in order) in `task_checks`. The client checks every task
with `check_task` before sending (a bad field never costs money); the emulator answers with
the API's codes from the same checks.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from dfs_async.endpoints.checks import Rule, TaskRule, Unit, one_target
from dfs_async.errors import InvalidTarget, UnknownField, ValidationError
from dfs_async.filters import ARRAY, BOOL, NUM, STR, TIME, Expr
from dfs_async.models import Envelope
from dfs_async.models.fields import FieldInfo, fields_of, kinds_of
from dfs_async.plan import Paging

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
    if info.kind in ("list", "map"):
        shape = "a list" if info.kind == "list" else "an object"
        kind = list | tuple if info.kind == "list" else dict
        fewest, most = info.min_length, info.max_length

        def collection(name: str, value: Any) -> None:
            if not isinstance(value, kind):
                raise ValidationError(name, f"must be {shape}, got {value!r}")
            if fewest is not None and len(value) < fewest:
                raise ValidationError(name, f"at least {fewest} entries, got {len(value)}")
            if most is not None and len(value) > most:
                raise ValidationError(name, f"at most {most} entries, got {len(value)}")

        return collection
    annotation = info.annotation

    def nested(name: str, value: Any) -> None:
        try:
            msgspec.convert(value, annotation)
        except msgspec.ValidationError as exc:
            raise ValidationError(name, str(exc)) from None

    return nested


def _both(first: Rule, then: Rule | None) -> Rule:
    if then is None:
        return first

    def rule(name: str, value: Any) -> None:
        first(name, value)
        then(name, value)

    return rule


# -- the spec -----------------------------------------------------------------------------

_FILTER_KINDS: Final = {
    "int": NUM, "float": NUM, "bool": BOOL, "time": TIME, "date": TIME, "map": "map", "list": ARRAY,
    "str": STR,
}  # fmt: skip


def filter_fields(item: type[msgspec.Struct]) -> dict[str, str]:
    """The fields `filters` and `order_by` may name, by kind, derived from an item Struct:
    its own, and a nested object's as `object.field` (`page_summary.backlinks`, as the API's
    documentation filters `domain_pages`; the nested object's maps and objects are not)."""
    fields: dict[str, str] = {}
    for info in fields_of(item):
        if info.name == "type":
            continue
        if info.kind != "object":
            fields[info.name] = _FILTER_KINDS[info.kind]
            continue
        for part in typing.get_args(info.annotation) or (info.annotation,):
            if isinstance(part, type) and issubclass(part, msgspec.Struct):
                for inner, kind in kinds_of(part).items():
                    if kind not in ("object", "map"):
                        fields[f"{info.name}.{inner}"] = _FILTER_KINDS[kind]
    return fields


class FilterFields(Mapping[str, str]):
    """`filter_fields(item)`, worked out when a check first reads it: introspecting every
    item Struct when the specs are built was a third of `import dfs_async`."""

    def __init__(self, item: type[msgspec.Struct]) -> None:
        self._item = item

    @functools.cached_property
    def _fields(self) -> dict[str, str]:
        return filter_fields(self._item)

    def __getitem__(self, name: str) -> str:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


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
    result: Any = None  # what a task's result decodes to, if not the paging kind's default
    price: Price = Price()
    method: str = "POST"
    checks: Mapping[str, Rule] = field(default_factory=dict)
    task_checks: tuple[TaskRule, ...] = ()  # rules across fields (a date range's order)
    unit: Unit = one_target
    # The keys of many units of work at once (each `unit(raw)[0]`, or the InvalidTarget it
    # raises), where a stream needs nothing more: a bulk endpoint's jobs keep no task fields
    # (their pack's targets name them). None: `unit`, one by one.
    keys: Callable[[Sequence[Any]], list[str | InvalidTarget]] | None = None

    def __post_init__(self) -> None:
        # The names only (the full `fields` are introspected when first needed: at import
        # time it was a third of `import dfs_async`).
        unknown = sorted(set(self.checks) - set(self.request.__struct_encode_fields__))
        if unknown:  # a typo would leave a field unchecked
            raise TypeError(f"{self.name}: checks of fields its request lacks: {unknown}")

    @functools.cached_property
    def fields(self) -> dict[str, FieldInfo]:
        """The request's fields by name."""
        return {f.name: f for f in fields_of(self.request)}

    @functools.cached_property
    def stand_in(self) -> dict[str, Any]:
        """The task fields of a stand-in unit of work (`{"target": "example.com"}`), to check
        the other fields before any target is known; empty for an endpoint that takes none."""
        try:
            _, fields = self.unit("example.com")
        except ValidationError:
            return {}
        return fields

    def keys_of(self, raws: Sequence[Any]) -> list[str | InvalidTarget]:
        """The key of each of `raws`, or the InvalidTarget it raises (see `keys`)."""
        if self.keys is not None:
            return self.keys(raws)
        found: list[str | InvalidTarget] = []
        for raw in raws:
            try:
                found.append(self.unit(raw)[0])
            except InvalidTarget as exc:
                found.append(exc)
        return found

    @property
    def takes_units(self) -> bool:
        """Whether requests name a unit of work (a target, a query): streams need one."""
        return bool(self.stand_in)

    @functools.cached_property
    def rules(self) -> dict[str, Rule]:
        """Each field's check: its type's, then its named check where it has one."""
        return {
            name: _both(_type_rule(info), self.checks.get(name))
            for name, info in self.fields.items()
        }

    @functools.cached_property
    def filter_fields(self) -> dict[str, str]:
        return filter_fields(self.item)

    @property
    def result_type(self) -> Any:
        """What one result of a task decodes to: `result`, else the paging kind's default."""
        return self.result or self.paging.result_type(self.item)

    @property
    def answer_type(self) -> Any:
        """What an awaited call returns (a `Page[item]`, the result, the list of results)."""
        return self.paging.answer_type(self.item, self.result_type)

    @functools.cached_property
    def decoder(self) -> msgspec.json.Decoder[Any]:
        """The one decoder of this endpoint's responses, built once and reused."""
        result = self.result_type
        return msgspec.json.Decoder(Envelope[result])  # type: ignore[valid-type]

    @property
    def default_limit(self) -> int | None:
        """The page size the API uses when `limit` is left out (None: not paged)."""
        info = self.fields.get("limit")
        return None if info is None or not info.extra else int(info.extra["default"])

    def check_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A call's fields, every one but the unit of work's, checked before anything is sent
        (builder filters become lists; nulls mean default, and are dropped). Raises
        UnknownField / ValidationError naming the field and the rule."""
        probe = self.stand_in
        for name in probe:
            if name in fields:
                raise ValidationError(name, "pass the target(s) as the first argument")
        plain = {k: v.to_list() if isinstance(v, Expr) else v for k, v in fields.items()}
        checked = self.check_task({**plain, **probe})
        for name in probe:
            del checked[name]
        return checked

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
        for rule in self.task_checks:
            rule(clean)
        return clean
