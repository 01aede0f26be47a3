"""The one way dfs-async talks to Redis: a checked URL, a connection checked at start, a key
prefix, and the errors a lost Redis raises.

Every Redis user of ours (the response cache's shared store, the account's shared limits)
opens a `RedisLink` and goes through it:

    async with RedisLink("redis://:PASSWORD@cache.internal:6379/0") as link:
        await link.client.set(link.key("cache", "x"), b"...")
        add = link.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        await add([link.key("n")], [1])

The client is coredis (the `redis` extra): it runs on anyio, so the same code serves asyncio
and trio, with real cancellation and Lua scripts called by their SHA (loaded again by
itself if the server lost them). Its client must be entered in the task that owns it and
left in that same task, which `RedisLink` does as an async context manager.

The password never leaves `RedisURL`: its repr, `str()`, every error and log line show the
URL with `***` in its place.
"""

from __future__ import annotations

import logging
import math
import re
import ssl
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Literal, Self
from urllib.parse import unquote, urlsplit

import anyio

from dfs_async.errors import ConfigurationError
from dfs_async.tls import verifies

try:
    import coredis
    from coredis.commands.script import Script
    from coredis.exceptions import AuthenticationError, RedisError, ResponseError
except ImportError:  # pragma: no cover - the extra is part of `dev`
    raise ConfigurationError(
        "Redis support needs the redis extra: pip install 'dfs-async[redis]'"
    ) from None

__all__ = ["DEFAULT_PREFIX", "FAILURES", "RedisLink", "RedisURL", "parse_redis_url"]

# coredis logs a failed connection attempt at ERROR with its traceback; where logging is not
# set up (the command line) Python would print that on stderr, while our errors say it in
# one line. Records still reach the handlers of an application that sets logging up.
logging.getLogger("coredis").addHandler(logging.NullHandler())

DEFAULT_PREFIX: Final = "dfs-async:"
DEFAULT_PORT: Final = 6379

#: What a call through a link raises when Redis is gone, refuses, or does not answer in
#: time (coredis' own errors, and OSError, which includes TimeoutError). Catch these to
#: tell "Redis failed" from a bug.
FAILURES: Final[tuple[type[Exception], ...]] = (RedisError, OSError)

_USERINFO: Final = re.compile(r"^((?:[^:/?#]*://)?)[^/?#]*@")


def redact(url: str) -> str:
    """`url` with everything before the last `@` of its authority replaced by `***`: safe to
    show even when the URL does not parse."""
    return _USERINFO.sub(r"\1***@", url, count=1)


@dataclass(frozen=True, slots=True)
class RedisURL:
    """A checked `redis://` or `rediss://` (TLS) URL. `str()` and `repr()` hide the password."""

    scheme: Literal["redis", "rediss"]
    host: str
    port: int = DEFAULT_PORT
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def tls(self) -> bool:
        return self.scheme == "rediss"

    def __str__(self) -> str:
        auth = f"{self.username or ''}:***@" if self.password is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{auth}{host}:{self.port}/{self.db}"

    def __repr__(self) -> str:
        return f"RedisURL({str(self)!r})"


def parse_redis_url(url: str) -> RedisURL:
    """Check `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` (`rediss://` for TLS).

    Host defaults to localhost, port to 6379, database to 0. Raises ConfigurationError (one
    line, naming the URL without its password) for anything else.
    """

    def bad(rule: str) -> ConfigurationError:
        return ConfigurationError(f"Redis URL {redact(url)}: {rule}")

    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise bad("not a URL (redis://HOST:PORT/DB)") from None
    try:
        port = parts.port
    except ValueError:
        raise bad("the port must be a number from 1 to 65535") from None
    scheme = parts.scheme.lower()
    if scheme not in ("redis", "rediss"):
        raise bad("the scheme must be redis:// or rediss:// (TLS)")
    if parts.query or parts.fragment:
        raise bad("takes no ?query or #fragment")
    if port == 0:
        raise bad("the port must be a number from 1 to 65535")
    path = parts.path.strip("/")
    if not path:
        db = 0
    elif path.isascii() and path.isdigit():
        db = int(path)
    else:
        raise bad("the database must be a number (redis://HOST:PORT/0)")
    username = unquote(parts.username) if parts.username else None
    if parts.password is None and username is not None:
        raise bad("a user but no password: write redis://:PASSWORD@HOST or USER:PASSWORD@HOST")
    password = unquote(parts.password) if parts.password is not None else None
    return RedisURL(
        scheme="rediss" if scheme == "rediss" else "redis",
        host=parts.hostname or "localhost",
        port=port or DEFAULT_PORT,
        db=db,
        username=username,
        password=password,
    )


