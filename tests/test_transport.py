"""The transports: pools sized to the concurrency, failures as typed values, no credentials
leaked."""

from __future__ import annotations

import base64
import logging
import ssl
from pathlib import Path

import httpx
import pytest

from dfs_async.transport import Answer, NetworkFailure, basic_auth_headers
from dfs_async.transport.aiohttp import AiohttpTransport
from dfs_async.transport.httpcore import HttpcoreTransport
from dfs_async.transport.httpx import HttpxTransport, make_client

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-pa55"


async def test_the_pool_holds_exactly_concurrency_connections() -> None:
    async with make_client(concurrency=7, timeout=5.0) as client:
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == 7
        assert pool._max_keepalive_connections == 7
        assert client.timeout.read == 5.0
    async with make_client(concurrency=30, timeout=5.0) as client:
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == 30
        assert pool._max_keepalive_connections == 20  # httpx's default keep-alive: cheaper


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_aiohttp_stack_sizes_aiohttps_pool_and_keeps_tls_checks(
    anyio_backend: str, tmp_path: Path
) -> None:
    import trustme

    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    headers = basic_auth_headers("me", SECRET)
    for verify in (True, str(bundle)):
        transport = AiohttpTransport(
            base_url="https://api.test", headers=headers, concurrency=7, timeout=5.0, verify=verify
        )
        session = transport._session
        assert session.connector is not None and session.connector.limit == 7
        assert session.timeout.total == 5.0 and session.timeout.connect == 5.0
        context = transport.ssl_context
        if verify is True:  # aiohttp's default context, which verifies
            assert context is True
        else:
            assert isinstance(context, ssl.SSLContext)
            assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
        assert SECRET not in repr(vars(transport)) and "bWU6" not in repr(vars(transport))
        await transport.aclose()
        assert transport.closed


async def test_post_sends_json_with_basic_auth_and_gzip() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"{}")

    headers = basic_auth_headers("me", SECRET)
    client = make_client(
        concurrency=2, timeout=5.0, transport=httpx.MockTransport(handler), headers=headers
    )
    transport = HttpxTransport(client, base_url="http://api.test/", headers=None, owned=True)
    assert await transport.send("POST", "/v3/x", b"[]") == Answer(200, b"{}")
    assert await transport.send("POST", "/v3/x", b"[]") == Answer(200, b"{}")
    await transport.aclose()
    first, second = seen
    assert str(first.url) == "http://api.test/v3/x"
    request = second
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"me:{SECRET}".encode()).decode()
    )
    for shown in (repr(headers), repr(client.headers), repr(vars(transport)), repr(request)):
        assert SECRET not in shown and "bWU6" not in shown  # base64 of "me:"
    assert "gzip" in request.headers["accept-encoding"]
    assert request.headers["content-type"] == "application/json"
    assert client.is_closed


async def test_network_errors_come_back_as_values_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="dfs_async")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))  # the caller's own
    transport = HttpxTransport(
        client, base_url="http://api.test", headers=basic_auth_headers("me", SECRET), owned=False
    )
    failure = await transport.send("POST", "/v3/x", b"[]")
    assert failure == NetworkFailure("connect", "connection refused")
    assert seen[0].headers["authorization"].startswith("Basic ")  # sent with the request
    assert SECRET not in caplog.text and "Basic" not in caplog.text
    assert "failed" in caplog.text
    assert not client.is_closed  # not ours to close
    await client.aclose()


@pytest.mark.anyio
async def test_an_unreachable_server_is_named_in_the_os_words() -> None:
    """Not aiohttp's "Cannot connect to host ... ssl:default" for a plain http:// URL."""
    import socket

    from dfs_async import DataForSEO, Unreachable

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    async with DataForSEO(login="a", password="b", base_url=url, max_attempts=1) as dfs:
        with pytest.raises(Unreachable) as caught:
            await dfs.backlinks.domain_pages_summary("forbes.com")
    assert str(caught.value) == f"cannot reach {url}: connection refused"
    assert caught.value.failure == NetworkFailure("connect", "connection refused")
    assert dfs.stats.requests == 1 and dfs.stats.answered == 0


async def test_each_stack_streams_the_same_records_from_the_emulator(anyio_backend: str) -> None:
    """`http="auto"` is aiohttp under asyncio and httpcore under trio; `http="httpcore"` and
    `http="httpx"` run anywhere; `http="aiohttp"` under trio is a configuration error."""
    from dfs_async import ConfigurationError, DataForSEO
    from dfs_async.emulator import EmulatorConfig, running_emulator

    targets = [f"s{i}.com" for i in range(6)]
    seen: dict[str, list[tuple[str, str | None]]] = {}
    async with running_emulator(EmulatorConfig(seed=5)) as emu:
        for http in ("auto", "httpcore", "httpx", "aiohttp"):
            dfs = DataForSEO(emu.login, emu.password, base_url=emu.base_url, rate=None, http=http)
            if http == "aiohttp" and anyio_backend == "trio":
                with pytest.raises(ConfigurationError, match="only on asyncio"):
                    await dfs.__aenter__()
                continue
            async with dfs:
                auto = "aiohttp" if anyio_backend == "asyncio" else "httpcore"
                kinds = {
                    "aiohttp": AiohttpTransport,
                    "httpcore": HttpcoreTransport,
                    "httpx": HttpxTransport,
                }
                transport = dfs.engine.transport
                assert type(transport) is kinds[auto if http == "auto" else http]
                async with dfs.backlinks.domain_pages_summary.stream(targets, limit=7) as rows:
                    seen[http] = sorted([(r.target, r.item.url) async for r in rows])
            assert transport.closed
    assert seen["auto"] and seen["auto"] == seen["httpx"] == seen["httpcore"]


def test_importing_the_library_loads_neither_httpx_nor_aiolimiter() -> None:
    """Imported only when a client runs on them (httpx and httpcore: trio or a caller's own
    client; aiolimiter: an asyncio pacer): `import dfs_async` stays small."""
    import subprocess
    import sys

    loaded = "{'httpx', 'httpcore', 'aiolimiter'} & set(sys.modules)"
    code = f"import sys, dfs_async; print(sorted({loaded}))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"
