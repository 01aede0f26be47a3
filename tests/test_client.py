"""The client's configuration and lifecycle (fast: in-process transports only)."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from dfs_async import ConfigurationError, DataForSEO, Page, RetryPolicy
from dfs_async.client import PRODUCTION_URL, SANDBOX_URL

SECRET = "pa55-w0rd-x"


def ok_envelope(request: httpx.Request) -> httpx.Response:
    (task,) = msgspec.json.decode(request.content)
    item = {"type": "backlinks_page_summary", "url": f"https://{task['target']}/"}
    result = {"target": task["target"], "total_count": 1, "items_count": 1, "items": [item]}
    body = {
        "status_code": 20000,
        "cost": 0.02003,
        "tasks": [{"status_code": 20000, "cost": 0.02003, "result": [result]}],
    }
    return httpx.Response(200, content=msgspec.json.encode(body))


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATAFORSEO_LOGIN", "DATAFORSEO_PASSWORD", "DATAFORSEO_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_credentials_and_base_url_default_to_the_environment(
    monkeypatch: pytest.MonkeyPatch, no_env: None
) -> None:
    monkeypatch.setenv("DATAFORSEO_LOGIN", "env-login")
    monkeypatch.setenv("DATAFORSEO_PASSWORD", SECRET)
    dfs = DataForSEO()
    assert dfs.login == "env-login"
    assert dfs.base_url == PRODUCTION_URL
    monkeypatch.setenv("DATAFORSEO_BASE_URL", "http://127.0.0.1:8080/")
    assert DataForSEO().base_url == "http://127.0.0.1:8080"
    assert DataForSEO(sandbox=True).base_url == SANDBOX_URL  # explicit beats environment
    assert DataForSEO(base_url="https://other.example").base_url == "https://other.example"


def test_missing_credentials_are_a_configuration_error(no_env: None) -> None:
    with pytest.raises(ConfigurationError, match="DATAFORSEO_LOGIN"):
        DataForSEO()
    with pytest.raises(ConfigurationError, match="credentials"):
        DataForSEO("only-login")


def test_sandbox_selects_the_sandbox_host(no_env: None) -> None:
    assert DataForSEO("a", "b", sandbox=True).base_url == "https://sandbox.dataforseo.com"
    with pytest.raises(ConfigurationError, match="not both"):
        DataForSEO("a", "b", sandbox=True, base_url="http://127.0.0.1:1")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 2.5}, "concurrency"),
        ({"rate": 0}, "rate"),
        ({"rate": float("inf")}, "rate"),
        ({"max_cost": -1}, "max_cost"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"timeout": 0}, "timeout"),
        ({"verify": False}, "verify"),
        ({"verify": "/no/such/bundle.pem"}, "CA bundle"),
        ({"base_url": "ftp://host"}, "base_url"),
        ({"base_url": "https://me:pw@host"}, "credentials"),
    ],
)
def test_bad_settings_are_refused_clearly(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        DataForSEO("a", "b", **options)


@pytest.mark.anyio
async def test_a_client_and_a_transport_do_not_mix() -> None:
    transport = httpx.MockTransport(ok_envelope)
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(ConfigurationError, match="not both"):
            DataForSEO("a", "b", http_client=http, transport=transport)


def test_the_password_never_shows(no_env: None) -> None:
    dfs = DataForSEO("me", SECRET)
    assert SECRET not in repr(dfs)
    assert SECRET not in str(vars(dfs))
    assert "me" in repr(dfs)


@pytest.mark.anyio
async def test_a_custom_transport_is_used() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok_envelope(request)

    transport = httpx.MockTransport(handler)
    options: dict[str, Any] = {"base_url": "http://api.test", "transport": transport}
    async with DataForSEO("me", SECRET, **options, account_limits=False) as dfs:
        page = await dfs.backlinks.domain_pages_summary("Example.COM", limit=1)
    assert page == Page(
        target="example.com", total_count=1, items=page.items, cost=0.02003, offset=0, limit=1
    )
    assert str(seen[0].url) == "http://api.test/v3/backlinks/domain_pages_summary/live"
    assert msgspec.json.decode(seen[0].content) == [{"limit": 1, "target": "example.com"}]
    assert dfs.stats.requests == 1 and dfs.stats.cost == 0.02003


@pytest.mark.anyio
async def test_a_callers_http_client_is_used_and_left_open() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(ok_envelope))
    async with DataForSEO("me", SECRET, base_url="http://api.test", http_client=http) as dfs:
        page = await dfs.backlinks.domain_pages_summary("example.org")
        assert page.items[0].url == "https://example.org/"
    assert not http.is_closed
    await http.aclose()


@pytest.mark.anyio
async def test_the_client_must_be_entered() -> None:
    dfs = DataForSEO("me", SECRET, transport=httpx.MockTransport(ok_envelope))
    with pytest.raises(RuntimeError, match="async with"):
        await dfs.backlinks.domain_pages_summary("example.org")


@pytest.mark.anyio
async def test_the_callers_own_error_leaves_the_stream_unwrapped() -> None:
    """Not an ExceptionGroup, on trio either: the block's error comes out as it is."""
    transport = httpx.MockTransport(ok_envelope)
    policy = RetryPolicy(base=0.001, cap=0.001)
    async with DataForSEO("me", SECRET, transport=transport, retry_policy=policy) as dfs:
        with pytest.raises(KeyError, match="mine"):
            async with dfs.backlinks.domain_pages_summary.stream(["a.com", "b.com"]) as records:
                async for _ in records:
                    raise KeyError("mine")
        stats = dfs.stats
    assert stats.elapsed >= 0 and stats.elapsed == dfs.stats.elapsed  # frozen once closed
