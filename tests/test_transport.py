"""The httpx side: pool sized to the concurrency, failures as values, no credentials leaked."""

from __future__ import annotations

import logging

import httpx
import pytest

from dfs_async.transport import Transport, make_client

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-pa55"


async def test_the_pool_holds_exactly_concurrency_connections() -> None:
    async with make_client(concurrency=7, timeout=5.0) as client:
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == 7
        assert pool._max_keepalive_connections == 7
        assert client.timeout.read == 5.0


async def test_post_sends_json_with_basic_auth_and_gzip() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"{}")

    client = make_client(concurrency=2, timeout=5.0, transport=httpx.MockTransport(handler))
    transport = Transport(
        client, base_url="http://api.test/", auth=httpx.BasicAuth("me", SECRET), owned=True
    )
    assert await transport.post("/v3/x", b"[]") == (200, b"{}", "")
    await transport.aclose()
    (request,) = seen
    assert str(request.url) == "http://api.test/v3/x"
    assert request.headers["authorization"].startswith("Basic ")
    assert "gzip" in request.headers["accept-encoding"]
    assert request.headers["content-type"] == "application/json"
    assert client.is_closed


async def test_network_errors_come_back_as_values_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    caplog.set_level(logging.DEBUG, logger="dfs_async")
    client = make_client(concurrency=1, timeout=5.0, transport=httpx.MockTransport(handler))
    transport = Transport(
        client, base_url="http://api.test", auth=httpx.BasicAuth("me", SECRET), owned=False
    )
    status, body, error = await transport.post("/v3/x", b"[]")
    assert (status, body) == (None, b"")
    assert error == "ConnectError: connection refused"
    assert SECRET not in caplog.text and "Basic" not in caplog.text
    assert "failed" in caplog.text
    assert not client.is_closed  # not ours to close
    await client.aclose()
