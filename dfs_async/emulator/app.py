"""The emulator as a plain ASGI application (a handful of routes do not need a framework).

Every endpoint of `ENDPOINTS` and `UTILITIES` is routed at its path. A task endpoint's request
goes through what the real API does, in order:
route (404/40400), Basic auth (401/40100), rate (40202), simultaneous requests (40209),
injected faults, the body (40503 unparsable, 40502 no task), the first task (40506 unknown
field, 40501 invalid field, or its result from the corpus), each extra task (40000, no cost), the
money (40210 balance, 40203 daily cap; a refused task is not charged), then the rest of the
injected latency, counted from the request's arrival (the answer is computed first, so a
wave of answers does not queue its work behind the sleep).
`GET /v3/appendix/user_data` and the endpoints that take no task (`GET`: `index`,
`available_filters`) need auth only; they neither count against the rate limit nor draw faults.
Every task delivered is logged per account (`Emulator.tasks`, emulator/tasks.py), which is
what `errors` and `id_list` answer from.
`user_data` reports the configured account: its per-minute limit, its prices (what the
emulator charges), its per-function daily limits and today's use (a function past its daily
limit is refused with 40205).

Counters (`Emulator.counters`): `requests` (every HTTP request but `GET user_data`, which
clients make once each to read the account: counted in `user_data`), `by_path` (every HTTP
request, by path), `by_status` (per response:
its HTTP status, plus the envelope's status code when it is not 20000, else each task's
status code: one good page adds 1 to `200` and 1 to `20000`), `faults` (per injected kind),
`simultaneous` / `max_simultaneous` (requests in flight, all routes), `in_flight_seconds` (their
time in flight, summed: over a span, the mean number in flight; `in_flight_seconds_at` reads it
up to now), `cost` (USD charged),
`items` (items served). A dropped or truncated answer counts only its HTTP status and its
fault, and is not charged: its cost never reached the client.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import anyio
import msgspec

from dfs_async.emulator import envelope as env
from dfs_async.emulator.accounts import Account, authenticate
from dfs_async.emulator.config import EmulatorConfig
from dfs_async.emulator.corpus import Corpus
from dfs_async.emulator.faults import HTML_500, Draw, FaultPlan
from dfs_async.emulator.tasks import ANSWERED, TaskLog
from dfs_async.emulator.workers import Workers
from dfs_async.endpoints import ENDPOINTS, UTILITIES, Endpoint
from dfs_async.errors import UnknownField, ValidationError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Route = Callable[["Account", bytes, Send, float, str], Awaitable[None]]  # ..., started, url

USER_DATA_PATH: Final = "/v3/appendix/user_data"
DROP_MESSAGE: Final = "ASGI callable returned without completing response."

log = logging.getLogger(__name__)


@dataclass
class Counters:
    """What a test can read of the emulator's traffic (see the module docstring)."""

    requests: int = 0
    user_data: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    by_status: dict[int, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    simultaneous: int = 0
    max_simultaneous: int = 0
    in_flight_seconds: float = 0.0
    changed_at: float = 0.0  # time.monotonic() of the last change of `simultaneous`
    cost: float = 0.0
    items: int = 0

    def count(self, code: int) -> None:
        self.by_status[code] = self.by_status.get(code, 0) + 1

    def in_flight_seconds_at(self, now: float) -> float:
        """`in_flight_seconds` up to `now` (a time.monotonic() reading)."""
        return self.in_flight_seconds + self.simultaneous * max(0.0, now - self.changed_at)

    def in_flight(self, change: int) -> None:
        """A request arrived (+1) or was answered (-1)."""
        now = time.monotonic()
        self.in_flight_seconds = self.in_flight_seconds_at(now)
        self.changed_at = now
        self.simultaneous += change


class _Reply(NamedTuple):
    """A response ready to send."""

    status: int
    body: bytes
    content_type: bytes
    draw: Draw | None = None  # its delivery fault (truncated, dropped, trickled), if any


def task_cost(endpoint: Endpoint, items: int, price: tuple[float, float] | None = None) -> float:
    """What a task of `items` items costs: at `price` (per request, per item), else the
    endpoint's documented one."""
    per_request, per_item = price or (endpoint.price.per_request, endpoint.price.per_item)
    return round(per_request + per_item * items, 5)


def _task_path(endpoint: Endpoint) -> list[str]:
    return endpoint.path.strip("/").split("/")


class Emulator:
    """The ASGI application; `counters`, `corpus`, `accounts` and `tasks` are there to be
    read."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.corpus = Corpus(self.config)
        self.accounts = {login: Account(login, self.config) for login in self.config.accounts}
        self.faults = FaultPlan(self.config.faults)
        self.counters = Counters()
        self.workers: Workers | None = None  # while served (the ASGI lifespan)
        self.tasks = TaskLog(self.config.task_log_size)
        self._encoder = msgspec.json.Encoder()
        self._routes: dict[tuple[str, str], Route] = {
            ("GET", USER_DATA_PATH): self._user_data,
        }
        for endpoint in (*ENDPOINTS, *UTILITIES):
            serve = self._live if endpoint.method == "POST" else self._get
            self._routes[endpoint.method, endpoint.path] = functools.partial(serve, endpoint)

    def expire_tokens(self) -> None:
        """Refuse every `search_after_token` given so far (40501), as the API refuses a
        token whose search it no longer holds; the data stays the same."""
        self.corpus.token_epoch += 1

    def reset_counters(self) -> None:
        """Zero the counters (requests in flight stay counted)."""
        self.counters = Counters(
            simultaneous=self.counters.simultaneous, changed_at=time.monotonic()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        counters = self.counters
        path = str(scope.get("path", "")).rstrip("/")
        if path == USER_DATA_PATH:
            counters.user_data += 1
        else:
            counters.requests += 1
        counters.by_path[path] = counters.by_path.get(path, 0) + 1
        counters.in_flight(+1)
        counters.max_simultaneous = max(counters.max_simultaneous, counters.simultaneous)
        try:
            await self._serve(scope, receive, send)
        finally:
            self.counters.in_flight(-1)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        body = await _read_body(receive)
        if body is None:
            return  # the client went away
        method, path = scope["method"], scope["path"].rstrip("/")
        route = self._routes.get((method, path))
        if route is None:
            await self._answer(send, env.envelope(40400), status=404)
            return
        headers = dict(scope["headers"])
        account = authenticate(headers.get(b"authorization"), self.accounts, self.config)
        if account is None:
            await self._answer(send, env.envelope(40100), status=401)
            return
        account.in_flight += 1
        try:
            await route(account, body, send, started, _url(scope, headers))
        finally:
            account.in_flight -= 1

    async def _live(
        self,
        endpoint: Endpoint,
        account: Account,
        body: bytes,
        send: Send,
        started: float,
        url: str,
    ) -> None:
        if arrival_delay := self.faults.arrival_delay():  # uneven network: counted on arrival
            await anyio.sleep(arrival_delay)
        refused = account.admit()
        if refused is None and account.too_many_at_once():
            refused = 40209
        if refused is None:
            refused = account.refuse_daily(endpoint.name)
        if refused is not None:
            await self._answer(send, env.envelope(refused))
            return
        draw = self.faults.draw(body)
        reply = await self._live_reply(endpoint, account, body, draw, started, url)
        # The drawn latency counts from the request's arrival, the work above included: a
        # wave of requests then leaves at the drawn times instead of queueing its CPU work
        # behind the sleep in one event loop.
        rest = draw.latency - (time.perf_counter() - started)
        if rest > 0:
            await anyio.sleep(rest)
        await self._send(send, reply.status, reply.body, reply.content_type, reply.draw)

    async def _live_reply(
        self,
        endpoint: Endpoint,
        account: Account,
        body: bytes,
        draw: Draw,
        started: float,
        url: str,
    ) -> _Reply:
        """The answer as it will go out, computed before the latency is slept (the corpus's
        part by the workers: `_answer_task`)."""
        path = _task_path(endpoint)
        if draw.kind is not None:
            self.counters.faults[draw.kind] = self.counters.faults.get(draw.kind, 0) + 1
        if draw.kind == "http_500":
            return _Reply(500, HTML_500, b"text/html", draw)
        if draw.kind == "envelope_50000":
            failed = env.envelope(50000, [env.task(50000, path, None)])
            self._log(account, failed, url, started, draw.latency)
            return self._reply(failed)
        try:
            posted = msgspec.json.decode(body)
        except msgspec.DecodeError:
            posted = None
        if not isinstance(posted, list):
            return self._reply(env.envelope(40503))
        if not posted:
            return self._reply(env.envelope(40502))
        first, items = await self._task(endpoint, account, posted[0], draw, started)
        tasks = [first] + [env.task(40000, path, _echo(endpoint, extra)) for extra in posted[1:]]
        if first.status_code == 20000:
            refused = account.refuse_cost(first.cost)
            if refused is not None:
                return self._reply(env.envelope(refused))
        answer = env.envelope(20000, tasks, elapsed=time.perf_counter() - started)
        if draw.kind in ("drop_connection", "truncated_body"):
            return _Reply(200, self._encoder.encode(answer), b"application/json", draw)
        # Charged with the balance check above, in one step: answers computed together
        # (then sleeping their latency) cannot overdraw the balance or the daily cap.
        account.charge(answer.cost)
        self.counters.cost += answer.cost
        self.counters.items += items
        self._count_envelope(answer)
        self._log(account, answer, url, started, draw.latency)
        return _Reply(200, self._encoder.encode(answer), b"application/json", draw)

    def _log(
        self, account: Account, answer: env.EnvelopeOut, url: str, started: float, latency: float
    ) -> None:
        """Log an answer's tasks as delivered: posted on arrival, done when due out."""
        elapsed = time.perf_counter() - started
        posted = time.time() - elapsed
        done = posted + max(latency, elapsed)
        tasks = answer.tasks or ()
        self.tasks.record(account.login, tasks, url=url, method="POST", posted=posted, done=done)

    def _reply(self, answer: env.EnvelopeOut) -> _Reply:
        """An envelope answered with HTTP 200, counted by its status codes."""
        self._count_envelope(answer)
        return _Reply(200, self._encoder.encode(answer), b"application/json")

    async def _task(
        self, endpoint: Endpoint, account: Account, posted: Any, draw: Draw, started: float
    ) -> tuple[env.TaskOut, int]:
        """The first task's outcome, and how many items it carries."""
        data = _echo(endpoint, posted)
        path = _task_path(endpoint)
        if not isinstance(posted, dict):
            return env.task(40503, path, data), 0
        try:
            task = endpoint.check_task(posted)
            if draw.kind in ("task_40103", "task_50401"):
                return env.task(int(draw.kind[5:]), path, data), 0
            if endpoint.name in ANSWERED:  # errors, id_list: the account's own tasks
                result, items = self.tasks.answer(endpoint.name, account.login, task), 0
            else:
                result, items = await self._answer_task(endpoint, task)
        except UnknownField as exc:
            return env.task(40506, path, data, message=f"Unknown Field: '{exc.field}'."), 0
        except ValidationError as exc:
            return env.task(40501, path, data, message=f"Invalid Field: '{exc.field}'."), 0
        elapsed = time.perf_counter() - started
        done = env.task(
            20000,
            path,
            data,
            result=result if isinstance(result, list) else [result],
            cost=task_cost(endpoint, items, self.config.prices.get(endpoint.name)),
            elapsed=elapsed,
        )
        return done, items

    async def _answer_task(self, endpoint: Endpoint, task: Any) -> tuple[Any, int]:
        """The corpus's answer, computed by the `workers` while served (see `workers`), else
        (the app called without a server's lifespan) in the caller's loop."""
        if self.workers is None:
            return self.corpus.answer(endpoint, task)
        return await self.workers.run(self.corpus.answer, endpoint, task)

    async def _user_data(
        self, account: Account, body: bytes, send: Send, started: float, url: str
    ) -> None:
        if self.config.user_data_fails:
            await self._answer(send, env.envelope(50000), status=500)
            return
        path = ["v3", "appendix", "user_data"]
        result = self.user_data(account)
        task = env.task(20000, path, {"api": "appendix", "function": "user_data"}, result=[result])
        await self._answer(send, env.envelope(20000, [task]))

    def user_data(self, account: Account) -> dict[str, Any]:
        """The account as `user_data` reports it, in the official schema's shape
        (`AppendixUserDataResultInfo`): the fields the emulator knows, the rest null."""
        c = self.config
        day = time.strftime("%Y-%m-%d", time.gmtime())
        account.today()  # a new day starts the day's counts over
        limits = {name: {"live": n} for name, n in c.daily_limits.items()}
        used = {name: {"live": n} for name, n in account.used_today.items()}
        prices = {}
        for endpoint in ENDPOINTS:
            per_request, per_item = c.prices.get(
                endpoint.name, (endpoint.price.per_request, endpoint.price.per_item)
            )
            tier = [
                {"cost_type": "per_request", "cost": per_request},
                {"cost_type": "per_result", "cost": per_item},
            ]
            prices[endpoint.name] = {"live": {"priority_normal": tier}}
        return {
            "login": account.login,
            "timezone": "UTC",
            "rates": {
                "limits": {
                    "day": {"total": None, "backlinks": limits or None},
                    "minute": {"total": c.per_minute},
                },
                "statistics": {
                    "day": {"value": day, "total": None, "backlinks": used or None},
                    "minute": None,
                },
            },
            "money": {
                "total": c.balance,
                "balance": account.balance,
                "limits": {"day": {"total": c.daily_cost_cap}, "minute": None},
                "statistics": {"day": {"value": day, "total": account.spent_today}, "minute": None},
            },
            "price": {"backlinks": prices},
            "backlinks_subscription_expiry_date": "2099-12-31 00:00:00 +00:00",
            "llm_mentions_subscription_expiry_date": None,
        }

    async def _get(
        self,
        endpoint: Endpoint,
        account: Account,
        body: bytes,
        send: Send,
        started: float,
        url: str,
    ) -> None:
        """An endpoint that takes no task (`index`, `available_filters`): auth only, free,
        no rate limit, no faults."""
        result, _ = self.corpus.answer(endpoint, {})
        data = {"api": "backlinks", "function": endpoint.name}
        task = env.task(20000, _task_path(endpoint), data, result=[result])
        await self._answer(send, env.envelope(20000, [task]))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """The server starts: the workers start (`workers`); it stops: they stop."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.workers = Workers()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.workers is not None:
                    self.workers.stop()
                    self.workers = None
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(
        self, send: Send, answer: env.EnvelopeOut, *, status: int = 200, draw: Draw | None = None
    ) -> None:
        self._count_envelope(answer)
        await self._send(send, status, self._encoder.encode(answer), b"application/json", draw)

    def _count_envelope(self, answer: env.EnvelopeOut) -> None:
        counters = self.counters
        if answer.status_code != 20000 or not answer.tasks:
            counters.count(answer.status_code)
        else:
            for task in answer.tasks:
                counters.count(task.status_code)

    async def _send(
        self, send: Send, status: int, body: bytes, content_type: bytes, draw: Draw | None
    ) -> None:
        """Write the response; a drawn delivery fault cuts, truncates or trickles it."""
        self.counters.count(status)
        kind = draw.kind if draw else None
        if kind == "truncated_body":
            body = body[: max(1, len(body) // 2)]
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if kind == "drop_connection":
            # Half the body, then return: the server closes the connection mid-response.
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            return
        if kind == "slow_trickle" and draw is not None:
            chunks = 10
            step = max(1, -(-len(body) // chunks))
            pause = self.config.faults.slow_trickle_seconds / chunks
            for start in range(0, len(body), step):
                await send(
                    {
                        "type": "http.response.body",
                        "body": body[start : start + step],
                        "more_body": True,
                    }
                )
                await anyio.sleep(pause)
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.body", "body": body})


def _url(scope: Scope, headers: dict[bytes, bytes]) -> str:
    """The URL a request was sent to, as its client wrote it (the Host header)."""
    host = headers.get(b"host", b"").decode("latin-1")
    if not host and scope.get("server"):
        host = "{}:{}".format(*scope["server"])
    return f"{scope.get('scheme', 'http')}://{host}{scope['path']}"


def _echo(endpoint: Endpoint, posted: Any) -> dict[str, Any]:
    """A task's `data`: the posted task as it came, after the API's own two keys."""
    data: dict[str, Any] = {"api": "backlinks", "function": endpoint.name}
    if isinstance(posted, dict):
        data.update(posted)
    return data


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