class RedisLink:
    """A connection pool to one Redis server, checked with a PING when entered.

    `async with RedisLink(url) as link` connects; the server unreachable, refusing the
    password or the database, or silent past `timeout` is a ConfigurationError of one line
    (the command line's exit 2, before any request). Later calls raise `FAILURES`.

    - `timeout`: seconds to connect and for each command's answer (coredis tries a command
      3 times on a lost connection or a timeout before it raises);
    - `prefix`: put before every key (`key()`), so that several users or environments can
      share a server;
    - `max_connections`: the pool's size (coredis pipelines the commands of many tasks on
      each connection);
    - `ssl_context`: for `rediss://`, the TLS context (default: the system's CAs); it must
      check certificates and host names.
    """

    def __init__(
        self,
        url: str | RedisURL,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 2.0,
        max_connections: int = 16,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url if isinstance(url, RedisURL) else parse_redis_url(url)
        if not (math.isfinite(timeout) and timeout > 0):
            raise ConfigurationError(f"Redis timeout must be a positive number, got {timeout!r}")
        if ssl_context is None and self.url.tls:
            ssl_context = ssl.create_default_context()
        if ssl_context is not None and not verifies(ssl_context):
            raise ConfigurationError("Redis TLS: the context must check certificates and hosts")
        self.prefix = prefix
        self.timeout = timeout
        self._max_connections = max_connections
        self._ssl_context = ssl_context if self.url.tls else None
        self._client: coredis.Redis[bytes] | None = None

    def __repr__(self) -> str:
        return f"RedisLink({str(self.url)!r}, prefix={self.prefix!r})"

    @property
    def client(self) -> coredis.Redis[bytes]:
        """The coredis client (bytes in, bytes out), while the link is open."""
        if self._client is None:
            raise RuntimeError(f"{self!r} is not open: use `async with` first")
        return self._client

    def key(self, *parts: str) -> str:
        """A key in this link's namespace: the prefix, then the parts joined by `:`."""
        return self.prefix + ":".join(parts)

    def pattern(self, *parts: str) -> str:
        """A SCAN pattern for every key that starts with `key(*parts)`."""
        return re.sub(r"([*?\[\]\\])", r"\\\1", self.key(*parts)) + "*"

    def script(self, lua: str) -> Script[bytes]:
        """A Lua script, called by its SHA (`await script(keys, args)`), loaded on first use."""
        return self.client.register_script(lua)

    async def __aenter__(self) -> Self:
        client: coredis.Redis[bytes] = coredis.Redis(
            host=self.url.host,
            port=self.url.port,
            db=self.url.db,
            username=self.url.username,
            password=self.url.password,
            connect_timeout=self.timeout,
            stream_timeout=self.timeout,
            max_connections=self._max_connections,
            ssl_context=self._ssl_context,
            decode_responses=False,
        )
        await client.__aenter__()
        try:
            with anyio.fail_after(self.timeout):
                await client.ping()
        except BaseException as exc:
            await client.__aexit__(None, None, None)
            if isinstance(exc, FAILURES):
                raise ConfigurationError(
                    f"cannot use Redis at {self.url}: {self._reason(exc)}"
                ) from None
            raise
        self._client = client
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self.client, None
        try:
            await client.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # coredis leaves through an anyio task group, which wraps the body's own
            # exception in a group: let it go on as itself.
            if exc is None or _leaves(group) != [exc]:
                raise

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, AuthenticationError):
            return "the server refused the user or password"
        if isinstance(exc, ResponseError) and "DB index" in str(exc):
            return f"the server has no database {self.url.db}"
        if isinstance(exc, TimeoutError):
            return f"no answer within {self.timeout:g} s"
        while exc.__cause__ is not None:
            exc = exc.__cause__
        return _one_line(str(exc)) or type(exc).__name__


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())
