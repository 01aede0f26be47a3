"""The whole family as data: every spec is reachable everywhere, and the named checks."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from dfs_async import DataForSEO, InvalidTarget, ValidationError
from dfs_async.cli import build_parser
from dfs_async.emulator import Emulator
from dfs_async.endpoints import BY_NAME, ENDPOINTS, UTILITIES, Endpoint, target_set
from dfs_async.endpoints.checks import bulk_target, day, no_unit, target, today
from tests.test_schema import spec as schema

ALL = (*ENDPOINTS, *UTILITIES)


def test_every_spec_is_a_client_call_a_subcommand_and_an_emulator_route() -> None:
    dfs = DataForSEO("me", "pw", base_url="http://api.test")
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    routes = Emulator()._routes
    for spec in ALL:
        assert getattr(dfs.backlinks, spec.name).endpoint is spec
        assert spec.name.replace("_", "-") in sub.choices  # type: ignore[operator]
        assert (spec.method, spec.path) in routes
    schema_paths = {p for p in schema()["paths"] if p.startswith("/v3/backlinks/")}
    assert {e.path for e in ALL} == schema_paths  # every endpoint of the official schema
    assert len(BY_NAME) == len(ALL) == 24


def test_a_check_of_a_field_the_request_lacks_is_refused() -> None:
    spec = BY_NAME["summary"]
    with pytest.raises(TypeError, match="offsett"):
        dataclasses.replace(spec, checks={**spec.checks, "offsett": target})


@pytest.mark.parametrize(
    ("raw", "key", "targets"),
    [
        (
            "a.com,https://www.B.com/",
            "a.com,https://www.b.com/",
            {"1": "a.com", "2": "https://www.b.com/"},
        ),
        (
            {"1": "http://planet.postgresql.org/", "2": "http://gborg.postgresql.org/"},
            "http://planet.postgresql.org/,http://gborg.postgresql.org/",
            {"1": "http://planet.postgresql.org/", "2": "http://gborg.postgresql.org/"},
        ),
        (["a.com", "c.org"], "a.com,c.org", {"1": "a.com", "2": "c.org"}),
        ({"1": "x.com"}, "x.com", {"1": "x.com"}),
    ],
)
def test_an_intersection_query_is_one_unit(raw: object, key: str, targets: dict[str, str]) -> None:
    assert target_set(raw) == (key, {"targets": targets})


def test_units_refuse_what_they_cannot_send() -> None:
    with pytest.raises(InvalidTarget):
        target_set("a.com,not a target")
    with pytest.raises(InvalidTarget):
        target_set(",")
    assert bulk_target("WWW.A.com") == ("a.com", {"targets": ["a.com"]})
    assert no_unit(None) == ("", {})
    with pytest.raises(ValidationError):
        no_unit("a.com")


def test_keys_alone_are_the_keys_of_the_units() -> None:
    raws = ["a.com", "WWW.A.com", "https://b.com/", "https://B.com/x?y=1", "bücher.de", "", "a b"]
    batches = ([*raws, 5, "a.com\nb.com"], ["a.com", "b.org"], ["a.com\nb.com", "c.com"], [])
    for spec in (s for s in ENDPOINTS if s.keys is not None):
        for batch in batches:
            expected: list[object] = []
            for raw in batch:
                try:
                    expected.append(spec.unit(raw)[0])
                except InvalidTarget as exc:
                    expected.append((exc.field, exc.rule))
            keys = spec.keys_of(batch)
            assert [
                (k.field, k.rule) if isinstance(k, InvalidTarget) else k for k in keys
            ] == expected


def test_dates_are_checked_before_sending() -> None:
    rule = day(today() - timedelta(days=10))
    rule("date_from", today().isoformat())
    for bad, words in [
        ("2026/01/01", "yyyy-mm-dd"),
        ("2026-02-30", "yyyy-mm-dd"),
        ((today() - timedelta(days=11)).isoformat(), "before"),
        ((today() + timedelta(days=1)).isoformat(), "after"),
    ]:
        with pytest.raises(ValidationError, match=words):
            rule("date_from", bad)
    history: Endpoint = BY_NAME["history"]
    with pytest.raises(ValidationError, match="2019-01-01"):
        history.check_task({"target": "a.com", "date_from": "2018-12-31"})


def test_request_limits_come_from_the_request_type() -> None:
    bulk = BY_NAME["bulk_ranks"]
    with pytest.raises(ValidationError, match="at most 1000"):
        bulk.check_task({"targets": [f"t{i}.com" for i in range(1001)]})
    with pytest.raises(ValidationError, match="targets"):
        bulk.check_task({"targets": ["a.com", "not a target"]})
    backlinks = BY_NAME["backlinks"]
    with pytest.raises(ValidationError, match="from 0 to 20000"):
        backlinks.check_task({"target": "a.com", "offset": 20_001})
    with pytest.raises(ValidationError, match="custom_mode"):
        backlinks.check_task({"target": "a.com", "custom_mode": {"field": "nope", "value": 1}})
    intersection = BY_NAME["domain_intersection"]
    many = {str(i): f"t{i}.com" for i in range(21)}
    with pytest.raises(ValidationError, match="at most 20"):
        intersection.check_task({"targets": many})
