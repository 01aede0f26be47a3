"""Declarative specs of the endpoints: path, item type, batch capacity, paging, field rules.

A spec is the single place that knows an endpoint's request rules. The client checks every
task against it before sending (so a bad field never costs money) and the emulator answers
with the API's codes from the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from dfs_async.errors import UnknownField, ValidationError
from dfs_async.filters import ARRAY, BOOL, NUM, STR, TIME, check_filters, field_kind
from dfs_async.models import DomainPageSummary
from dfs_async.targets import is_api_target

Rule = Callable[[str, Any], None]
"""A field rule: raises ValidationError(name, rule) when the (non-null) value breaks it."""


def integer(lo: int, hi: int | None = None) -> Rule:
    def rule(name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(name, f"must be an integer, got {value!r}")
        if value < lo or (hi is not None and value > hi):
            bounds = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise ValidationError(name, f"must be {bounds}, got {value}")

    return rule


def choice(*values: str) -> Rule:
    def rule(name: str, value: Any) -> None:
        if value not in values:
            raise ValidationError(name, f"must be one of {', '.join(values)}; got {value!r}")

    return rule


def boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValidationError(name, f"must be true or false, got {value!r}")


def text(max_length: int) -> Rule:
    def rule(name: str, value: Any) -> None:
        if not isinstance(value, str):
            raise ValidationError(name, f"must be a string, got {value!r}")
        if len(value) > max_length:
            raise ValidationError(name, f"at most {max_length} characters, got {len(value)}")

    return rule


def target(name: str, value: Any) -> None:
    """The API's own form only: the client normalises targets before they get here."""
    if not isinstance(value, str) or not is_api_target(value):
        raise ValidationError(
            name,
            "a domain or subdomain without scheme and www., or an absolute http(s) page URL"
            f" (got {value!r})",
        )


def filters(fields: Mapping[str, str]) -> Rule:
    def rule(name: str, value: Any) -> None:
        check_filters(value, fields, name=name)

    return rule


def order_by(fields: Mapping[str, str], max_rules: int = 3) -> Rule:
    def rule(name: str, value: Any) -> None:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValidationError(name, 'must be a list of "field,asc" or "field,desc" rules')
        if len(value) > max_rules:
            raise ValidationError(name, f"at most {max_rules} rules, got {len(value)}")
        for spec in value:
            fname, _, direction = spec.partition(",")
            if direction not in ("asc", "desc"):
                raise ValidationError(name, f'{spec!r}: the direction is "asc" or "desc"')
            if field_kind(fname, fields) is None:
                raise ValidationError(name, f"{spec!r}: unknown field {fname!r}")

    return rule


def _item_filter_fields(item_type: type[msgspec.Struct]) -> dict[str, str]:
    """Filterable fields of an item type, by kind, derived from its Struct."""
    kinds: dict[str, str] = {}
    for f in msgspec.inspect.type_info(item_type).fields:  # type: ignore[attr-defined]
        if f.name == "type":
            continue
        info = f.type.types[0] if isinstance(f.type, msgspec.inspect.UnionType) else f.type
        if isinstance(info, msgspec.inspect.DictType):
            kinds[f.name] = "map"
        elif isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
            kinds[f.name] = NUM
        elif isinstance(info, msgspec.inspect.BoolType):
            kinds[f.name] = BOOL
        elif f.name in ("first_seen", "lost_date", "prev_seen", "last_seen"):
            kinds[f.name] = TIME
        else:
            kinds[f.name] = STR
    return kinds


def _words(text: str) -> list[str]:
    return text.split()


# Fields of a `backlinks/live` item, which `backlinks_filters` filters on.
BACKLINK_FILTER_FIELDS: Final[Mapping[str, str]] = {
    **{name: STR for name in _words(
        """domain_from url_from domain_to url_to tld_from domain_from_ip domain_from_country
        page_from_encoding page_from_language page_from_title item_type alt image_url anchor
        text_pre text_post semantic_location url_to_redirect_target"""
    )},
    **{name: BOOL for name in _words(
        """url_from_https url_to_https is_new is_lost domain_from_is_ip dofollow original
        is_broken is_indirect_link"""
    )},
    **{name: NUM for name in _words(
        """backlink_spam_score rank page_from_rank domain_from_rank page_from_external_links
        page_from_internal_links page_from_size page_from_status_code links_count group_count
        url_to_status_code url_to_spam_score"""
    )},
    **{name: TIME for name in _words("first_seen prev_seen last_seen")},
    **{name: ARRAY for name in _words("domain_from_platform_type attributes indirect_link_path")},
}  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    """What the client and the emulator need to know of one endpoint."""

    name: str
    path: str
    item_type: type[msgspec.Struct]
    rules: Mapping[str, Rule]
    required: frozenset[str]
    batch_capacity: int = 1  # tasks per POST (live endpoints: 1)
    max_limit: int = 1000
    default_limit: int = 100
    filter_fields: Mapping[str, str] = field(default_factory=dict)

    def check_task(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """The task without its nulls (null means default), or ValidationError/UnknownField."""
        for name in task:
            if name not in self.rules:
                raise UnknownField(name)
        clean = {k: v for k, v in task.items() if v is not None}
        for name in self.required:
            if name not in clean:
                raise ValidationError(name, "required")
        for name, value in clean.items():
            self.rules[name](name, value)
        return clean


_PAGE_FIELDS: Final = _item_filter_fields(DomainPageSummary)

DOMAIN_PAGES_SUMMARY: Final = Endpoint(
    name="domain_pages_summary",
    path="/v3/backlinks/domain_pages_summary/live",
    item_type=DomainPageSummary,
    required=frozenset({"target"}),
    filter_fields=_PAGE_FIELDS,
    rules={
        "target": target,
        "limit": integer(1, 1000),
        "offset": integer(0),
        "internal_list_limit": integer(1, 1000),
        "backlinks_status_type": choice("all", "live", "lost"),
        "filters": filters(_PAGE_FIELDS),
        "order_by": order_by(_PAGE_FIELDS),
        "backlinks_filters": filters(BACKLINK_FILTER_FIELDS),
        "include_subdomains": boolean,
        "include_indirect_links": boolean,
        "exclude_internal_backlinks": boolean,
        "rank_scale": choice("one_hundred", "one_thousand"),
        "tag": text(255),
    },
)
