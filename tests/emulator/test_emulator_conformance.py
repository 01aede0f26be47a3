"""The emulator against what we did not write: the official schema, example and client."""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig, serving_emulator
from dfs_async.endpoints import ENDPOINTS, UTILITIES, Endpoint
from dfs_async.models import format_api_datetime
from tests.official import EXAMPLE_FILE, components, openapi, request_example

from .helpers import Api, ApiFactory


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: refs inlined, `nullable` as a null type, allOf merged, a
    one-element oneOf merged with what stands beside it (`meta`: the PageMeta reference and a
    `properties` of its own), and `additionalProperties: false` where the schema lists
    properties (a field name we invent fails). The one quirk: `data` echoes the posted task,
    so its values are any JSON. The schema read is never changed (it is cached)."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return to_json_schema(components()[node["$ref"].rsplit("/", 1)[1]])
    node = {k: v for k, v in node.items() if k not in ("description", "example", "format")}
    nullable = node.pop("nullable", False)
    listed = "properties" in node or "allOf" in node
    properties = {name: to_json_schema(v) for name, v in node.pop("properties", {}).items()}
    for part in node.pop("allOf", ()):
        properties.update(to_json_schema(part).get("properties", {}))
    out = {k: to_json_schema(v) for k, v in node.items() if k != "oneOf"}
    if len(node.get("oneOf", ())) == 1:
        inner = to_json_schema(node["oneOf"][0])
        listed = listed or "properties" in inner
        properties = {**inner.pop("properties", {}), **properties}
        out = {**inner, **{k: v for k, v in out.items() if k != "type"}}
    elif "oneOf" in node:
        out["oneOf"] = to_json_schema(node["oneOf"])
    if listed:
        if "data" in properties:
            properties["data"] = {"type": ["object", "null"]}
        out["properties"] = properties
        out.setdefault("additionalProperties", False)
    if nullable:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def validator(name: str) -> Any:
    """A validator of the named schema, the schema checked once (user_data's is large)."""
    converted = to_json_schema({"$ref": f"#/components/schemas/{name}"})
    cls = jsonschema.validators.validator_for(converted)
    cls.check_schema(converted)
    return cls(converted)


SUMMARY = "BacklinksDomainPagesSummaryLiveResponseInfo"


def valid(answer: dict[str, Any], name: str = SUMMARY) -> None:
    validator(name).validate(answer)


def test_the_converted_schema_has_teeth() -> None:
    answer = json.loads(EXAMPLE_FILE.read_text())
    valid(answer)
    item = answer["tasks"][0]["result"][0]["items"][0]
    for bad in ({"rank": "299"}, {"backlinks": 1.5}, {"invented": 1}, {"referring_links_tld": []}):
        broken = json.loads(json.dumps(answer))
        broken["tasks"][0]["result"][0]["items"][0] = {**item, **bad}
        with pytest.raises(jsonschema.ValidationError):
            valid(broken)


@pytest.mark.parametrize(
    "tasks",
    [
        [{"target": "forbes.com", "limit": 4, "order_by": ["backlinks,desc"]}],
        [{"target": "site.com", "limit": 1000, "internal_list_limit": 1000}],
        [{"target": "site.com", "backlinks_status_type": "lost", "rank_scale": "one_hundred"}],
        [{"target": "empty.com"}],
        [{"target": "site.com", "offset": 100000}],
        [{"target": "site.com", "limit": 0}],
        [{"target": "site.com", "nope": 1}],
        [{"target": "site.com"}, {"target": "forbes.com"}],
        [],
    ],
)
def test_answers_match_the_official_schema(api: Api, tasks: list[dict[str, Any]]) -> None:
    valid(api.post(tasks).json())


def test_envelope_errors_match_the_official_schema(api_factory: ApiFactory) -> None:
    limited = api_factory(rate_limit=1)
    answers = [limited.post([{"target": "forbes.com"}]).json() for _ in range(2)]
    faulty = api_factory(faults=FaultConfig(envelope_50000=1.0))
    answers.append(faulty.post([{"target": "forbes.com"}]).json())
    api = api_factory()
    answers.append(api.post(b"{").json())
    answers.append(api.post([], auth=("x", "y")).json())
    answers.append(api.http.get("/v3/unknown").json())
    assert {a["status_code"] for a in answers} >= {20000, 40202, 50000, 40503, 40100, 40400}
    for answer in answers:
        valid(answer)


def test_user_data_and_available_filters_match_the_official_schema(api_factory: ApiFactory) -> None:
    for api in (api_factory(), api_factory(balance=10.0, daily_cost_cap=1.0)):
        api.post([{"target": "forbes.com"}])
        valid(api.http.get("/v3/appendix/user_data").json(), "AppendixUserDataResponseInfo")
        filters = api.http.get("/v3/backlinks/available_filters").json()
        valid(filters, "BacklinksAvailableFiltersResponseInfo")


