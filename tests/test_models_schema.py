"""Every request, item and result Struct of `dfs_async.models` against the official schema.

`test_schema.py` holds the endpoint specs to the schema; this test holds every model, whether a
spec uses it yet or not: each (path, request Struct, record Struct) triple, each result Struct,
and, recursively, every nested Struct (`info`, `meta`, `page_summary`, `indirect_link_path`,
the intersection maps...) against the object the schema puts there. Beyond the field names and
types (`compare`), the rules of the project's models: the schema's field order, every record
field optional and nullable, a request field required exactly when the schema says so, and the
documented defaults and maxima carried in `Meta`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import msgspec
import pytest

from dfs_async.models import (
    Anchor,
    AnchorsRequest,
    AnchorsResult,
    Backlink,
    BacklinksRequest,
    BacklinksResult,
    BulkBacklinks,
    BulkBacklinksRequest,
    BulkBacklinksResult,
    BulkNewLostBacklinks,
    BulkNewLostBacklinksRequest,
    BulkNewLostBacklinksResult,
    BulkNewLostReferringDomains,
    BulkNewLostReferringDomainsRequest,
    BulkNewLostReferringDomainsResult,
    BulkPagesSummaryRequest,
    BulkPagesSummaryResult,
    BulkPageSummary,
    BulkRank,
    BulkRanksRequest,
    BulkRanksResult,
    BulkReferringDomains,
    BulkReferringDomainsRequest,
    BulkReferringDomainsResult,
    BulkSpamScore,
    BulkSpamScoreRequest,
    BulkSpamScoreResult,
    Competitor,
    CompetitorsRequest,
    CompetitorsResult,
    DomainIntersection,
    DomainIntersectionRequest,
    DomainIntersectionResult,
    DomainPage,
    DomainPagesRequest,
    DomainPagesResult,
    DomainPagesSummaryRequest,
    DomainPagesSummaryResult,
    DomainPageSummary,
    ErroredTask,
    ErrorsRequest,
    HistoryRequest,
    HistoryResult,
    HistorySnapshot,
    IdListRequest,
    ListedTask,
    PageIntersection,
    PageIntersectionRequest,
    PageIntersectionResult,
    ReferringDomain,
    ReferringDomainsRequest,
    ReferringDomainsResult,
    ReferringNetwork,
    ReferringNetworksRequest,
    ReferringNetworksResult,
    Summary,
    SummaryRequest,
    TimeseriesNewLostSummary,
    TimeseriesNewLostSummaryRequest,
    TimeseriesNewLostSummaryResult,
    TimeseriesSummary,
    TimeseriesSummaryRequest,
    TimeseriesSummaryResult,
)
from dfs_async.models.fields import fields_of
from tests.test_schema import compare, resolve, spec

Struct = type[msgspec.Struct]
B = "/v3/backlinks/"

# (path, request Struct, the record: the item of `items`, or the result when it has none)
TRIPLES: list[tuple[str, Struct, Struct]] = [
    (B + "summary/live", SummaryRequest, Summary),
    (B + "history/live", HistoryRequest, HistorySnapshot),
    (B + "backlinks/live", BacklinksRequest, Backlink),
    (B + "anchors/live", AnchorsRequest, Anchor),
    (B + "domain_pages/live", DomainPagesRequest, DomainPage),
    (B + "domain_pages_summary/live", DomainPagesSummaryRequest, DomainPageSummary),
    (B + "referring_domains/live", ReferringDomainsRequest, ReferringDomain),
    (B + "referring_networks/live", ReferringNetworksRequest, ReferringNetwork),
    (B + "competitors/live", CompetitorsRequest, Competitor),
    (B + "domain_intersection/live", DomainIntersectionRequest, DomainIntersection),
    (B + "page_intersection/live", PageIntersectionRequest, PageIntersection),
    (B + "timeseries_summary/live", TimeseriesSummaryRequest, TimeseriesSummary),
    (
        B + "timeseries_new_lost_summary/live",
        TimeseriesNewLostSummaryRequest,
        TimeseriesNewLostSummary,
    ),
    (B + "bulk_ranks/live", BulkRanksRequest, BulkRank),
    (B + "bulk_backlinks/live", BulkBacklinksRequest, BulkBacklinks),
    (B + "bulk_spam_score/live", BulkSpamScoreRequest, BulkSpamScore),
    (B + "bulk_referring_domains/live", BulkReferringDomainsRequest, BulkReferringDomains),
    (B + "bulk_new_lost_backlinks/live", BulkNewLostBacklinksRequest, BulkNewLostBacklinks),
    (
        B + "bulk_new_lost_referring_domains/live",
        BulkNewLostReferringDomainsRequest,
        BulkNewLostReferringDomains,
    ),
    (B + "bulk_pages_summary/live", BulkPagesSummaryRequest, BulkPageSummary),
    (B + "id_list", IdListRequest, ListedTask),
    (B + "errors", ErrorsRequest, ErroredTask),
]

# (path, result Struct) of the endpoints whose result holds `items`.
RESULTS: list[tuple[str, Any]] = [
    (B + "history/live", HistoryResult),
    (B + "backlinks/live", BacklinksResult),
    (B + "anchors/live", AnchorsResult),
    (B + "domain_pages/live", DomainPagesResult),
    (B + "domain_pages_summary/live", DomainPagesSummaryResult),
    (B + "referring_domains/live", ReferringDomainsResult),
    (B + "referring_networks/live", ReferringNetworksResult),
    (B + "competitors/live", CompetitorsResult),
    (B + "domain_intersection/live", DomainIntersectionResult),
    (B + "page_intersection/live", PageIntersectionResult),
    (B + "timeseries_summary/live", TimeseriesSummaryResult),
    (B + "timeseries_new_lost_summary/live", TimeseriesNewLostSummaryResult),
    (B + "bulk_ranks/live", BulkRanksResult),
    (B + "bulk_backlinks/live", BulkBacklinksResult),
    (B + "bulk_spam_score/live", BulkSpamScoreResult),
    (B + "bulk_referring_domains/live", BulkReferringDomainsResult),
    (B + "bulk_new_lost_backlinks/live", BulkNewLostBacklinksResult),
    (B + "bulk_new_lost_referring_domains/live", BulkNewLostReferringDomainsResult),
    (B + "bulk_pages_summary/live", BulkPagesSummaryResult),
]


def _name(value: Any) -> str:
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else getattr(value, "__name__", "")


# -- the schema's objects -----------------------------------------------------------------


def request_schema(path: str) -> dict[str, Any]:
    body = spec()["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = resolve(body["items"])
    if path == B + "backlinks/live":
        # A quirk of the published schema: it lists the two members of `custom_mode` ("field",
        # "value") as fields of the task itself, and types `custom_mode` as a map of objects.
        # The documentation's example is `"custom_mode": {"field": "domain", "value": 100}`.
        schema = copy.deepcopy(schema)
        members = {name: schema["properties"].pop(name) for name in ("field", "value")}
        schema["properties"]["custom_mode"] = _custom_mode(schema["properties"]["custom_mode"])
        schema["properties"]["custom_mode"]["properties"] = members
    return schema


def _custom_mode(prop: dict[str, Any]) -> dict[str, Any]:
    """`custom_mode` as the object it is (the schema: a map of objects)."""
    fixed = {k: v for k, v in prop.items() if k != "additionalProperties"}
    return {**fixed, "type": "object", "properties": {}}


def result_schema(path: str) -> dict[str, Any]:
    operation = spec()["paths"][path]["post"]
    response = resolve(operation["responses"]["200"]["content"]["application/json"]["schema"])
    task = resolve(response["properties"]["tasks"]["items"])
    result = resolve(task["properties"]["result"]["items"])
    if path == B + "backlinks/live":  # the result echoes `custom_mode`: the same quirk
        result = copy.deepcopy(result)
        members = request_schema(path)["properties"]["custom_mode"]["properties"]
        result["properties"]["custom_mode"] = _custom_mode(result["properties"]["custom_mode"])
        result["properties"]["custom_mode"]["properties"] = {
            name: {"type": prop["type"], "nullable": True} for name, prop in members.items()
        }
    return result


def record_schema(path: str) -> dict[str, Any]:
    result = result_schema(path)
    if "items" not in result["properties"]:
        return result  # the result object is the record
    return resolve(result["properties"]["items"]["items"])


# -- walking a Struct and its schema together ---------------------------------------------


def _unwrap(t: msgspec.inspect.Type) -> msgspec.inspect.Type:
    """The type under `X | None` and `Annotated[X, Meta(...)]`."""
    while True:
        if isinstance(t, msgspec.inspect.UnionType):
            rest = [x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)]
            if len(rest) != 1:
                return t
            t = rest[0]
        elif isinstance(t, msgspec.inspect.Metadata):
            t = t.type
        else:
            return t


def nested(struct: Struct, schema: dict[str, Any]) -> list[tuple[str, Struct, dict[str, Any]]]:
    """The Structs inside a Struct's fields, each with the schema of the object it stands for:
    `X`, `list[X]`, `dict[str, X]`, `dict[str, list[X]]` against the property, its `items`,
    its `additionalProperties`, their `items`."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    found = []
    for field in info.fields:
        node: Any = schema["properties"].get(field.encode_name)
        t = _unwrap(field.type)
        while node is not None and not isinstance(t, msgspec.inspect.StructType):
            node = resolve(node)
            if isinstance(t, msgspec.inspect.ListType):
                t, node = _unwrap(t.item_type), node.get("items")
            elif isinstance(t, msgspec.inspect.DictType):
                t, node = _unwrap(t.value_type), node.get("additionalProperties")
            else:
                node = None
        if node is not None and isinstance(t, msgspec.inspect.StructType):
            found.append((field.encode_name, t.cls, resolve(node)))
    return found


