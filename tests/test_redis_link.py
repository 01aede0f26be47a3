"""The Redis link: URLs checked and their password never shown; a real server reached (or
refused in one line) at start, scripts, concurrent use, a server lost mid-run."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import anyio
import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from dfs_async.errors import ConfigurationError
from dfs_async.redis_link import FAILURES, RedisLink, RedisURL, parse_redis_url, redact
from tests.redis_server import COREDIS_LEAKS, RedisServer, _free_port

pytestmark = [pytest.mark.anyio, *COREDIS_LEAKS]

# --- URLs (no server) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://", RedisURL("redis", "localhost")),
        ("redis://cache.internal", RedisURL("redis", "cache.internal", 6379, 0)),
        ("redis://10.0.0.5:6380/3", RedisURL("redis", "10.0.0.5", 6380, 3)),
        ("rediss://cache:6390/", RedisURL("rediss", "cache", 6390, 0)),
        ("REDIS://[::1]:7000/2", RedisURL("redis", "::1", 7000, 2)),
        ("redis://:pw@h/1", RedisURL("redis", "h", 6379, 1, None, "pw")),
        ("redis://ann:p%40ss%2F@h", RedisURL("redis", "h", 6379, 0, "ann", "p@ss/")),
    ],
)
def test_a_url_is_parsed_with_its_defaults(url: str, expected: RedisURL) -> None:
    assert parse_redis_url(url) == expected


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://:secret@h:6379/0", "the scheme must be redis:// or rediss:// (TLS)"),
        (":secret@h:6379", "the scheme must be redis:// or rediss:// (TLS)"),
        ("redis://:sec@ret@h:port", "the port must be a number from 1 to 65535"),
        ("redis://:secret@h:port/0", "the port must be a number from 1 to 65535"),
        ("redis://:secret@h:70000/0", "the port must be a number from 1 to 65535"),
        ("redis://:secret@h:0/0", "the port must be a number from 1 to 65535"),
        ("redis://:secret@h:6379/cache", "the database must be a number (redis://HOST:PORT/0)"),
        ("redis://:secret@h:6379/-1", "the database must be a number (redis://HOST:PORT/0)"),
        ("redis://:secret@h/0?ssl=true", "takes no ?query or #fragment"),
        ("redis://secret@h/0", "a user but no password"),
        ("redis://:secret@[h/0", "not a URL (redis://HOST:PORT/DB)"),
    ],
)
def test_a_bad_url_is_one_line_without_its_password(url: str, rule: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_redis_url(url)
    message = str(caught.value)
    assert rule in message
    assert "secret" not in message and "sec" not in message
    assert "***@" in message
    assert "\n" not in message


@given(st.text(min_size=1, max_size=30), st.text(max_size=10))
def test_the_password_is_never_shown(password: str, user: str) -> None:
    url = f"rediss://{quote(user, safe='')}:{quote(password, safe='')}@host:6380/4"
    parsed = parse_redis_url(url)
    assert (parsed.username, parsed.password) == (user or None, password)
    assert str(parsed) == f"rediss://{user}:***@host:6380/4"
    assert repr(parsed) == f"RedisURL({str(parsed)!r})"
    assert redact(url) == "rediss://***@host:6380/4"
    assert repr(RedisLink(parsed)) == f"RedisLink({str(parsed)!r}, prefix='dfs-async:')"


def test_a_tls_context_that_does_not_verify_is_refused() -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    with pytest.raises(ConfigurationError, match="must check certificates"):
        RedisLink("rediss://h", ssl_context=context)


def test_coredis_prints_no_traceback_where_logging_is_not_set_up() -> None:
    code = (
        "import logging, dfs_async.redis_link\n"
        "try:\n    raise ConnectionError('lost')\n"
        "except ConnectionError:\n"
        "    logging.getLogger('coredis').exception('Connection attempt failed')\n"
        "logging.getLogger('other').error('shown')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "shown\n")


def test_keys_and_scan_patterns_carry_the_prefix() -> None:
    link = RedisLink("redis://h", prefix="app[1]:")
    assert link.key("cache", "abc") == "app[1]:cache:abc"
    assert link.pattern("cache", "") == r"app\[1\]:cache:*"


# --- a real server --------------------------------------------------------------------------


async def test_a_link_pings_runs_scripts_and_closes(redis_url: str) -> None:
    async with RedisLink(redis_url, prefix="t:") as link:
        assert await link.client.ping()
        incr = link.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        assert await incr([link.key("n")], [2]) == 2
        await link.client.script_flush()  # the server forgot it: loaded again by itself
        assert await incr([link.key("n")], [3]) == 5
        assert await link.client.get("t:n") == b"5"
    with pytest.raises(RuntimeError, match="not open"):
        _ = link.client


async def test_many_tasks_share_the_pool(redis_url: str) -> None:
    async with RedisLink(redis_url, max_connections=4) as link:
        incr = link.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")

        async def worker() -> None:
            for _ in range(25):
                await incr([link.key("n")], [1])

        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(worker)
        assert await link.client.get(link.key("n")) == b"1000"


async def test_the_body_s_own_exception_leaves_as_itself(redis_url: str) -> None:
    with pytest.raises(KeyError, match="mine"):
        async with RedisLink(redis_url) as link:
            await link.client.ping()
            raise KeyError("mine")
    with anyio.move_on_after(0.05) as scope:
        async with RedisLink(redis_url) as link:
            await anyio.sleep(5)
    assert scope.cancelled_caught


async def start_error(url: str, **options: float) -> str:
    """The one-line error of a link that cannot start, quickly and without the password."""
    started = time.monotonic()
    with pytest.raises(ConfigurationError) as caught:
        async with RedisLink(url, **options):  # type: ignore[arg-type]
            pass
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "\n" not in message
    assert "secret" not in message and "sec" not in message
    return message


async def test_an_unreachable_server_is_one_line_at_start() -> None:
    port = _free_port()
    message = await start_error(f"redis://:secret@127.0.0.1:{port}/0", timeout=1)
    assert message.startswith(f"cannot use Redis at redis://:***@127.0.0.1:{port}/0: ")


async def test_a_silent_server_is_one_line_within_the_timeout(
    redis_factory: Callable[..., RedisServer],
) -> None:
    server = redis_factory()
    server.pause()
    message = await start_error(f"{server.url}/0", timeout=0.5)
    assert message.endswith(": no answer within 0.5 s")


async def test_a_refused_password_or_database_is_one_line_at_start(
    redis_factory: Callable[..., RedisServer],
) -> None:
    server = redis_factory("--requirepass", "secret-pw")
    url = server.url.replace("redis://", "redis://:secret@")
    message = await start_error(f"{url}/0")
    assert message.endswith(": the server refused the user or password")
    good = server.url.replace("redis://", "redis://:secret-pw@")
    async with RedisLink(f"{good}/0") as link:
        assert await link.client.ping()
    message = await start_error(f"{good}/99")
    assert message.endswith(": the server has no database 99")


async def test_a_server_killed_mid_run_fails_calls_cleanly(
    redis_factory: Callable[..., RedisServer],
) -> None:
    server = redis_factory()
    async with RedisLink(f"{server.url}/0", timeout=1) as link:
        await link.client.set("k", b"v")
        server.kill()
        started = time.monotonic()
        with pytest.raises(FAILURES):
            await link.client.get("k")
        assert time.monotonic() - started < 5
    # and the link left without a group or a hang


async def test_a_paused_server_times_out_mid_run(
    redis_factory: Callable[..., RedisServer],
) -> None:
    server = redis_factory()
    async with RedisLink(f"{server.url}/0", timeout=0.3) as link:
        await link.client.set("k", b"v")
        server.pause()
        with pytest.raises(FAILURES):
            await link.client.get("k")
        server.resume()
        assert await link.client.get("k") == b"v"


async def test_rediss_verifies_the_server_s_certificate(
    redis_factory: Callable[..., RedisServer], tmp_path: Path
) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(tmp_path / "server.pem")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    tls_port = _free_port()
    redis_factory(
        "--tls-port", str(tls_port), "--tls-cert-file", str(tmp_path / "server.pem"),
        "--tls-key-file", str(tmp_path / "server.pem"), "--tls-ca-cert-file",
        str(tmp_path / "ca.pem"), "--tls-auth-clients", "no",
    )  # fmt: skip
    url = f"rediss://localhost:{tls_port}/0"
    context = ssl.create_default_context(cafile=tmp_path / "ca.pem")
    async with RedisLink(url, ssl_context=context) as link:
        assert await link.client.ping()
    message = await start_error(url)  # the system's CAs do not know this one
    assert "certificate verify failed" in message
