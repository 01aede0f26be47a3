"""The official material we check ourselves against (copies in tests/data/dataforseo): the
OpenAPI schema, its documented request examples and the targets its documentation shows."""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

OFFICIAL = Path(__file__).resolve().parent / "data" / "dataforseo"
SCHEMA_FILE = OFFICIAL / "openapi-backlinks.yaml"
EXAMPLE_FILE = OFFICIAL / "domain_pages_summary_live.response.json"

_TARGET_FIELDS = ("target", "targets", "exclude_targets")
_QUOTED_TARGET = re.compile(r'"([^"\s]+\.[^"\s]+)"')  # a quoted string with a dot in it


@functools.cache
def openapi() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SCHEMA_FILE.read_text())
    return spec


def components() -> dict[str, Any]:
    schemas: dict[str, Any] = openapi()["components"]["schemas"]
    return schemas


def request_example(path: str) -> dict[str, Any] | None:
    """The one task of the documented request example of a POST endpoint (None: none)."""
    body = openapi()["paths"][path].get("post", {}).get("requestBody")
    if body is None:
        return None
    task: dict[str, Any] = body["content"]["application/json"]["schema"]["example"][0]
    return task


@functools.cache
def example_targets() -> tuple[str, ...]:
    """Every target the documentation shows: in the request examples, in the official
    client's examples and in the examples of the target fields' descriptions (`{"1":
    "http://planet.postgresql.org/", ...}`)."""
    found: list[str] = []
    for path in openapi()["paths"]:
        task = request_example(path) or {}
        for name in _TARGET_FIELDS:
            value = task.get(name)
            if isinstance(value, str):
                found.append(value)
            elif isinstance(value, dict):
                found.extend(value.values())
            elif isinstance(value, list):
                found.extend(value)
    client_docs = resources.files("dataforseo_client") / "knowledge-base" / "backlinks_api.md"
    found.extend(_QUOTED_TARGET.findall(client_docs.read_text()))  # the official client's
    for name, schema in components().items():
        if name.endswith("RequestInfo"):
            for field in _TARGET_FIELDS:
                text = schema.get("properties", {}).get(field, {}).get("description", "")
                found.extend(_QUOTED_TARGET.findall(text.partition("example:")[2]))
    return tuple(dict.fromkeys(found))
