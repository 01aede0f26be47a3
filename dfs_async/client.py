"""`DataForSEO`: configuration, lifecycle and the endpoint namespaces.

    async with DataForSEO() as dfs:                      # credentials from the environment
        page = await dfs.backlinks.domain_pages_summary("forbes.com", limit=4)
        async with dfs.backlinks.domain_pages_summary.stream(targets, limit=1000) as records:
            async for record in records:
                ...

Settings are checked when the client is built (ConfigurationError), request fields when a
call or a stream is made (ValidationError, before anything is sent). A stream is an async
context manager, not an async generator, because it runs a task group: a task group cannot
live safely inside an async generator (PEP 789), while leaving an `async with` block cancels
the group's work cleanly, on asyncio and on trio alike.
"""

from __future__ import annotations

import math
import os
import ssl
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, Self, TypeVar
from urllib.parse import urlsplit

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream

import dfs_async.models as models
from dfs_async.account import DEFAULT_RATE, Account, AccountInfo
from dfs_async.audit import AuditCall
from dfs_async.background import end_background
from dfs_async.duration import DAY
from dfs_async.endpoints import BY_NAME, Endpoint, Price, signatures
from dfs_async.engine import Budget, Chunk, Engine, Run, call, open_run
from dfs_async.errors import (
    ConfigurationError,
    RunStopped,
    SharedLimitsUnavailable,
    ValidationError,
    check_int,
)
from dfs_async.estimate import Estimate, estimate
from dfs_async.pacing import LocalPacer, Pacer
from dfs_async.plan import Bulk
from dfs_async.records import Event, Failure, PageDone, PageProgress, Record, Stats, TargetDone
from dfs_async.retry import RetryPolicy
from dfs_async.tls import verifies
from dfs_async.transport import HTTP_STACKS, HttpStack, basic_auth_headers, open_transport

if TYPE_CHECKING:
    import httpx

    from dfs_async.cache import Cache, CacheSpec
    from dfs_async.engine.recall import Recall
    from dfs_async.redis_link import RedisURL

__all__ = [
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "Backlinks",
    "DataForSEO",
    "EndpointCall",
    "RecordStream",
]

PRODUCTION_URL: Final = "https://api.dataforseo.com"
SANDBOX_URL: Final = "https://sandbox.dataforseo.com"

# Chunks (one page of records each) the stream holds between the engine and the caller.
STREAM_BUFFER: Final = 4

T = TypeVar("T")  # the item type of a stream's records


