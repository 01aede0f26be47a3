"""Every async test runs on asyncio and on trio (anyio's pytest plugin)."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.redis_server"]  # a real Redis: redis_server, redis_url, redis_factory


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