def compare_deep(struct: Struct, schema: dict[str, Any], where: str = "") -> list[str]:
    """`compare`, then the same for every nested Struct against its object in the schema."""
    problems = [where + p for p in compare(struct, schema)]
    for name, inner, inner_schema in nested(struct, schema):
        if "properties" not in inner_schema:
            problems.append(f"{where}{name}: a Struct here, an object of no fields in the schema")
            continue
        problems += compare_deep(inner, inner_schema, f"{where}{name}.")
    return problems


def every_struct(struct: Struct, schema: dict[str, Any]) -> list[tuple[Struct, dict[str, Any]]]:
    """The Struct and every Struct nested in it, each with its schema."""
    out = [(struct, schema)]
    for _, inner, inner_schema in nested(struct, schema):
        out += every_struct(inner, inner_schema)
    return out


def _path_id(value: Any) -> str:
    return value.removeprefix(B) if isinstance(value, str) else _name(value)


# -- the comparisons ----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "request_struct", "record"), TRIPLES, ids=_path_id)
def test_the_request_struct_is_the_schemas_request(
    path: str, request_struct: Struct, record: Struct
) -> None:
    assert compare_deep(request_struct, request_schema(path)) == []


@pytest.mark.parametrize(("path", "request_struct", "record"), TRIPLES, ids=_path_id)
def test_the_record_struct_is_the_schemas_record(
    path: str, request_struct: Struct, record: Struct
) -> None:
    assert compare_deep(record, record_schema(path)) == []