class DataForSEO:
    """An async client of the DataForSEO API; use it as `async with DataForSEO(...) as dfs`.

    - `login`/`password`: default to $DATAFORSEO_LOGIN / $DATAFORSEO_PASSWORD.
    - `base_url`: defaults to $DATAFORSEO_BASE_URL, else the production API; `sandbox=True`
      selects the sandbox host (and cannot be combined with an explicit `base_url`; it does
      win over $DATAFORSEO_BASE_URL).
    - `concurrency`: simultaneous requests (the API allows 30); the HTTP pool gets as many
      connections. `rate`: requests per minute, paced steadily: "account" (the default) paces
      at the account's limit, read from user_data at the first request (see `account`:
      2,000 with one notice when it cannot be read); a number paces at it and None not at
      all (neither reads user_data). `account_limits=False` skips user_data (then
      "account" is 2,000 a minute). The account also gives the prices the budget and the
      estimates use, and the daily limits a run stops before (`DailyLimitReached`).
    - `max_cost`: a USD budget for this client; see `engine.Budget` for the bound.
    - `max_attempts`: requests per page for transient outcomes (ignored when `retry_policy`
      is given). `timeout`: per request, in seconds (the server gives up at 120 s).
    - `http`: the HTTP stack: "auto" (the default: aiohttp under asyncio, httpcore under
      trio; see `transport`), "aiohttp" (asyncio only), "httpcore" or "httpx" (which alone
      reads proxies from the environment).
    - `http_client` / `transport`: your own httpx.AsyncClient (not closed by us; size its pool
      to `concurrency`) or httpx transport. `verify`: True or a CA bundle path (or an
      ssl.SSLContext); TLS checks are never switched off.
    - `recovery`: seconds after a 40202/40209 before the rate/concurrency doubles back.
    - `cache`: keep the answers paid for and reuse them (a response cache): a file path (a
      local SQLite store; several processes may share it), a `redis://HOST:PORT/DB` URL (a
      store shared by processes and machines; the redis extra) or an object with the
      store's interface (`dfs_async.cache.CacheStore`; yours: not closed by us); by default
      $DATAFORSEO_CACHE, else none; `False`: none, whatever the environment says.
      `cache_ttl`: seconds an answer is reused (default: a day). A hit sends nothing and
      costs nothing (`stats.cache_hits`, `stats.cache_saved`); what is cached and why:
      `engine/recall.py`. A store that cannot be used is a ConfigurationError when the
      client opens; one that fails later is one warning, and the client goes on without it.
      `cache_origin`: the server answers are cached as coming from (default: `base_url`;
      two addresses of one API, or emulators of one config, may share their answers).
    - `shared_limits`: a Redis URL (`redis://HOST:PORT/DB`, `rediss://` for TLS; default
      $DATAFORSEO_SHARED_LIMITS) shared by every client of this login, in any process on
      any host: together they keep the account's rate, its 30 simultaneous requests (each
      client's `concurrency` still its own cap) and its daily limits, and read user_data
      once for all (see `shared_limits`; needs the `redis` extra). Opening the client
      checks that Redis answers (ConfigurationError); a Redis lost for long during a run
      stops it (SharedLimitsUnavailable), since no request leaves without its slot.
      `False`: this client alone, whatever the environment says.

    `dfs.backlinks.<name>` is each endpoint; `dfs.audit(domains, ...)` the audit, a job of
    several of them at once on this client (`audit.py`).
    """

    def __init__(
        self,
        login: str | None = None,
        password: str | None = None,
        *,
        base_url: str | None = None,
        sandbox: bool = False,
        concurrency: int = 30,
        rate: float | Literal["account"] | None = "account",
        account_limits: bool = True,
        max_cost: float | None = None,
        max_attempts: int = 5,
        timeout: float = 130.0,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | str | ssl.SSLContext = True,
        retry_policy: RetryPolicy | None = None,
        recovery: float = 10.0,
        http: HttpStack = "auto",
        cache: CacheSpec | Literal[False] | None = None,
        cache_ttl: float = DAY,
        cache_origin: str | None = None,
        shared_limits: str | Literal[False] | None = None,
    ) -> None:
        login = login if login is not None else os.environ.get("DATAFORSEO_LOGIN")
        password = password if password is not None else os.environ.get("DATAFORSEO_PASSWORD")
        if not login or not password:
            raise ConfigurationError(
                "credentials missing: pass login= and password= or set DATAFORSEO_LOGIN and"
                " DATAFORSEO_PASSWORD"
            )
        self.login = login
        self._headers = basic_auth_headers(login, password)  # masked in reprs
        self.base_url = _base_url(base_url, sandbox)
        for name, value in (("concurrency", concurrency), ("max_attempts", max_attempts)):
            try:
                check_int(name, value, 1)
            except ValidationError as exc:
                raise ConfigurationError(str(exc)) from None
        named = rate is None or rate == "account"
        if not named and not (_is_number(rate) and 0 < rate < math.inf):  # type: ignore[operator]
            raise ConfigurationError(
                f"rate: requests per minute, a positive number, None or 'account' (got {rate!r})"
            )
        if not isinstance(account_limits, bool):
            raise ConfigurationError(f"account_limits: True or False (got {account_limits!r})")
        if max_cost is not None and not (_is_number(max_cost) and 0 <= max_cost < math.inf):
            raise ConfigurationError(f"max_cost: USD, zero or more (got {max_cost!r})")
        if not (_is_number(timeout) and 0 < timeout < math.inf):
            raise ConfigurationError(f"timeout: seconds, a positive number (got {timeout!r})")
        if not (_is_number(recovery) and recovery >= 0):
            raise ConfigurationError(f"recovery: seconds, zero or more (got {recovery!r})")
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass http_client or transport, not both")
        if http not in HTTP_STACKS:
            raise ConfigurationError(f"http: one of {', '.join(HTTP_STACKS)} (got {http!r})")
        if http != "auto" and (http_client is not None or transport is not None):
            raise ConfigurationError("pass http or your own http_client/transport, not both")
        self.http: HttpStack = http
        if not (_is_number(cache_ttl) and 0 < cache_ttl < math.inf):
            raise ConfigurationError(f"cache_ttl: seconds, a positive number (got {cache_ttl!r})")
        self.cache_spec = _cache_spec(cache)
        self.cache_ttl = float(cache_ttl)
        self.cache_origin = cache_origin or self.base_url
        _check_verify(verify)
        self.concurrency = concurrency
        self.rate = rate
        self.account_limits = account_limits
        self.max_cost = max_cost
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy(max_attempts=max_attempts)
        self.recovery = recovery
        source = "shared_limits"
        if shared_limits is None:
            shared_limits = os.environ.get("DATAFORSEO_SHARED_LIMITS") or None
            source = "DATAFORSEO_SHARED_LIMITS"
        self.shared_limits = (
            None
            if shared_limits is None or shared_limits is False
            else _redis_url(shared_limits, source)
        )
        self._http_client = http_client
        self._transport = transport
        self._verify = verify
        self.stats = Stats()
        self._shared: AsyncExitStack | None = None  # the shared limits, while open
        self._engine: Engine | None = None
        self._account: Account | None = None  # as the last engine read it
        self.backlinks = Backlinks(self)
        self.audit = AuditCall(self)

    def __repr__(self) -> str:
        return f"DataForSEO(login={self.login!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        if self._engine is not None:
            raise RuntimeError("this DataForSEO client is already open")
        rate = DEFAULT_RATE if self.rate == "account" else self.rate
        pacer: Pacer
        if self.shared_limits is None:
            pacer = LocalPacer(rate=rate, concurrency=self.concurrency, recovery=self.recovery)
        else:
            self._shared = AsyncExitStack()
            try:
                pacer = await _open_shared_limits(self, self._shared, rate)
            except BaseException:
                await self._close_shared()
                raise
        try:
            transport = open_transport(
                base_url=self.base_url,
                headers=self._headers,
                concurrency=self.concurrency,
                timeout=self.timeout,
                verify=self._verify,
                stack=self.http,
                http_client=self._http_client,
                transport=self._transport,
            )
        except RuntimeError as exc:
            await self._close_shared()
            raise ConfigurationError(f"http: {exc}") from None
        self.stats = Stats()
        self._account = None
        recall = None
        if self.cache_spec is not None:
            try:
                recall = await self._open_recall(self.cache_spec)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await transport.aclose()
                await self._close_shared()
                raise
        self._engine = Engine(
            transport=transport,
            pacer=pacer,
            policy=self.retry_policy,
            stats=self.stats,
            budget=Budget(self.max_cost, self.stats),
            base_url=self.base_url,
            reads_account=self.rate == "account" and self.account_limits,
            recall=recall,
        )
        return self

    async def _open_recall(self, spec: CacheSpec) -> Recall:
        """The response cache of `spec`, as the engine uses it."""
        from dfs_async.cache import open_cache
        from dfs_async.engine.recall import Recall

        return Recall(await open_cache(spec, ttl=self.cache_ttl), self.cache_origin, self.stats)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            self._account = engine.account
            self.stats.stopped = time.monotonic()
            with anyio.CancelScope(shield=True):
                await engine.transport.aclose()
            if engine.recall is not None:
                # Not in a cancel scope of ours: a Redis store leaves its own task group here.
                await engine.recall.close()
        await self._close_shared()

    async def _close_shared(self) -> None:
        """Leave the shared limits (this client's slots back at once) and their Redis."""
        shared, self._shared = self._shared, None
        if shared is not None:  # its task groups are left as they were entered: unshielded
            await shared.aclose()

    async def ready(self) -> Account | None:
        """Read the account now, as the first request would (once: user_data is free but
        allows only a few reads a minute); the account as read (`account`), or None when
        the client does not read it. A notice (`Account.notice`) when it could not be read."""
        return await self.engine.ready()

    async def fetch_account(self) -> AccountInfo:
        """The account as user_data tells it now: balance, limits, today's use, prices.
        AccountUnavailable when it cannot be read."""
        return await self.engine.user_data()

    def stop(self) -> None:
        """Send nothing more: the requests in flight land and are delivered, then each
        stream ends with `Interrupted` (a graceful Ctrl-C: nothing paid for is lost) and
        each call raises it, whether the response cache holds its answer or not."""
        self.engine.stopping = True

    @property
    def account(self) -> Account | None:
        """The account as this client read it (user_data, before its first request); None
        before, or when the client does not read it (`rate` given, `account_limits=False`)."""
        return self._engine.account if self._engine is not None else self._account

    @property
    def cache(self) -> Cache | None:
        """The open client's response cache (`on`, or the `failure` that turned it off;
        this client's `hits` and `saved`); None without one, or when the client is closed."""
        engine = self._engine
        return engine.recall.cache if engine is not None and engine.recall is not None else None

    @property
    def engine(self) -> Engine:
        """The open client's engine: the library's inside (a caller needs none of it)."""
        if self._engine is None:
            raise RuntimeError("use the client as `async with DataForSEO(...) as dfs:`")
        return self._engine


