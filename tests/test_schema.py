"""Every spec's request and item Structs against the official OpenAPI schema.

The request Struct is the one statement of an endpoint's fields in this project; this test
holds it to an independent source, `shared/dataforseo/openapi-backlinks.yaml` (vendored in
tests/data): every field of the schema is present, no field is invented, and the types agree.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from dfs_async.endpoints import ENDPOINTS, Endpoint
from dfs_async.models.fields import fields_of
from dfs_async.plan import Single

SCHEMA_FILE = Path(__file__).parent / "data" / "dataforseo" / "openapi-backlinks.yaml"

# The schema's type of each of our field kinds ("time" is a string in the API's format).
TYPES = {
    "int": {"integer"},
    "float": {"number"},
    "bool": {"boolean"},
    "str": {"string"},
    "time": {"string"},
    "map": {"object"},
    "list": {"array"},
    "object": {"object", "array", None},
}


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_FILE.read_text())  # type: ignore[no-any-return]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref`, a one-element `oneOf` and `allOf` (merged) to an object's schema."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return resolve(spec()["components"]["schemas"][name])
    if "oneOf" in node and len(node["oneOf"]) == 1:
        return resolve(node["oneOf"][0])
    if "allOf" in node:
        merged: dict[str, Any] = {"properties": {}}
        for part in node["allOf"]:
            merged["properties"].update(resolve(part).get("properties", {}))
        return merged
    return node


def request_schema(endpoint: Endpoint) -> dict[str, Any]:
    """The schema's request of the endpoint, with its one known quirk mended (backlinks'
    `custom_mode`, see tests/test_models_schema.py)."""
    from tests.test_models_schema import request_schema as mended

    return mended(endpoint.path)


def item_schema(endpoint: Endpoint) -> dict[str, Any]:
    operation = spec()["paths"][endpoint.path][endpoint.method.lower()]
    response = resolve(operation["responses"]["200"]["content"]["application/json"]["schema"])
    task = resolve(response["properties"]["tasks"]["items"])
    result = resolve(task["properties"]["result"]["items"])
    if type(endpoint.paging) is Single:  # the result itself is the record
        return result
    return resolve(result["properties"]["items"]["items"])


def compare(struct: type[msgspec.Struct], schema: dict[str, Any]) -> list[str]:
    """What differs between a Struct and an object schema (empty: they agree)."""
    properties = schema["properties"]
    ours = {f.name: f for f in fields_of(struct)}
    problems = [f"{name}: in the schema, not in {struct.__name__}" for name in properties]
    problems = [p for p in problems if p.split(":")[0] not in ours]
    problems += [f"{name}: not in the schema" for name in ours if name not in properties]
    for name, info in ours.items():
        prop = properties.get(name)
        if prop is None:
            continue
        theirs = resolve(prop).get("type", prop.get("type"))
        if theirs not in TYPES[info.kind]:
            problems.append(f"{name}: {info.kind} here, {theirs} in the schema")
    return problems


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_the_request_struct_is_the_schemas_request(endpoint: Endpoint) -> None:
    assert compare(endpoint.request, request_schema(endpoint)) == []


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_the_item_struct_is_the_schemas_item(endpoint: Endpoint) -> None:
    assert compare(endpoint.item, item_schema(endpoint)) == []


def test_the_comparison_has_teeth() -> None:
    """A missing field, an invented one and a wrong type are each found."""

    class Wrong(msgspec.Struct):
        target: int
        invented: str | None = None

    endpoint = ENDPOINTS[0]
    problems = compare(Wrong, request_schema(endpoint))
    assert "target: int here, string in the schema" in problems
    assert "invented: not in the schema" in problems
    assert "limit: in the schema, not in Wrong" in problems