@pytest.mark.parametrize(("path", "result"), RESULTS, ids=_path_id)
def test_the_result_struct_is_the_schemas_result(path: str, result: Any) -> None:
    assert compare_deep(result, result_schema(path)) == []


def test_every_post_endpoint_of_the_schema_has_its_models() -> None:
    posted = {p for p, ops in spec()["paths"].items() if "post" in ops}
    assert posted == {path for path, _, _ in TRIPLES}
    with_items = {p for p in posted if "items" in result_schema(p)["properties"]}
    assert with_items == {path for path, _ in RESULTS}


# -- the rules of the project's models ----------------------------------------------------


def _in_schema_order(struct: Struct, schema: dict[str, Any]) -> list[str]:
    ours = [f.name for f in fields_of(struct)]
    theirs = [name for name in schema["properties"] if name in ours]
    return [] if ours == theirs else [f"{struct.__name__}: {ours} != {theirs}"]


@pytest.mark.parametrize(("path", "request_struct", "record"), TRIPLES, ids=_path_id)
def test_the_fields_come_in_the_schemas_order(
    path: str, request_struct: Struct, record: Struct
) -> None:
    pairs = every_struct(request_struct, request_schema(path))
    pairs += every_struct(record, record_schema(path))
    assert [p for struct, schema in pairs for p in _in_schema_order(struct, schema)] == []


