"""Bad input to the library: refused before any request (the emulator's counters prove it),
each with an error naming the field and the rule; bad servers answered with bounded retries.

Settings (missing credentials, a bad base URL, verify=False, ...) are refused when the client
is built: tests/test_client.py::test_bad_settings_are_refused_clearly and
::test_missing_credentials_are_a_configuration_error.
"""

from __future__ import annotations

from typing import Any

import pytest

from dfs_async import (
    AccountError,
    DataForSEO,
    Failure,
    Record,
    RetryPolicy,
    TaskFailed,
    UnknownField,
    Unreachable,
    ValidationError,
)
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, running_emulator

from .servers import HtmlSite, closed_port, serving

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_attempts=3, base=0.001, cap=0.01)
NINE = [["backlinks", ">", i] if i % 2 == 0 else "and" for i in range(17)]  # 9 conditions

FIELD_CASES = [
    pytest.param({"limit": 0}, ValidationError, "limit: must be from 1 to 1000", id="limit-0"),
    pytest.param(
        {"limit": 1001}, ValidationError, "limit: must be from 1 to 1000", id="limit-1001"
    ),
    pytest.param({"offset": -1}, ValidationError, "offset: must be at least 0", id="offset-neg"),
    pytest.param({"filters": NINE}, ValidationError, "at most 8", id="filters-9-conditions"),
    pytest.param(
        {"filters": [["url", "~~", "x"]]}, ValidationError, "operator", id="filters-unknown-op"
    ),
    pytest.param(
        {"filters": [["colour", "=", "red"]]}, ValidationError, "colour", id="filters-unknown-field"
    ),
    pytest.param({"filters": "[[broken"}, ValidationError, "filters", id="filters-malformed"),
    pytest.param({"filters": [["url", "like"]]}, ValidationError, "filters", id="filters-no-value"),
    pytest.param(
        {"order_by": ["rank,desc", "backlinks,desc", "url,asc", "first_seen,asc"]},
        ValidationError,
        "order_by",
        id="order-by-4-rules",
    ),
    pytest.param({"order_by": ["rank,up"]}, ValidationError, "order_by", id="order-by-direction"),
    pytest.param({"tag": "x" * 256}, ValidationError, "tag: at most 255", id="tag-256"),
    pytest.param({"colour": "red"}, UnknownField, "colour", id="unknown-field"),
]


def _client(emu: EmulatorHandle, **options: Any) -> DataForSEO:
    options.setdefault("retry_policy", FAST)
    return DataForSEO(emu.login, emu.password, base_url=emu.base_url, **options)


@pytest.mark.parametrize(("fields", "error", "message"), FIELD_CASES)
async def test_a_bad_request_field_is_refused_before_sending(
    dfs_emulator: EmulatorHandle, fields: dict[str, Any], error: type[Exception], message: str
) -> None:
    async with _client(dfs_emulator) as dfs:
        call = dfs.backlinks.domain_pages_summary
        with pytest.raises(error, match=message) as raised:
            call.stream(["forbes.com"], **fields)
        assert str(raised.value).startswith(f"{raised.value.field}: ")  # type: ignore[attr-defined]
        with pytest.raises(error, match=message):
            await call("forbes.com", **fields)
    assert dfs_emulator.app.counters.requests == 0


async def test_targets_are_normalised_or_failed_alone_without_a_request() -> None:
    written = {
        "https://www.Forbes.com/": "https://www.forbes.com/",  # the home page: a page
        "WWW.Forbes.com.": "forbes.com",  # the domain
        "  WWW.Example.ORG  ": "example.org",  # white space around, www.
        "bücher.de": "xn--bcher-kva.de",  # IDN: punycode
        "HTTPS://Shop.Example.com/Blog/Post?id=1": "https://shop.example.com/Blog/Post?id=1",
    }
    invalid = {
        "a b.com": "white space",
        "example.com/blog": "absolute URL",
        "ftp://example.com/file": "http:// and https://",
        "http://127.0.0.1/": "IP address",
        "https://user:pw@example.com/": "user or password",
    }
    async with running_emulator(EmulatorConfig(seed=4, max_pages=30)) as emu:
        async with _client(emu) as dfs:
            stream = dfs.backlinks.domain_pages_summary.stream([*written, *invalid])
            async with stream as records:
                events = [e async for e in records.events()]
        served = {e.target for e in events if isinstance(e, Record)}
        assert served <= set(written.values())
        assert emu.app.counters.requests == len(written)  # one page each, none for the rest
    failures = {e.target: e for e in events if isinstance(e, Failure)}
    assert set(failures) == set(invalid)
    for raw, rule in invalid.items():
        assert failures[raw].status_code == 40501 and failures[raw].attempts == 0
        assert rule in failures[raw].status_message