class EndpointCall:
    """One endpoint: `await call(target, **fields)` for one request, `.stream()` for all."""

    def __init__(self, client: DataForSEO, endpoint: Endpoint) -> None:
        self._client = client
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return f"<endpoint {self.endpoint.name} ({self.endpoint.path})>"

    async def __call__(self, target: Any = None, **fields: Any) -> Any:
        """One request of `target` (fields as in the API; `offset` included): a `Page` of a
        paged endpoint (the API's default page size unless `limit` is given), the result of
        an unpaged one, the list of results of a utility endpoint (which takes no target).
        A bulk endpoint takes one target or a list of them (up to its 1,000 a request; the
        result's items, one per target answered).

        Raises ValidationError before sending; TaskFailed when the request is wrong or its
        retries ran out; AccountError / BudgetExhausted when the run cannot go on.
        """
        endpoint = self.endpoint
        checked = endpoint.check_fields(fields)
        paging = endpoint.paging
        if (
            isinstance(paging, Bulk)
            and isinstance(target, Iterable)
            and not isinstance(target, str)
        ):
            key, unit = paging.one_request(target, endpoint.unit)
            rows = len(unit["targets"])
        else:
            key, unit = endpoint.unit(target)
            rows = None
        return await call(self._client.engine, endpoint, key, unit, checked, rows=rows)

    def price(self) -> Price:
        """This endpoint's price: the account's once the client has read it (`ready`), else
        the documented one."""
        account = self._client.account
        return self.endpoint.price if account is None else account.price(self.endpoint)

    async def estimate(
        self,
        targets: Iterable[str],
        *,
        max_items: int | None = None,
        show: int = 5,
        **fields: Any,
    ) -> Estimate:
        """What `stream(targets, max_items=..., **fields)` would send first and the most it
        could cost (`Estimate`), at `price()`; nothing is sent. The first `show` tasks are
        kept as they would be sent. In an open client with a cache, what the cache holds
        of the first requests is counted apart (`Estimate.cached`) and left out of the
        bound. Raises ValidationError as `stream` would."""
        checked, limit, offset = self._checked(targets, fields, max_items)
        if not isinstance(targets, Iterable):
            raise ValidationError("targets", "an iterable of targets, read now (not async)")
        engine = self._client._engine
        return await estimate(
            self.endpoint,
            targets,
            checked,
            limit=limit,
            offset=offset,
            max_items=max_items,
            price=self.price(),
            show=show,
            recall=engine.recall if engine is not None and self.endpoint.takes_units else None,
        )

    def _checked(
        self, targets: object, fields: dict[str, Any], max_items: int | None
    ) -> tuple[dict[str, Any], int, int]:
        """A stream's targets and fields checked; its fields without its page size and start
        (`limit`: the most a page allows, or just what `max_items` needs, unless given)."""
        if not self.endpoint.takes_units:
            raise ValidationError("targets", f"{self.endpoint.name} takes none: await the call")
        if isinstance(targets, str | bytes) or not isinstance(targets, Iterable | AsyncIterable):
            raise ValidationError("targets", "an iterable of targets (not a single string)")
        paging = self.endpoint.paging
        checked = self.endpoint.check_fields(fields)
        biggest = paging.max_limit or 1
        limit = int(checked.pop("limit", min(biggest, max_items or biggest)))
        offset = int(checked.pop("offset", 0))
        paging.plan(limit=limit, offset=offset, max_items=max_items)  # checks them
        return checked, limit, offset

    def stream(
        self,
        targets: Iterable[str] | AsyncIterable[str],
        *,
        max_items: int | None = None,
        resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
        **fields: Any,
    ) -> RecordStream[Any]:
        """Every item of every target, all pages, as they arrive; see `RecordStream`.

        `targets` is read lazily (a generator of millions is fine); each is normalised by
        `normalize_target`, and an invalid one becomes a `Failure` (40501) without a request.
        `fields` are the endpoint's request fields (`offset` is where each target starts);
        `max_items` caps the items per target. `limit` is the page size: left out, every
        page asks the most the endpoint allows (or just what `max_items` needs), since a
        request costs the same whatever its size; pass it to page otherwise.

        `resume` continues an earlier stream with the same fields and `max_items`: what it
        delivered of each target (keyed by normalised target, or a function of it), as its
        `PageDone` events told. Those pages are not asked again and their items not
        delivered again; a target whose pages were all answered just gets its TargetDone.
        """
        checked, limit, offset = self._checked(targets, fields, max_items)
        run = open_run(
            self.endpoint,
            targets,
            checked,
            limit=limit,
            offset=offset,
            max_items=max_items,
            concurrency=self._client.concurrency,
            resume=resume.get if isinstance(resume, Mapping) else resume,
        )
        return RecordStream(self._client, run)


