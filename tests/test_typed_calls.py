"""The typed calls: generated from the specs, true to mypy and to what the runtime returns.

`scripts/generate_calls.py` writes `dfs_async/endpoints/signatures.py` and the typed classes
at the end of `dfs_async/client.py`; these tests fail when a spec changed and the generator
was not run, when mypy would not hold a user's program to the specs (tests/typed_samples),
and when a call's declared answer is not what the runtime returns.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest

from dfs_async import DataForSEO, Record
from dfs_async.client import Backlinks, EndpointCall
from dfs_async.emulator import EmulatorConfig, running_emulator
from dfs_async.endpoints import BY_NAME, ENDPOINTS, UTILITIES
from dfs_async.models import format_api_datetime

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "typed_samples"


@pytest.fixture(scope="module")
def generator() -> Iterator[types.ModuleType]:
    spec = importlib.util.spec_from_file_location(
        "generate_calls", ROOT / "scripts/generate_calls.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module


def test_the_generated_calls_are_what_the_specs_make(generator: types.ModuleType) -> None:
    stale = [str(path.relative_to(ROOT)) for path in generator.stale()]
    assert stale == [], "a spec changed: run python scripts/generate_calls.py"


def test_a_new_endpoint_leaves_them_stale(
    generator: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: one endpoint more (here: one less) changes both files."""
    monkeypatch.setattr(generator, "ENDPOINTS", ENDPOINTS[:-1])
    assert set(generator.stale()) == {generator.SIGNATURES, generator.CLIENT}


def test_every_endpoint_is_a_typed_call_of_its_spec() -> None:
    backlinks = DataForSEO("login", "password").backlinks
    assert isinstance(backlinks, Backlinks)
    assert set(vars(backlinks)) == set(BY_NAME)
    for name, endpoint in BY_NAME.items():
        call = getattr(backlinks, name)
        assert isinstance(call, EndpointCall) and type(call) is not EndpointCall
        assert call.endpoint is endpoint


def test_mypy_holds_a_program_to_the_specs(tmp_path: Path) -> None:
    """right.py passes mypy --strict; wrong.py fails exactly on the lines marked `# error:`."""
    wrong = SAMPLES / "wrong.py"
    expected = {
        (wrong.name, number, code)
        for number, line in enumerate(wrong.read_text().splitlines(), 1)
        for code in re.findall(r"# error: ([\w-]+)", line)
    }
    assert len(expected) >= 10
    mypy = [sys.executable, "-m", "mypy", "--strict", "--config-file=", "--no-error-summary"]
    checked = subprocess.run(
        [*mypy, "--cache-dir", str(tmp_path), str(SAMPLES / "right.py"), str(wrong)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    found = {
        (Path(path).name, int(number), code)
        for path, number, code in re.findall(
            r"^(.+?):(\d+): error: .*\[([\w-]+)\]$", checked.stdout, re.MULTILINE
        )
    }
    assert found == expected, checked.stdout + checked.stderr


# -- the declared answers are what the runtime returns --------------------------------------


def conforms(value: Any, declared: Any) -> bool:
    """Whether `value` is of the `declared` type: a class, a union, `list[X]`, or a generic
    Struct of items (`Page[X]`, `PagedResult[X]`, ...: each of its `items` an X)."""
    origin, args = get_origin(declared), get_args(declared)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if declared is type(None):
        return value is None
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if origin is not None:
        items = (value.items or ()) if isinstance(value, origin) else None
        return items is not None and all(conforms(item, args[0]) for item in items)
    return isinstance(value, declared)


UNITS = {"domain_intersection": "a.com,b.com", "page_intersection": "a.com,b.com"}  # intersect
NOW = datetime.now(UTC)
FIELDS: dict[str, dict[str, Any]] = {  # the API's range: at most 6 months back, until now
    "id_list": {
        "datetime_from": format_api_datetime(NOW - timedelta(days=1)),
        "datetime_to": format_api_datetime(NOW),
    },
}


@pytest.mark.anyio
async def test_each_call_answers_its_declared_type() -> None:
    """Against the emulator over a socket: every awaited call's answer is of the type the
    typed call declares (the paging kind's `answer_type`), and a stream's record items of the
    endpoint's item type."""
    config = EmulatorConfig(rate_limit=10**6, max_pages=30)  # a small corpus: fast answers
    async with running_emulator(config) as emu:
        client = DataForSEO(emu.login, emu.password, base_url=emu.base_url, rate=None)
        async with client as dfs:
            for endpoint in (*ENDPOINTS, *UTILITIES):
                call = getattr(dfs.backlinks, endpoint.name)
                unit = () if not endpoint.takes_units else (UNITS.get(endpoint.name, "alpha.com"),)
                answer = await call(*unit, **FIELDS.get(endpoint.name, {}))
                assert answer is not None, endpoint.name
                assert conforms(answer, endpoint.answer_type), (endpoint.name, answer)
                if endpoint.takes_units:
                    few = {"max_items": 3} if endpoint.paging.max_limit else {}
                    async with call.stream(unit, **few) as records:
                        events = [e async for e in records.events()]
                    items = [e.item for e in events if isinstance(e, Record)]
                    assert items and all(conforms(i, endpoint.item) for i in items), endpoint.name