def shape(value: Any) -> Any:
    """The JSON shape: keys, and the kind of each value (null fits any kind)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


def same_shape(ours: Any, theirs: Any, where: str = "") -> None:
    if "null" in (ours, theirs):
        return
    if isinstance(theirs, dict) and ".referring_links_" in where:  # a map: key -> count
        assert isinstance(ours, dict) and set(ours.values()) == set(theirs.values()), where
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), where
        for key in theirs:
            same_shape(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), where
        if theirs and ours:
            same_shape(ours[0], theirs[0], f"{where}[]")
    else:
        assert ours == theirs, where


def test_the_documented_example_is_served_in_the_same_shape(api_factory: ApiFactory) -> None:
    example = json.loads(EXAMPLE_FILE.read_text())
    posted = {k: v for k, v in example["tasks"][0]["data"].items()
              if k not in ("api", "function")}  # fmt: skip
    api = api_factory(EmulatorConfig(target_sizes={"forbes.com": 30_000}))
    ours = api.post([posted]).json()
    same_shape(shape(ours), shape(example))
    assert ours["tasks"][0]["data"] == example["tasks"][0]["data"]
    assert ours["tasks"][0]["path"] == example["tasks"][0]["path"]
    assert ours["cost"] == example["cost"]


def test_the_official_client_accepts_the_answers(api: Api) -> None:
    from dataforseo_client import configuration
    from dataforseo_client.api.appendix_api import AppendixApi
    from dataforseo_client.api.backlinks_api import BacklinksApi
    from dataforseo_client.api_client import ApiClient
    from dataforseo_client.models.backlinks_domain_pages_summary_live_request_info import (
        BacklinksDomainPagesSummaryLiveRequestInfo as Request,
    )

    config = configuration.Configuration(
        host=api.handle.base_url, username=api.handle.login, password=api.handle.password
    )
    with ApiClient(config) as client:
        backlinks = BacklinksApi(client)
        seed = Request(target="forbes.com", limit=4, order_by=["backlinks,desc"])
        answer = backlinks.domain_pages_summary_live([seed])
        assert answer.status_code == 20000 and answer.tasks
        items = answer.tasks[0].result[0].items  # type: ignore[index]
        assert items and len(items) == 4 and items[0].type == "backlinks_page_summary"
        assert answer.tasks[0].data["target"] == "forbes.com"  # type: ignore[index]
        full = backlinks.domain_pages_summary_live(
            [Request(target="site.com", limit=1000, internal_list_limit=1000)]
        )
        assert full.tasks[0].result[0].items_count == 1000  # type: ignore[index]
        for bad in (Request(target="site.com", limit=5000), Request(target="empty.com")):
            outcome = backlinks.domain_pages_summary_live([bad])
            assert outcome.tasks and outcome.tasks[0].status_code in (20000, 40501)
        filters = backlinks.backlinks_available_filters()
        assert filters.tasks[0].result[0].domain_pages_summary  # type: ignore[index]
        user = AppendixApi(client).user_data()
        assert user.tasks[0].result[0].login == "emulator"  # type: ignore[index]
    assert api.app.counters.by_status[40501] == 1


# -- every endpoint through the official client ---------------------------------------------

# The documentation's example targets beyond the request examples: the intersections'
# `targets` and `exclude_targets` (in their fields' descriptions), home pages.
DOCUMENTED_INTERSECTION = {
    "targets": {"1": "http://planet.postgresql.org/", "2": "http://gborg.postgresql.org/"},
    "exclude_targets": [
        "bbc.com",
        "https://www.apple.com/iphone/*",
        "https://dataforseo.com/apis/*",
    ],
}
HOME_PAGES = {"targets": {"1": "https://forbes.com/", "2": "https://nytimes.com/"}}
# The filters and sorting rules of the fields' descriptions: a target's field by its number
# (one documented name, `1.acnhor`, is a typo of `1.anchor`), a nested object's field.
DOCUMENTED_SORTING = {
    "domain_intersection": {
        "filters": [["1.first_seen", ">", "2017-10-23 11:31:45 +00:00"], "and",
                    [["2.target", "like", "%dataforseo.com%"], "or",
                     ["1.referring_domains", ">", "10"]]],
        "order_by": ["1.backlinks,desc", "2.target,asc"],
    },
    "page_intersection": {
        "filters": [["1.first_seen", ">", "2017-10-23 11:31:45 +00:00"], "and",
                    [["1.anchor", "like", "%seo%"], "or", ["1.text_pre", "not_like", "%seo%"]]],
        "order_by": ["2.page_from_rank,asc", "1.rank,desc"],
    },
    "domain_pages": {
        "filters": [["meta.external_links_count", ">", "2"], "and",
                    ["page_summary.backlinks", ">", "10"]],
        "order_by": ["page_summary.backlinks,desc", "page_summary.rank,asc"],
    },
}  # fmt: skip
DOMAIN_ONLY = frozenset({"domain_pages", "history", "timeseries_summary",
                         "timeseries_new_lost_summary"})  # fmt: skip


def dated(task: dict[str, Any]) -> dict[str, Any]:
    """The example with its dates moved into what the API takes today (the documented ones
    age: `bulk_new_lost_*` take at most a year back)."""
    now = datetime.now(UTC)
    moved = {
        "date_from": (now - timedelta(days=60)).date().isoformat(),
        "date_to": now.date().isoformat(),
        "datetime_from": format_api_datetime(now - timedelta(days=2)),
        "datetime_to": format_api_datetime(now),
    }
    return {k: moved.get(k, v) for k, v in task.items()}


def official_requests() -> list[Any]:
    """(endpoint, task or None for a GET, the task status expected) for every endpoint: the
    documented request example, then the documented targets and a page where one is taken."""
    cases = []
    for endpoint in (*ENDPOINTS, *UTILITIES):
        example = request_example(endpoint.path)
        cases.append(pytest.param(endpoint, example and dated(example), 20000, id=endpoint.name))
        if endpoint.name.endswith("_intersection"):
            for name, targets in (("documented", DOCUMENTED_INTERSECTION), ("home", HOME_PAGES)):
                task = {**dated(example or {}), **targets}
                cases.append(pytest.param(endpoint, task, 20000, id=f"{endpoint.name}-{name}"))
        if endpoint.name in DOCUMENTED_SORTING:
            task = {**dated(example or {}), **DOCUMENTED_SORTING[endpoint.name]}
            cases.append(pytest.param(endpoint, task, 20000, id=f"{endpoint.name}-sorting"))
        if example and "target" in example:
            page = {**dated(example), "target": "https://forbes.com/"}
            expected = 40501 if endpoint.name in DOMAIN_ONLY else 20000
            cases.append(pytest.param(endpoint, page, expected, id=f"{endpoint.name}-page"))
    return cases


@functools.cache
def official_model(name: str) -> Any:
    """A class of the official client by its schema name (`BacklinksSummaryLiveRequestInfo`)."""
    module = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return getattr(importlib.import_module(f"dataforseo_client.models.{module}"), name)


def operation(endpoint: Endpoint) -> dict[str, Any]:
    found: dict[str, Any] = openapi()["paths"][endpoint.path][endpoint.method.lower()]
    return found


def ref_name(node: dict[str, Any]) -> str:
    return str(node["oneOf"][0]["$ref"].rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def official_emulator() -> Iterator[EmulatorHandle]:
    with serving_emulator(EmulatorConfig(seed=22, max_pages=400)) as handle:
        yield handle


@pytest.fixture(scope="module")
def official_client(official_emulator: EmulatorHandle) -> Iterator[Any]:
    from dataforseo_client import configuration
    from dataforseo_client.api.backlinks_api import BacklinksApi
    from dataforseo_client.api_client import ApiClient

    config = configuration.Configuration(
        host=official_emulator.base_url,
        username=official_emulator.login,
        password=official_emulator.password,
    )
    with ApiClient(config) as client:
        yield BacklinksApi(client)


@pytest.mark.parametrize(("endpoint", "task", "status"), official_requests())
def test_every_endpoint_through_the_official_client(
    official_client: Any, endpoint: Endpoint, task: dict[str, Any] | None, status: int
) -> None:
    """The official client serialises its own request (its request model, from the task),
    decodes the answer with its own models, and the raw answer validates against the
    official schema with no field name it does not list."""
    op = operation(endpoint)
    method = getattr(official_client, re.sub(r"(?<!^)(?=[A-Z])", "_", op["operationId"]).lower()
                     + "_with_http_info")  # fmt: skip
    if task is None:
        response = method()
    else:
        request = ref_name(op["requestBody"]["content"]["application/json"]["schema"]["items"])
        response = method([official_model(request).from_dict(task)])
    answer = json.loads(response.raw_data)
    valid(answer, ref_name(op["responses"]["200"]["content"]["application/json"]["schema"]))
    assert response.data.status_code == 20000  # the official client's own decoding
    assert answer["tasks"][0]["status_code"] == status, answer["tasks"][0]["status_message"]
    if task is not None:  # the echo: as sent (the official client sends its unset fields as null)
        echoed = {k: v for k, v in answer["tasks"][0]["data"].items() if v is not None}
        assert echoed == {"api": "backlinks", "function": endpoint.name, **task}


def test_every_endpoint_is_sent_through_the_official_client() -> None:
    names = {p.values[0].name for p in official_requests()}
    assert names == {e.name for e in (*ENDPOINTS, *UTILITIES)} and len(names) == 24
