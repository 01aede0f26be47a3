"""The rules no type can say, as small named functions a spec attaches to its fields, and
the units of work (what one job of a stream is made of, from what the caller passed).

A rule raises ValidationError(name, rule) when a (non-null) value breaks it; the client runs
it before sending and the emulator answers 40501 from the same rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from dfs_async.errors import InvalidTarget, ValidationError
from dfs_async.filters import check_filters, field_kind
from dfs_async.plan.bulk import pack_fields
from dfs_async.targets import domain_of, is_api_target, is_page, normalize_target

Rule = Callable[[str, Any], None]
"""A field rule: raises ValidationError(name, rule) when the (non-null) value breaks it."""

Unit = Callable[[Any], tuple[str, dict[str, Any]]]
"""A unit of work from what the caller passed: its key (a record's `target`) and the task
fields that name it; raises InvalidTarget (or ValidationError) when it is not valid."""

MAX_ORDER_RULES: Final = 3
_TARGET_RULE: Final = (
    "a domain or subdomain without scheme and www., or a page as an absolute http(s) URL"
)
_DOMAIN_RULE: Final = "a domain or subdomain without scheme and www."

# -- units of work ------------------------------------------------------------------------


def one_target(raw: Any) -> tuple[str, dict[str, Any]]:
    """The unit of most endpoints: one normalised `target`."""
    target = normalize_target(raw)
    return target, {"target": target}


def one_domain(raw: Any) -> tuple[str, dict[str, Any]]:
    """The unit of the endpoints that take a domain only: one normalised `target`; a page
    URL is refused (no request), naming its domain, which is what to ask for instead."""
    target = normalize_target(raw)
    if is_page(target):
        raise InvalidTarget(raw, _not_a_page(target))
    return target, {"target": target}


def no_unit(raw: Any) -> tuple[str, dict[str, Any]]:
    """The utility endpoints: a request names no target."""
    if raw is not None:
        raise ValidationError("target", "this endpoint takes no target")
    return "", {}


def bulk_target(raw: Any) -> tuple[str, dict[str, Any]]:
    """One target of a bulk endpoint; the engine packs many into one task (`pack_fields`)."""
    target = normalize_target(raw)
    return target, pack_fields((target,))


def target_set(raw: Any) -> tuple[str, dict[str, Any]]:
    """One intersection query: its targets as `"a.com,b.com"`, a list or a `{"1": ...}` map;
    the key is the normalised targets joined by commas."""
    if isinstance(raw, str):
        values = [part.strip() for part in raw.split(",") if part.strip()]
    elif isinstance(raw, Mapping):
        values = list(raw.values())
    else:
        values = list(raw)
    if not values:
        raise InvalidTarget(str(raw), "at least one target")
    targets = [normalize_target(value) for value in values]
    return ",".join(targets), {"targets": {str(i): t for i, t in enumerate(targets, 1)}}


# -- targets -------------------------------------------------------------------------------


def target(name: str, value: Any) -> None:
    """The API's own form only: the client normalises targets before they get here."""
    if not isinstance(value, str) or not is_api_target(value):
        raise ValidationError(name, f"{_TARGET_RULE} (got {value!r})")


def domain(name: str, value: Any) -> None:
    """A domain or subdomain (no page URL) in the API's form."""
    if not isinstance(value, str) or not is_api_target(value):
        raise ValidationError(name, f"{_DOMAIN_RULE} (got {value!r})")
    if is_page(value):
        raise ValidationError(name, f"{_not_a_page(value)} (got {value!r})")


def _not_a_page(page: str) -> str:
    return (
        f"this endpoint takes {_DOMAIN_RULE}, not a page URL:"
        f" the page's domain is {domain_of(page).domain}"
    )


def each_target(name: str, value: Any) -> None:
    """Every target of a list (bulk) or of a map (intersections) in the API's form."""
    values = value.values() if isinstance(value, Mapping) else value
    for one in values:
        if not isinstance(one, str) or not is_api_target(one):
            raise ValidationError(name, f"{_TARGET_RULE} (got {one!r})")


# -- filters and sorting ------------------------------------------------------------------


class Numbered(Mapping[str, str]):
    """What an intersection's `filters` and `order_by` name: `"<n>.<field>"`, a field of the
    n-th target's part (`"1.rank"`, `"2.first_seen"`), for n up to `most` targets."""

    def __init__(self, part: Mapping[str, str], most: int) -> None:
        self._part = part
        self._most = most

    def __getitem__(self, name: str) -> str:
        number, _, field = name.partition(".")
        if number.isdigit() and number[0] != "0" and int(number) <= self._most:
            return self._part[field]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (f"{n}.{field}" for n in range(1, self._most + 1) for field in self._part)

    def __len__(self) -> int:
        return self._most * len(self._part)


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


# -- dates --------------------------------------------------------------------------------


def today() -> date:
    """Today in UTC, the API's calendar."""
    return datetime.now(UTC).date()


def day(
    earliest: date | Callable[[], date] | None = None, latest: Callable[[], date] = today
) -> Rule:
    """A `yyyy-mm-dd` date from `earliest` (a date, or a function of today) to `latest`
    (today): the API answers 40501 to anything else, after taking the request's money
    for nothing in other clients."""

    def rule(name: str, value: Any) -> None:
        try:
            given = (
                date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
            )
        except ValueError:
            given = None
        if given is None:
            raise ValidationError(name, f"a date as yyyy-mm-dd (got {value!r})")
        low = earliest() if callable(earliest) else earliest
        if low is not None and given < low:
            raise ValidationError(name, f"{value} is before {low.isoformat()}, the earliest")
        high = latest()
        if given > high:
            raise ValidationError(name, f"{value} is after {high.isoformat()} (today)")

    return rule


def a_year_ago() -> date:
    return today() - timedelta(days=365)


# -- times of the utilities ---------------------------------------------------------------

ID_LIST_DAYS: Final = 183  # how far back `id_list` reaches: six months
ID_LIST_METADATA_DAYS: Final = 31  # ... a month, with include_metadata


def moment(name: str, value: Any) -> None:
    """A time as the API writes it, `yyyy-mm-dd hh:mm:ss +00:00`."""
    if not isinstance(value, str) or _moment(value) is None:
        raise ValidationError(name, f"a time as yyyy-mm-dd hh:mm:ss +00:00 (got {value!r})")


def _moment(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None


# -- rules across the fields of a task ------------------------------------------------------

TaskRule = Callable[[Mapping[str, Any]], None]
"""A rule across fields of one task (its fields checked one by one already): raises
ValidationError naming the field at fault."""


def in_order(first: str, then: str) -> TaskRule:
    """A range: `first` not after `then` when both are given (dates, or times as the API
    writes them). The API refuses a reversed range, after taking the request's money."""

    def rule(task: Mapping[str, Any]) -> None:
        low, high = task.get(first), task.get(then)
        if low is None or high is None:
            return
        if " " in low:  # a time: compared as instants, whatever their offsets
            reversed_ = _moment(low) > _moment(high)  # type: ignore[operator]
        else:
            reversed_ = date.fromisoformat(low) > date.fromisoformat(high)
        if reversed_:
            raise ValidationError(first, f"{low} is after {then} {high}: the range is reversed")

    return rule


def id_list_reach(task: Mapping[str, Any]) -> None:
    """`id_list` reaches six months back, a month with `include_metadata`."""
    start = task.get("datetime_from")
    if start is None:
        return
    metadata = bool(task.get("include_metadata"))
    days = ID_LIST_METADATA_DAYS if metadata else ID_LIST_DAYS
    earliest = datetime.now(UTC) - timedelta(days=days)
    if _moment(start) < earliest:  # type: ignore[operator]
        reach = "a month back (with include_metadata)" if metadata else "six months back"
        raise ValidationError("datetime_from", f"{start} is more than {reach}")