@pytest.mark.parametrize(("path", "request_struct", "record"), TRIPLES, ids=_path_id)
def test_every_record_field_is_optional_and_nullable(
    path: str, request_struct: Struct, record: Struct
) -> None:
    strict = [
        f"{struct.__name__}.{f.name}"
        for struct, _ in every_struct(record, record_schema(path))
        for f in fields_of(struct)
        if f.required or not f.nullable
    ]
    assert strict == []


@pytest.mark.parametrize(("path", "result"), RESULTS, ids=_path_id)
def test_every_result_field_is_optional_and_nullable(path: str, result: Any) -> None:
    assert [f.name for f in fields_of(result) if f.required or not f.nullable] == []


def _text(prop: dict[str, Any]) -> str:
    return " ".join(str(resolve(prop).get("description", prop.get("description", ""))).split())


def _schema_requires(prop: dict[str, Any]) -> bool:
    """Required: not nullable, or so described ("required field", not "required field if")."""
    return not prop.get("nullable") or re.search(r"required field(?! if)", _text(prop)) is not None


@pytest.mark.parametrize(("path", "request_struct", "record"), TRIPLES, ids=_path_id)
def test_a_request_field_is_required_when_the_schema_requires_it(
    path: str, request_struct: Struct, record: Struct
) -> None:
    properties = request_schema(path)["properties"]
    ours = {f.name for f in fields_of(request_struct) if f.required}
    theirs = {name for name, prop in properties.items() if _schema_requires(prop)}
    assert ours == theirs
    assert all(f.nullable for f in fields_of(request_struct) if not f.required)


def _documented(prop: dict[str, Any], word: str) -> str | None:
    found = re.search(rf"{word} value: \"?([\w.]+)", _text(prop))
    return found.group(1) if found else None


@pytest.mark.parametrize(("path", "request_struct", "record"), TRIPLES, ids=_path_id)
def test_the_documented_defaults_and_maxima_are_in_the_meta(
    path: str, request_struct: Struct, record: Struct
) -> None:
    properties = request_schema(path)["properties"]
    problems = []
    for f in fields_of(request_struct):
        prop = properties[f.name]
        ours = f.extra.get("default") if isinstance(f.extra, dict) else None
        shown = str(ours).lower() if isinstance(ours, bool) else ours
        theirs = _documented(prop, "default")
        if theirs == "today":
            theirs = None  # a date computed by the API, said in the description instead
        if (None if shown is None else str(shown)) != theirs:
            problems.append(f"{f.name}: default {shown!r} here, {theirs!r} in the schema")
        most = _documented(prop, "maximum")
        if f.kind == "int" and most is not None and most.isdigit() and f.le != int(most):
            problems.append(f"{f.name}: at most {f.le} here, {most} in the schema")
        if f.choices is not None and ours is not None and ours not in f.choices:
            problems.append(f"{f.name}: the default {ours!r} is not a choice")
    assert problems == []


class Info(msgspec.Struct):
    server: int | None = None
    invented: str | None = None


class Wrong(msgspec.Struct):
    info: list[Info | None] | None = None


def test_the_deep_comparison_has_teeth() -> None:
    """A nested Struct's missing, invented and mistyped fields are each found."""
    info = record_schema(B + "summary/live")["properties"]["info"]
    schema = {"properties": {"info": {"type": "array", "items": info}}}
    problems = compare_deep(Wrong, schema)
    assert "info.server: int here, string in the schema" in problems
    assert "info.invented: not in the schema" in problems
    assert "info.cms: in the schema, not in Info" in problems