async def test_wrong_credentials_stop_at_the_first_401(dfs_emulator: EmulatorHandle) -> None:
    emu = dfs_emulator
    async with DataForSEO(emu.login, "Wr0ng-pass", base_url=emu.base_url) as dfs:
        with pytest.raises(AccountError, match="40100") as stopped:
            stream = dfs.backlinks.domain_pages_summary.stream([f"t{i}.com" for i in range(200)])
            async with stream as records:
                async for _ in records:
                    pass
    assert stopped.value.status_code == 40100
    # the account's user_data lookup, before the first task, is refused: no task is sent
    assert (emu.app.counters.user_data, emu.app.counters.requests) == (1, 0)
    assert emu.app.counters.by_status == {401: 1, 40100: 1}


async def test_an_unreachable_base_url_stops_the_run_after_one_pages_attempts() -> None:
    """Nothing ever answered: the first page out of attempts stops everything (Unreachable),
    instead of each target failing after its own attempts."""
    url = closed_port()
    async with DataForSEO("me", "secret", base_url=url, retry_policy=FAST, rate=None) as dfs:
        call = dfs.backlinks.domain_pages_summary
        with pytest.raises(Unreachable, match="connection refused") as stopped:
            await call("forbes.com")
        assert stopped.value.base_url == url and url in str(stopped.value)
        assert dfs.stats.requests == FAST.max_attempts
        targets = [f"t{i}.com" for i in range(300)]
        with pytest.raises(Unreachable, match=r"cannot reach http://127\.0\.0\.1:"):
            async with call.stream(targets, limit=10) as records:
                assert [r async for r in records] == []
        # stopped when the first page ran out of attempts, long before every target had used
        # its own (a page in backoff frees its slot: more than 30 targets start, how many
        # depends on the machine's speed)
        assert FAST.max_attempts < dfs.stats.requests < FAST.max_attempts * len(targets) / 2
    assert records.failures == []  # stopped, not failed: a resume tries them all


async def test_network_errors_after_the_server_answered_fail_only_their_targets() -> None:
    """Once the server has answered, a network error is a page's transient failure: the
    target fails after its attempts and the run goes on (no Unreachable)."""
    serving = running_emulator(EmulatorConfig(seed=3))
    emu = await serving.__aenter__()
    running = True
    try:
        async with DataForSEO(
            emu.login, emu.password, base_url=emu.base_url, retry_policy=FAST
        ) as dfs:
            call = dfs.backlinks.domain_pages_summary
            assert (await call("forbes.com")).items  # the server answered once...
            running = False
            await serving.__aexit__(None, None, None)  # ...then went away: refused from now
            with pytest.raises(TaskFailed, match="connect: connection refused"):
                await call("forbes.com")
            async with call.stream(["a.com", "b.com"]) as records:
                assert [r async for r in records] == []
    finally:
        if running:
            await serving.__aexit__(None, None, None)
    assert [(f.status_code, f.attempts) for f in records.failures] == [(None, 3), (None, 3)]
    assert all(f.status_message == "connect: connection refused" for f in records.failures)


@pytest.mark.parametrize(("status", "message"), [(200, "undecodable"), (500, "HTTP 500")])
async def test_a_base_url_answering_html_fails_with_bounded_retries(
    status: int, message: str
) -> None:
    site = HtmlSite(status)
    with serving(site) as url:
        async with DataForSEO("me", "secret", base_url=url, retry_policy=FAST, rate=None) as dfs:
            with pytest.raises(TaskFailed, match=message) as failed:
                await dfs.backlinks.domain_pages_summary("forbes.com")
    assert failed.value.status_code == (None if status == 200 else 500)
    assert site.requests == FAST.max_attempts
