"""Fixtures: emulators on loopback sockets, each with an httpx client (sync tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dfs_async.emulator import EmulatorConfig, EmulatorHandle

from .helpers import Api, ApiFactory


@pytest.fixture
def api_factory(dfs_emulator_factory: Callable[..., EmulatorHandle]) -> Iterator[ApiFactory]:
    apis: list[Api] = []

    def make(config: EmulatorConfig | None = None, **fields: Any) -> Api:
        api = Api(dfs_emulator_factory(config, **fields))
        apis.append(api)
        return api

    yield make
    for api in apis:
        api.http.close()


@pytest.fixture
def api(api_factory: ApiFactory) -> Api:
    """An emulator with pinned sizes (site.com 2500 pages, mid.com 900, ...), and a client."""
    return api_factory(
        target_sizes={"site.com": 2500, "mid.com": 900, "tiny.com": 3, "empty.com": 0}
    )
