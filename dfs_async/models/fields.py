"""What a Struct's fields are, read once from msgspec's type information.

The one introspector of the project: the filterable fields of an item, the output columns
and their types, the command line's options and the checks of a request all read a Struct
through `fields_of`, never through `msgspec.inspect` directly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final, Literal

import msgspec

Kind = Literal["int", "float", "bool", "str", "time", "date", "map", "list", "object"]

# Strings the API fills with its datetime format (`2019-11-15 12:57:46 +00:00`); a field of
# another name says it holds one with `Meta(extra={"kind": "time"})` (the audit's
# `summary_first_seen`).
DATETIME_NAMES: Final = frozenset(
    {"first_seen", "lost_date", "prev_seen", "last_seen", "date", "datetime", "date_from",
     "date_to", "time_update", "backlinks_subscription_expiry_date"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field: its kind, whether null is allowed, and its constraints (msgspec `Meta`)."""

    name: str
    kind: Kind
    required: bool
    nullable: bool
    ge: int | float | None = None
    le: int | float | None = None
    max_length: int | None = None
    min_length: int | None = None
    choices: tuple[Any, ...] | None = None
    description: str | None = None
    extra: Any = None
    item_kind: Kind | None = None  # the kind of a list's elements
    annotation: Any = None  # the resolved type, for checking nested objects (msgspec.convert)


@functools.cache
def fields_of(struct: type[msgspec.Struct]) -> tuple[FieldInfo, ...]:
    """The fields of a Struct, in declaration order."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    types = {f.encode_name: f.type for f in msgspec.structs.fields(struct)}
    return tuple(_field(f, types[f.encode_name]) for f in info.fields)


def kinds_of(struct: type[msgspec.Struct]) -> dict[str, Kind]:
    """`{name: kind}` of a Struct's fields."""
    return {f.name: f.kind for f in fields_of(struct)}


def _field(f: msgspec.inspect.Field, annotation: Any) -> FieldInfo:
    t = f.type
    nullable = False
    if isinstance(t, msgspec.inspect.UnionType):
        rest = [x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)]
        nullable = len(rest) < len(t.types)
        t = rest[0] if len(rest) == 1 else msgspec.inspect.AnyType()
    meta: dict[str, Any] = {}
    extra = None
    if isinstance(t, msgspec.inspect.Metadata):
        meta, extra, t = t.extra_json_schema or {}, t.extra, t.type
    kind = extra.get("kind") if isinstance(extra, dict) else None
    return FieldInfo(
        name=f.encode_name,
        kind=kind or _kind(f.encode_name, t),
        required=f.required,
        nullable=nullable,
        ge=getattr(t, "ge", None),
        le=getattr(t, "le", None),
        max_length=getattr(t, "max_length", None),
        min_length=getattr(t, "min_length", None),
        choices=tuple(t.values) if isinstance(t, msgspec.inspect.LiteralType) else None,
        description=meta.get("description"),
        extra=extra,
        item_kind=_kind("", t.item_type) if isinstance(t, msgspec.inspect.ListType) else None,
        annotation=annotation,
    )


def _kind(name: str, t: msgspec.inspect.Type) -> Kind:
    if isinstance(t, msgspec.inspect.LiteralType):
        t = msgspec.inspect.type_info(type(t.values[0]))
    if isinstance(t, msgspec.inspect.BoolType):
        return "bool"
    if isinstance(t, msgspec.inspect.IntType):
        return "int"
    if isinstance(t, msgspec.inspect.FloatType):
        return "float"
    if isinstance(t, msgspec.inspect.StrType):
        return "time" if name in DATETIME_NAMES else "str"
    if isinstance(t, msgspec.inspect.DateType):
        return "date"
    if isinstance(t, msgspec.inspect.DictType):
        return "map"
    if isinstance(t, msgspec.inspect.ListType | msgspec.inspect.SetType):
        return "list"
    return "object"