class RecordStream(Generic[T]):
    """The records of a stream, inside `async with endpoint.stream(...) as records:`.

    `async for record in records` yields `Record`s; `records.events()` yields every event
    (each page's `Record`s then its `PageDone`, and at the end of a target its `TargetDone`
    or `Failure`). `records.failures` lists the failures seen so far. An account error, the
    budget or a server never reached ends the iteration with AccountError / BudgetExhausted /
    Unreachable, after everything fetched before was delivered. Leaving the block early
    cancels all work in flight.
    """

    def __init__(self, client: DataForSEO, run: Run[Any]) -> None:
        self._client = client
        self._run = run
        self.failures: list[Failure] = []
        self._receive: MemoryObjectReceiveStream[Chunk] | None = None
        self._task_group: TaskGroup | None = None
        self._chunk: Iterator[Event] = iter(())  # the current chunk's events still to come
        self._held = False  # the current chunk's work slot is released once it is consumed
        self._ended = False
        self._raised = False

    async def __aenter__(self) -> Self:
        if self._task_group is not None or self._ended:
            raise RuntimeError("a stream can be entered only once")
        engine = self._client.engine
        send, receive = anyio.create_memory_object_stream[Chunk](STREAM_BUFFER)
        self._receive = receive
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._run.run, engine, send)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        task_group, receive = self._task_group, self._receive
        assert task_group is not None and receive is not None
        self._ended = True
        suppress = await end_background(task_group, receive, exc_type, exc, tb)
        error = self._run.error
        if exc is None and error is not None and not self._raised:
            self._raised = True
            raise error
        return suppress

    def __aiter__(self) -> _Records[T]:
        return _Records(self)

    def events(self) -> _Events[T]:
        """Every event in order: Records and PageDone per page, then TargetDone or Failure."""
        return _Events(self)

    async def next_event(self) -> Record[T] | PageDone | TargetDone | Failure:
        """The next event; StopAsyncIteration at the end, RunStopped if the run stopped."""
        event = next(self._chunk, None)
        if event is None:
            event = await self._next_chunk()
        if type(event) is Failure:
            self.failures.append(event)
        return event

    async def _next_chunk(self) -> Event:
        if self._receive is None:
            raise RuntimeError("use the stream as `async with ...stream(...) as records:`")
        if self._held:  # consumed: its request's work slot is free again
            self._held = False
            self._chunk = iter(())
            self._run.consumed()
        while True:
            if self._ended:
                raise StopAsyncIteration
            chunk = await self._take(self._receive)
            if chunk is None:
                self._ended = True
                self._raise_stop()
                raise StopAsyncIteration from None
            if chunk.events:
                events = iter(chunk.events)
                self._chunk, self._held = events, chunk.held
                return next(events)

    @staticmethod
    async def _take(receive: MemoryObjectReceiveStream[Chunk]) -> Chunk | None:
        """The next chunk, None at the end; no checkpoint while one is waiting (the fast
        path of a fast caller)."""
        try:
            try:
                return receive.receive_nowait()
            except anyio.WouldBlock:
                return await receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return None

    def _raise_stop(self) -> None:
        error: RunStopped | None = self._run.error
        if error is not None and not self._raised:
            self._raised = True
            raise error


class _Events(Generic[T]):
    """`async for event in records.events()`: every event."""

    __slots__ = ("_stream",)

    def __init__(self, stream: RecordStream[T]) -> None:
        self._stream = stream

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Record[T] | PageDone | TargetDone | Failure:
        return await self._stream.next_event()


class _Records(_Events[T]):
    """`async for record in records`: the Records only (failures still collected)."""

    __slots__ = ()

    async def __anext__(self) -> Record[T]:
        stream = self._stream
        # The fast path, taken for all but the first record of each chunk: the rest of the
        # current chunk, read here (no further call, no await).
        for event in stream._chunk:
            if type(event) is Record:
                return event
            if type(event) is Failure:
                stream.failures.append(event)
        while True:
            event = await stream.next_event()
            if type(event) is Record:
                return event


def _base_url(base_url: str | None, sandbox: bool) -> str:
    if sandbox and base_url is not None:
        raise ConfigurationError("pass base_url or sandbox=True, not both")
    if sandbox:
        return SANDBOX_URL
    url = base_url or os.environ.get("DATAFORSEO_BASE_URL") or PRODUCTION_URL
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - raises for a port that is not one
    except ValueError as exc:
        raise ConfigurationError(f"base_url: not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigurationError(f"base_url: an http(s) URL like {PRODUCTION_URL} (got {url!r})")
    if parsed.username is not None or parsed.password is not None:
        raise ConfigurationError("base_url must not carry credentials: use login/password")
    return url.rstrip("/")


def _cache_spec(cache: object) -> CacheSpec | None:
    """What `cache=` names (see DataForSEO), checked: None for no cache."""
    if cache is None:
        cache = os.environ.get("DATAFORSEO_CACHE") or None
    if cache is None or cache is False:
        return None
    if isinstance(cache, str | os.PathLike):
        return cache
    from dfs_async.cache import CacheStore

    if isinstance(cache, CacheStore):
        return cache
    raise ConfigurationError(
        f"cache: a file path, a redis:// URL, a store object or False (got {cache!r})"
    )


def _redis_url(url: object, source: str) -> RedisURL:
    """The shared limits' URL, checked: one line naming `source` and what is wrong."""
    if not isinstance(url, str):
        raise ConfigurationError(f"{source}: a redis:// URL (got {type(url).__name__})")
    try:
        from dfs_async.redis_link import parse_redis_url  # the `redis` extra: only when asked

        return parse_redis_url(url)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: {exc}") from None


async def _open_shared_limits(
    client: DataForSEO, stack: AsyncExitStack, rate: float | None
) -> Pacer:
    """The client's pacing through the shared limits, entered on `stack`: its Redis
    checked first (ConfigurationError, before any request)."""
    from dfs_async.redis_link import RedisLink
    from dfs_async.shared_limits import SharedLimits

    assert client.shared_limits is not None
    try:
        link = await stack.enter_async_context(RedisLink(client.shared_limits))
    except ConfigurationError as exc:
        raise ConfigurationError(f"shared limits: {exc}") from None
    # The account at this server: the sandbox's limits (and user_data) are not production's.
    account = f"{client.login}@{urlsplit(client.base_url).netloc}"
    limits = SharedLimits(
        link, account, rate=rate, concurrency=client.concurrency, recovery=client.recovery
    )
    try:
        return await stack.enter_async_context(limits)
    except SharedLimitsUnavailable as exc:  # gone right after it answered: still the start
        raise ConfigurationError(str(exc)) from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_verify(verify: object) -> None:
    """TLS checks stay on: True, a CA bundle path, or an SSLContext that verifies."""
    if verify is False:
        raise ConfigurationError("verify=False is not supported: pass a CA bundle path")
    if isinstance(verify, ssl.SSLContext):
        if not verifies(verify):
            raise ConfigurationError(
                "verify: this SSLContext does not check certificates and host names"
                " (TLS checks are never switched off)"
            )
    elif isinstance(verify, str):
        if not os.path.exists(verify):
            raise ConfigurationError(f"verify: no CA bundle at {verify!r}")
    elif verify is not True:
        raise ConfigurationError(
            f"verify: True, a CA bundle path or an ssl.SSLContext (got {verify!r})"
        )


# -- the typed calls, generated from the specs by scripts/generate_calls.py --
# Do not edit. Per endpoint, an `EndpointCall` with the typed signatures of
# `endpoints/signatures.py` (its fields, its answer, its records) for type checkers: they
# refine EndpointCall's, hence `type: ignore[misc]`. Nothing of it runs per call.


class DomainPagesSummaryCall(  # type: ignore[misc]
    signatures.TypedDomainPagesSummary[RecordStream[models.DomainPageSummary]], EndpointCall
):
    """`backlinks/domain_pages_summary/live`: per-page backlink summaries of a target."""


class BacklinksCall(  # type: ignore[misc]
    signatures.TypedBacklinks[RecordStream[models.Backlink]], EndpointCall
):
    """`backlinks/backlinks/live`: the backlinks of a target (offset to 20,000, then a token)."""


class AnchorsCall(  # type: ignore[misc]
    signatures.TypedAnchors[RecordStream[models.Anchor]], EndpointCall
):
    """`backlinks/anchors/live`: the anchors of a target's backlinks."""


class DomainPagesCall(  # type: ignore[misc]
    signatures.TypedDomainPages[RecordStream[models.DomainPage]], EndpointCall
):
    """`backlinks/domain_pages/live`: the pages of a domain, with their meta and summary."""


class ReferringDomainsCall(  # type: ignore[misc]
    signatures.TypedReferringDomains[RecordStream[models.ReferringDomain]], EndpointCall
):
    """`backlinks/referring_domains/live`: the domains linking to a target."""


class ReferringNetworksCall(  # type: ignore[misc]
    signatures.TypedReferringNetworks[RecordStream[models.ReferringNetwork]], EndpointCall
):
    """`backlinks/referring_networks/live`: the IPs or subnets linking to a target."""


class CompetitorsCall(  # type: ignore[misc]
    signatures.TypedCompetitors[RecordStream[models.Competitor]], EndpointCall
):
    """`backlinks/competitors/live`: the domains sharing referring domains with a target."""


class DomainIntersectionCall(  # type: ignore[misc]
    signatures.TypedDomainIntersection[RecordStream[models.DomainIntersection]], EndpointCall
):
    """`backlinks/domain_intersection/live`: the domains linking to several targets."""


class PageIntersectionCall(  # type: ignore[misc]
    signatures.TypedPageIntersection[RecordStream[models.PageIntersection]], EndpointCall
):
    """`backlinks/page_intersection/live`: the pages linking to several targets."""


class SummaryCall(  # type: ignore[misc]
    signatures.TypedSummary[RecordStream[models.Summary]], EndpointCall
):
    """`backlinks/summary/live`: the backlink summary of a target."""


class HistoryCall(  # type: ignore[misc]
    signatures.TypedHistory[RecordStream[models.HistorySnapshot]], EndpointCall
):
    """`backlinks/history/live`: monthly snapshots of a domain's backlink summary."""


class TimeseriesSummaryCall(  # type: ignore[misc]
    signatures.TypedTimeseriesSummary[RecordStream[models.TimeseriesSummary]], EndpointCall
):
    """`backlinks/timeseries_summary/live`: a domain's backlink counts over time."""


class TimeseriesNewLostSummaryCall(  # type: ignore[misc]
    signatures.TypedTimeseriesNewLostSummary[RecordStream[models.TimeseriesNewLostSummary]],
    EndpointCall,
):
    """`backlinks/timeseries_new_lost_summary/live`: a domain's new and lost counts over time."""


class BulkRanksCall(  # type: ignore[misc]
    signatures.TypedBulkRanks[RecordStream[models.BulkRank]], EndpointCall
):
    """`backlinks/bulk_ranks/live`: the rank of up to 1000 targets."""


class BulkBacklinksCall(  # type: ignore[misc]
    signatures.TypedBulkBacklinks[RecordStream[models.BulkBacklinks]], EndpointCall
):
    """`backlinks/bulk_backlinks/live`: the backlink count of up to 1000 targets."""


class BulkSpamScoreCall(  # type: ignore[misc]
    signatures.TypedBulkSpamScore[RecordStream[models.BulkSpamScore]], EndpointCall
):
    """`backlinks/bulk_spam_score/live`: the spam score of up to 1000 targets."""


class BulkReferringDomainsCall(  # type: ignore[misc]
    signatures.TypedBulkReferringDomains[RecordStream[models.BulkReferringDomains]], EndpointCall
):
    """`backlinks/bulk_referring_domains/live`: referring domain counts of up to 1000 targets."""


class BulkNewLostBacklinksCall(  # type: ignore[misc]
    signatures.TypedBulkNewLostBacklinks[RecordStream[models.BulkNewLostBacklinks]], EndpointCall
):
    """`backlinks/bulk_new_lost_backlinks/live`: new and lost backlinks of up to 1000 targets."""


class BulkNewLostReferringDomainsCall(  # type: ignore[misc]
    signatures.TypedBulkNewLostReferringDomains[RecordStream[models.BulkNewLostReferringDomains]],
    EndpointCall,
):
    """`backlinks/bulk_new_lost_referring_domains/live`: new and lost referring domains, in bulk."""


class BulkPagesSummaryCall(  # type: ignore[misc]
    signatures.TypedBulkPagesSummary[RecordStream[models.BulkPageSummary]], EndpointCall
):
    """`backlinks/bulk_pages_summary/live`: the summaries of up to 1000 pages of 100 domains."""


class AvailableFiltersCall(  # type: ignore[misc]
    signatures.TypedAvailableFilters, EndpointCall
):
    """`available_filters`: per endpoint, the fields its `filters` may name and their kind."""


class IndexCall(  # type: ignore[misc]
    signatures.TypedIndex, EndpointCall
):
    """`index`: the size of the backlink index now, and over the last months."""


class ErrorsCall(  # type: ignore[misc]
    signatures.TypedErrors, EndpointCall
):
    """`backlinks/errors`: the account's tasks that failed in the last 7 days."""


class IdListCall(  # type: ignore[misc]
    signatures.TypedIdList, EndpointCall
):
    """`backlinks/id_list`: the ids of the account's tasks posted in a time range."""


class Backlinks:
    """The `backlinks` endpoints of the API: a typed `EndpointCall` each."""

    def __init__(self, client: DataForSEO) -> None:
        self.domain_pages_summary = DomainPagesSummaryCall(client, BY_NAME["domain_pages_summary"])
        self.backlinks = BacklinksCall(client, BY_NAME["backlinks"])
        self.anchors = AnchorsCall(client, BY_NAME["anchors"])
        self.domain_pages = DomainPagesCall(client, BY_NAME["domain_pages"])
        self.referring_domains = ReferringDomainsCall(client, BY_NAME["referring_domains"])
        self.referring_networks = ReferringNetworksCall(client, BY_NAME["referring_networks"])
        self.competitors = CompetitorsCall(client, BY_NAME["competitors"])
        self.domain_intersection = DomainIntersectionCall(client, BY_NAME["domain_intersection"])
        self.page_intersection = PageIntersectionCall(client, BY_NAME["page_intersection"])
        self.summary = SummaryCall(client, BY_NAME["summary"])
        self.history = HistoryCall(client, BY_NAME["history"])
        self.timeseries_summary = TimeseriesSummaryCall(client, BY_NAME["timeseries_summary"])
        self.timeseries_new_lost_summary = TimeseriesNewLostSummaryCall(
            client, BY_NAME["timeseries_new_lost_summary"]
        )
        self.bulk_ranks = BulkRanksCall(client, BY_NAME["bulk_ranks"])
        self.bulk_backlinks = BulkBacklinksCall(client, BY_NAME["bulk_backlinks"])
        self.bulk_spam_score = BulkSpamScoreCall(client, BY_NAME["bulk_spam_score"])
        self.bulk_referring_domains = BulkReferringDomainsCall(
            client, BY_NAME["bulk_referring_domains"]
        )
        self.bulk_new_lost_backlinks = BulkNewLostBacklinksCall(
            client, BY_NAME["bulk_new_lost_backlinks"]
        )
        self.bulk_new_lost_referring_domains = BulkNewLostReferringDomainsCall(
            client, BY_NAME["bulk_new_lost_referring_domains"]
        )
        self.bulk_pages_summary = BulkPagesSummaryCall(client, BY_NAME["bulk_pages_summary"])
        self.available_filters = AvailableFiltersCall(client, BY_NAME["available_filters"])
        self.index = IndexCall(client, BY_NAME["index"])
        self.errors = ErrorsCall(client, BY_NAME["errors"])
        self.id_list = IdListCall(client, BY_NAME["id_list"])


# -- end of the generated typed calls --
