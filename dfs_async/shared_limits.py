"""The account's limits shared through Redis by every process of one login, on any host.

The API's limits belong to the account: its requests a minute, its 30 simultaneous requests,
its daily requests per function. `pacing.LocalPacer` keeps them exactly for one process;
`SharedLimits`, the other `pacing.Pacer`, keeps them for all the processes of a login
together, with the same rules, decided in Redis by small Lua scripts: each decision is
atomic and reads Redis's clock (`TIME`), never a host's, so hosts whose clocks disagree
still share one exact window. A client given `shared_limits=URL` paces with it; by hand:

    async with RedisLink(url) as link:
        async with SharedLimits(link, login, rate=None, concurrency=30) as limits:
            info = await limits.read_account(fetch)  # `shared_account`: one read for all
            limits.with_rate(info.per_minute * (1 - ACCOUNT_SHARE))  # or the user's --rate
            async with limits.slot(endpoint.name) as sent_at:
                ...send the request...
            if refused_40202:
                await limits.slow_down(sent_at)     # 40209: fewer_at_once(sent_at)

**One decision per request** (`slot`): the acquire script lets a request leave only with
all of these at once, or tells the caller how long to wait:

- its **daily** count: a counter per function per UTC day of Redis's clock, started from
  what the account said was used today (`shared_account`), against the account's daily
  limit (`DailyLimitReached`, as a lone client raises it);
- a **slot**: at most `slots` (the account's 30, halved by a 40209) requests in flight
  across all processes; each process's own `concurrency` caps it locally first;
- its place in the **window**, kept as `pacing` keeps it: a request is counted while in
  flight and for `window` after it ended, against the window's quota (`pacing._quota`,
  `MARGIN` below the rate), which bounds every server window whatever the latency (the
  argument in `pacing`'s docstring holds with Redis's clock for departures and ends);
- the **spacing**: one shared leaky bucket (GCRA: `tat`, the time the bucket is empty again)
  of `window / quota` seconds a request and `pacing._burst` requests, filled at its first
  request and after a change of rate, so all processes together make a steady flow, never
  a minute's quota at once, with a small burst after a lull.

Its end is recorded (it then counts for `window` more, its slot is free) by the next call
of the process: the acquire of the next request if one comes within `CARRY` seconds (a
worker that got its answer asks again at once; a paced process asks at each departure),
else a release made by a background task, for all the ends of those seconds; a task of the
process waiting for a slot or its turn asks again at once, carrying the end. So a request
costs about one round trip (each costs some 0.2-0.4 ms of CPU in coredis), while a slot or
a place in the window is held at most `CARRY` longer than its request
(`benchmarks/shared_limits.py`).

**Leases.** Each process is a *holder* with a lease (a deadline in Redis's time) renewed by
one task per process every `lease / 3`, not per request. Any script that finds a lease
expired (a process killed with -9, frozen, cut off) ends that holder's requests as of then:
their slots come back, and they count in the window for `window` more, as any ended request
does. Each request moves from in flight to ended once, whoever moves it (its release, a
lease's end, a renewal reconciling a release that was lost), so none is counted twice. A
renewal counts as in flight the slot a waiter is asking for: granted, it may not have been
heard of yet, and its request is about to leave.

**Turns.** A process that cannot go now joins a queue of holders served in order of
arrival (one place per process: its requests wait their turn locally, FIFO): a newcomer
never passes a waiting process, and a process served goes to the back of the queue for its
next request, so none starves while others run. Waiting never polls in a loop: a wait for
a time (the spacing's due time, the window's next expiry, a turn a few intervals away) is
slept, and each departure says when the next may be asked for; a wait for an event (a
slot freed, a turn) is woken by a message (pub/sub, one channel per holder) sent to the
first in the queue at a release, or when the one before it went and room is left. Every
wait is at most `poll` seconds, so a lost message costs at most that, and a place in the
queue its holder stopped claiming for two polls is dropped.

**Faults.** Redis lost during a run: nothing leaves without its slot; each call is retried
(backing off) for `patience` seconds, then `SharedLimitsUnavailable` (a RunStopped) stops
the run; the requests of the process that were waiting meanwhile stop with it at once. A
release that fails is not retried: the next renewal ends the request as of then
(later than it ended: the window is kept, never overrun). Redis unreachable at start is
`RedisLink`'s one-line ConfigurationError.

**The account** (`shared_account`): `user_data` (6 reads a minute) is read by one process
while the others wait for it (a lock in Redis), then shared for `ttl` seconds, its daily
limits and used-today counts seeded into the daily counters. A failure to read it is
shared too, for a minute, so twenty workers starting together make one read, not twenty.

All keys of a login are `<prefix>limits:{<login>}:<name>` (one hash slot), each expiring a
day after its last use.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import anyio
import msgspec

from dfs_async import pacing
from dfs_async.account import AccountInfo, AccountUnavailable, DailyLimitReached
from dfs_async.errors import ConfigurationError, SharedLimitsUnavailable
from dfs_async.pacing import GENTLE_STEP, LATE, MARGIN, MAX_BURST
from dfs_async.redis_link import FAILURES, RedisLink

# isort: split
# After redis_link: without the `redis` extra, its one-line error comes first.
from coredis.exceptions import ReadOnlyError, ResponseError

if TYPE_CHECKING:
    from anyio.abc import TaskGroup, TaskStatus
    from coredis.commands.script import Script

__all__ = [
    "ACCOUNT_SLOTS",
    "ACCOUNT_TTL",
    "LEASE",
    "PATIENCE",
    "POLL",
    "SharedLimits",
    "SharedLimitsUnavailable",
    "shared_account",
]

log: Final = logging.getLogger("dfs_async")

#: The account's simultaneous requests (the API's 40209 past them).
ACCOUNT_SLOTS: Final = 30
#: Seconds a holder's lease lasts unrenewed: a process killed with -9 gives its slots back
#: within this (and one `POLL`).
LEASE: Final = 30.0
#: Seconds of Redis failing (unreachable, silent) before a run stops.
PATIENCE: Final = 30.0
#: The longest a waiter sleeps before asking again (a lost wake-up message costs this).
POLL: Final = 1.0
#: Seconds the end of a request waits for the next acquire of its process to carry it
#: (one round trip a request instead of two) before a release records it by itself.
CARRY: Final = 0.05
#: Seconds the account read from user_data is shared; a failure to read it, `_FAILED_TTL`.
ACCOUNT_TTL: Final = 600.0
_FAILED_TTL: Final = 60.0
#: The longest one process may hold the account's lock while it reads user_data.
_ACCOUNT_LOCK: Final = 30.0
_KEY_TTL_MS: Final = 86_400_000  # every key expires a day after its last use
_US: Final = 1_000_000  # Redis's time is read in microseconds

# Codes of the acquire script's reply.
_WAIT, _GO, _DAILY = 0, 1, 2
# Why a WAIT waits, when an end of the process's own requests may end the wait.
_FREED_BY_AN_END: Final = (b"slots", b"turn")

_NAMES: Final = (
    "holders", "inflight", "ended", "queue", "waits", "spacing", "feedback", "daily",
    "limits", "ticket", "wake", "account", "lock",
)  # fmt: skip

# Every script gets the same KEYS (`_NAMES`, in order) and starts with this: the time, the
# keys by name, and the rules shared by several scripts.
_PRELUDE = """
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local HOLDERS, INFLIGHT, ENDED, QUEUE, WAITS, SPACING, FEEDBACK, DAILY, LIMITS, TICKET,
      WAKE, ACCOUNT, LOCK = unpack(KEYS)

local function holder_of(id) return string.match(id, '^[^:]+') end

-- A holder leaves the queue.
local function leave(holder)
    redis.call('ZREM', QUEUE, holder)
    redis.call('HDEL', WAITS, holder)
    redis.call('SREM', WAKE, holder)
end

-- The first holder in the queue may try again, if it waits for an event (not a time).
local function wake(channel)
    local head = redis.call('ZRANGE', QUEUE, 0, 0)[1]
    if head and redis.call('SISMEMBER', WAKE, head) == 1 then
        redis.call('PUBLISH', channel .. head, '')
    end
end

-- Forget what expired: ended requests a window old, holders whose lease ended (their
-- requests end now), queue places not claimed in time.
-- The requests in flight that `over(id, holder)` says are over end now; how many.
local function end_where(over, window)
    local ended = 0
    for _, id in ipairs(redis.call('ZRANGE', INFLIGHT, 0, -1)) do
        if over(id, holder_of(id)) then
            redis.call('ZREM', INFLIGHT, id)
            redis.call('ZADD', ENDED, now + window, id)
            ended = ended + 1
        end
    end
    return ended
end

local function tidy(window)
    redis.call('ZREMRANGEBYSCORE', ENDED, '-inf', now)
    local dead = redis.call('ZRANGEBYSCORE', HOLDERS, '-inf', now)
    if #dead > 0 then
        local gone = {}
        for _, holder in ipairs(dead) do
            gone[holder] = true
            leave(holder)
        end
        redis.call('ZREM', HOLDERS, unpack(dead))
        end_where(function(id, holder) return gone[holder] end, window)
    end
    while true do
        local head = redis.call('ZRANGE', QUEUE, 0, 0)[1]
        if not head then break end
        local due = tonumber(redis.call('HGET', WAITS, head))
        if due and due >= now then break end
        leave(head)
    end
end

-- Requests of this process that ended (ARGV[first:]): they count a window more. Those a
-- lease's end or a renewal already ended are not counted again.
local function finish(first, window)
    local ended = 0
    for i = first, #ARGV do
        if redis.call('ZREM', INFLIGHT, ARGV[i]) == 1 then
            redis.call('ZADD', ENDED, now + window, ARGV[i])
            ended = ended + 1
        end
    end
    return ended
end

-- The daily counts are those of Redis's UTC day.
local function today()
    local day = math.floor(now / 86400000000)
    if tonumber(redis.call('HGET', DAILY, '#day')) ~= day then
        redis.call('DEL', DAILY)
        redis.call('HSET', DAILY, '#day', day)
    end
end

local function touch()
    for i = 1, 11 do redis.call('PEXPIRE', KEYS[i], KEY_TTL) end
end

local function main()
""".replace("KEY_TTL", str(_KEY_TTL_MS))
_END = """
end
local reply = main()
touch()
return reply
"""

# ARGV: holder, id, function ('' for none), rate a minute (0: none), slots, window (s),
# lease (us), recovery (us), poll (us), margin, max burst, late (us), wake channel prefix,
# then the ids of this holder's requests that ended since its last call (see `_RELEASE`).
# Reply: {1, departure (us), when the next may try (us from now)} | {0, wait (us), why} |
# {2, daily limit, used}. A wait for a time (the spacing's, the window's next expiry, a turn
# a few intervals away) is slept; a wait for an event (a slot freed, a turn) is woken.
_ACQUIRE = (
    _PRELUDE
    + """
local holder, id, fn = ARGV[1], ARGV[2], ARGV[3]
local rate, slots = tonumber(ARGV[4]), tonumber(ARGV[5])
local window_s = tonumber(ARGV[6])
local window = window_s * 1000000
local lease, recovery, poll = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local margin, max_burst, late, channel = tonumber(ARGV[10]), tonumber(ARGV[11]),
                                         tonumber(ARGV[12]), ARGV[13]
tidy(window)
redis.call('ZADD', HOLDERS, now + lease, holder)
local head = redis.call('ZRANGE', QUEUE, 0, 0)[1]
if finish(14, window) > 0 and head and head ~= holder then wake(channel) end
local limit, used
if fn ~= '' then
    limit = tonumber(redis.call('HGET', LIMITS, fn))
    if limit then
        today()
        used = tonumber(redis.call('HGET', DAILY, fn)) or 0
        if used >= limit then
            leave(holder)
            if head == holder then wake(channel) end
            return {2, limit, used}
        end
    end
end

-- A 40202 or a 40209 lowered the rate or the slots for a while: back, step by step.
local f = redis.call('HMGET', FEEDBACK, 'rate', 'rate_at', 'slots', 'slots_at')
local scale, cap = tonumber(f[1]) or 1, math.min(slots, tonumber(f[3]) or slots)
if scale < 1 and now - (tonumber(f[2]) or 0) >= recovery then
    scale = math.min(1, scale * 2)
    redis.call('HSET', FEEDBACK, 'rate', scale, 'rate_at', now)
end
if cap < slots and now - (tonumber(f[4]) or 0) >= recovery then
    cap = math.min(slots, cap * 2)
    redis.call('HSET', FEEDBACK, 'slots', cap, 'slots_at', now)
end

local inflight = redis.call('ZCARD', INFLIGHT)
local counted, quota, interval, burst, tat = inflight, nil, nil, nil, nil
local wait, why, known = 0, false, true
if inflight >= cap then
    why, wait, known = 'slots', poll, false
elseif rate > 0 then
    local r = rate * scale
    quota = math.max(1, math.floor(r * window_s / 60 * (1 - margin)))  -- pacing._quota
    counted = inflight + redis.call('ZCARD', ENDED)
    if counted >= quota then
        local first = redis.call('ZRANGE', ENDED, 0, 0, 'WITHSCORES')[2]
        why, wait, known = 'window', first and tonumber(first) - now or poll, first ~= nil
    else
        interval = window / quota
        burst = math.max(1, math.min(max_burst, math.floor(r * margin)))  -- pacing._burst
        local s = redis.call('HMGET', SPACING, 'tat', 'interval', 'burst')
        tat = tonumber(s[1])
        if tonumber(s[2]) ~= interval or tonumber(s[3]) ~= burst then
            -- a new bucket, full: a burst is earned by a lull, never granted
            tat = math.max(tat or now, now) + (burst - 1) * interval
            redis.call('HSET', SPACING, 'tat', tat, 'interval', interval, 'burst', burst)
        end
        local due = tat - (burst - 1) * interval
        if due > now then why, wait = 'spacing', due - now end
    end
end

if head and head ~= holder then
    -- Not this holder's turn: it joins the queue (once) and waits for those before it.
    local rank = redis.call('ZRANK', QUEUE, holder)
    if not rank then
        rank = redis.call('ZCARD', QUEUE)
        redis.call('ZADD', QUEUE, redis.call('INCR', TICKET), holder)
    end
    if not why or why == 'spacing' then
        wait, known = interval and wait + rank * interval or poll, interval ~= nil
    end
    why = 'turn'
elseif why and not head then
    redis.call('ZADD', QUEUE, redis.call('INCR', TICKET), holder)
end
if why then
    wait = math.min(math.ceil(wait), poll)
    redis.call('HSET', WAITS, holder, now + wait + 2 * poll)
    redis.call(known and 'SREM' or 'SADD', WAKE, holder)
    return {0, wait, why}
end

redis.call('ZADD', INFLIGHT, now, id)
if limit then redis.call('HINCRBY', DAILY, fn, 1) end
if head == holder then
    leave(holder)
    if inflight + 1 < cap and (not quota or counted + 1 < quota) then wake(channel) end
end
local after = 0  -- the next request cannot leave before this
if interval then
    tat = math.max(tat, now - late) + interval
    redis.call('HSET', SPACING, 'tat', tat)
    after = tat - (burst - 1) * interval - now
    if counted + 1 >= quota then
        local first = redis.call('ZRANGE', ENDED, 0, 0, 'WITHSCORES')[2]
        if first then after = math.max(after, tonumber(first) - now) end
    end
end
return {1, now, math.ceil(math.min(math.max(after, 0), poll))}
"""
    + _END
)

# Requests that ended: their slots back, their ends recorded. The acquire that follows an
# end at once carries it instead (`_ACQUIRE`'s last arguments): one round trip a request
# when a process's tasks ask for slots back to back.
# ARGV: holder, window (s), lease (us), wake channel prefix, ids...
_RELEASE = (
    _PRELUDE
    + """
local holder, window = ARGV[1], tonumber(ARGV[2]) * 1000000
tidy(window)
finish(5, window)
redis.call('ZADD', HOLDERS, 'XX', now + tonumber(ARGV[3]), holder)
wake(ARGV[4])
return 1
"""
    + _END
)

# The lease renewed, and this holder's requests in Redis made those it has in flight
# (ARGV[5:]): one Redis still counts but the holder does not is ended now (its release was
# lost). ARGV: holder, window (s), lease (us), wake channel prefix, ids in flight...
# Reply: if the lease had expired, how many of those in flight Redis no longer counted.
_RENEW = (
    _PRELUDE
    + """
local holder, window = ARGV[1], tonumber(ARGV[2]) * 1000000
tidy(window)
local expired = not redis.call('ZSCORE', HOLDERS, holder)
redis.call('ZADD', HOLDERS, now + tonumber(ARGV[3]), holder)
local live, missing = {}, 0
for i = 5, #ARGV do
    live[ARGV[i]] = true
    if not redis.call('ZSCORE', INFLIGHT, ARGV[i]) then missing = missing + 1 end
end
local mine = function(id, of) return of == holder and not live[id] end
if end_where(mine, window) > 0 then wake(ARGV[4]) end
return expired and missing or 0
"""
    + _END
)

# A holder goes: its requests end now, its place in the queue is given up. With ARGV[4]
# '0' it only gives up its place (a waiter cancelled). ARGV: holder, window (s), wake
# channel prefix, whether it goes ('1' or '0').
_LEAVE = (
    _PRELUDE
    + """
local holder, window = ARGV[1], tonumber(ARGV[2]) * 1000000
local head = redis.call('ZRANGE', QUEUE, 0, 0)[1]
leave(holder)
local ended = 0
if ARGV[4] == '1' then
    redis.call('ZREM', HOLDERS, holder)
    ended = end_where(function(id, of) return of == holder end, window)
end
if head == holder or ended > 0 then wake(ARGV[3]) end
return ended
"""
    + _END
)

# Feedback, as `pacing.Pacer.slow_down` and `fewer_at_once` give it, for every process: a
# signal about a request sent before the last change is ignored; the rate changes at most
# once per hold. ARGV: 'rate' or 'slots', sent at (us), hold (us), lowest rate scale, the
# gentle step, slots. Reply: 1 when it lowered the limit.
_FEEDBACK = (
    _PRELUDE
    + """
local what, sent, hold = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local f = redis.call('HMGET', FEEDBACK, what, what .. '_at')
local at = tonumber(f[2]) or 0
if sent < at then return 0 end
if what == 'rate' then
    if now - at < hold then return 0 end
    local scale = tonumber(f[1]) or 1
    local step = scale >= 1 and tonumber(ARGV[5]) or 0.5
    redis.call('HSET', FEEDBACK, 'rate', math.max(tonumber(ARGV[4]), scale * step), 'rate_at', now)
else
    local slots = tonumber(ARGV[6])
    local cap = math.min(slots, tonumber(f[1]) or slots)
    redis.call('HSET', FEEDBACK, 'slots', math.max(1, math.floor(cap / 2)), 'slots_at', now)
end
return 1
"""
    + _END
)

# The shared account, or the lock to read it. ARGV: token, lock (ms).
# Reply: {1, record} | {2} (read it: the lock is ours) | {0} (another process reads it).
_ACCOUNT_GET = (
    _PRELUDE
    + """
local record = redis.call('GET', ACCOUNT)
if record then return {1, record} end
if redis.call('SET', LOCK, ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
"""
    + _END
)

# Share what the account read gave (`_Record` as JSON; ttl in ms) and give the lock back;
# an account's daily limits and today's counts go to the daily counters (a count already
# higher is kept: it holds requests the account had not seen). ARGV: record, ttl, token.
_ACCOUNT_PUT = (
    _PRELUDE
    + """
if ARGV[1] ~= '' then
    redis.call('SET', ACCOUNT, ARGV[1], 'PX', ARGV[2])
    local info = cjson.decode(ARGV[1]).info
    if type(info) == 'table' then
        redis.call('DEL', LIMITS)
        for fn, limit in pairs(info.daily_limits) do redis.call('HSET', LIMITS, fn, limit) end
        today()
        for fn, used in pairs(info.used_today) do
            if used > (tonumber(redis.call('HGET', DAILY, fn)) or 0) then
                redis.call('HSET', DAILY, fn, used)
            end
        end
    end
end
if redis.call('GET', LOCK) == ARGV[3] then redis.call('DEL', LOCK) end
return 1
"""
    + _END
)


class _Unavailable(msgspec.Struct):
    reason: str
    status_code: int | None = None
    stop: bool = False
    message: str = ""


class _Record(msgspec.Struct, omit_defaults=True):
    """What one process's read of user_data gave, shared with the others."""

    info: AccountInfo | None = None
    unavailable: _Unavailable | None = None


_DECODER: Final = msgspec.json.Decoder(_Record)


class _Redis:
    """The scripts of one login, each call retried while Redis fails, for `patience`."""

    def __init__(self, link: RedisLink, login: str, patience: float | None) -> None:
        patience = PATIENCE if patience is None else patience
        if not login:
            raise ConfigurationError("shared limits: the account's login is needed")
        if not (math.isfinite(patience) and patience > 0):
            raise ConfigurationError("shared limits: patience must be positive")
        self.link = link
        self.patience = patience
        self.keys = [link.key("limits", f"{{{login}}}", name) for name in _NAMES]
        self.channel = link.key("limits", f"{{{login}}}", "wake", "")
        self._scripts: dict[str, Script[bytes]] = {}

    def once(self, lua: str, *args: str | int | float) -> Awaitable[Any]:
        """One call of a script, not retried."""
        script = self._scripts.get(lua)
        if script is None:
            script = self._scripts[lua] = self.link.script(lua)
        return script(self.keys, args)

    async def __call__(self, lua: str, *args: str | int | float) -> Any:
        """A script's reply; SharedLimitsUnavailable once Redis has failed for `patience`
        seconds (counted from the first failure; a call hanging counts as failing)."""
        deadline: float | None = None
        delay = 0.05
        while True:
            started = anyio.current_time()
            try:
                with anyio.fail_after(self.patience if deadline is None else deadline - started):
                    return await self.once(lua, *args)
            except FAILURES as exc:
                if isinstance(exc, ResponseError) and not isinstance(exc, ReadOnlyError):
                    raise self.unavailable(f"refused a script: {_reason(exc)}") from None
                if deadline is None:
                    deadline = started + self.patience
                now = anyio.current_time()
                if now >= deadline:
                    why = f"failed for {self.patience:g} s ({_reason(exc)})"
                    raise self.unavailable(why) from None
                await anyio.sleep(min(delay, deadline - now))
                delay = min(2 * delay, 1.0)

    def unavailable(self, why: str) -> SharedLimitsUnavailable:
        return SharedLimitsUnavailable(
            f"shared limits: Redis at {self.link.url} {why}; stopping, since no request may"
            " leave without its slot"
        )


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def shared_account(
    link: RedisLink,
    login: str,
    fetch: Callable[[], Awaitable[AccountInfo]],
    *,
    ttl: float = ACCOUNT_TTL,
    patience: float | None = None,
) -> AccountInfo:
    """The account as one process of `login` read it (`fetch`: `account.fetch_account`),
    shared through Redis for `ttl` seconds; the first to come reads it while the others
    wait. Raises AccountUnavailable as the read did (shared for a minute), and
    SharedLimitsUnavailable when Redis fails for `patience` seconds (default `PATIENCE`).
    """
    redis = _Redis(link, login, patience)
    token = secrets.token_hex(8)
    while True:
        reply = await redis(_ACCOUNT_GET, token, int(_ACCOUNT_LOCK * 1000))
        if reply[0] == 1:
            record = _DECODER.decode(reply[1])
            if record.info is not None:
                return record.info
            assert record.unavailable is not None
            raise AccountUnavailable(**msgspec.structs.asdict(record.unavailable))
        if reply[0] == 0:
            await anyio.sleep(0.1)  # another process reads it: a second at most, once
            continue
        try:
            info = await fetch()
        except AccountUnavailable as exc:
            failed = _Unavailable(exc.reason, exc.status_code, exc.stop, exc.message)
            await redis(_ACCOUNT_PUT, _encode(_Record(unavailable=failed)), _ms(_FAILED_TTL), token)
            raise
        except BaseException:
            with anyio.move_on_after(link.timeout, shield=True):
                await redis(_ACCOUNT_PUT, "", 0, token)  # the lock back: another one reads
            raise
        await redis(_ACCOUNT_PUT, _encode(_Record(info=info)), _ms(ttl), token)
        return info


def _encode(record: _Record) -> str:
    return msgspec.json.encode(record).decode()


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class SharedLimits:
    """The account's limits kept together with every other process of `login` sharing
    `link`'s Redis; create and enter it (`async with`) inside the running event loop.
    `login` names the account in Redis (the client's: its login at its API's host).

    `rate` is the account's requests a minute (None: no rate limit), the same for every
    process of the login; `concurrency` this process's own cap on simultaneous requests;
    `slots` the account's (`ACCOUNT_SLOTS`). `recovery`, `hold`, `min_rate` and `window`
    are `pacing.Pacer`'s. `lease`, `patience` and `poll`: see the module's docstring (tests
    shorten them).
    """

    keeps_daily_limits = True  # counted in Redis by `slot(function)`

    def __init__(
        self,
        link: RedisLink,
        login: str,
        *,
        rate: float | None,
        concurrency: int,
        slots: int = ACCOUNT_SLOTS,
        recovery: float = 10.0,
        hold: float | None = None,
        min_rate: float | None = None,
        window: float | None = None,
        lease: float | None = None,
        patience: float | None = None,
        poll: float | None = None,
    ) -> None:
        # Read now, not when defined: tests shorten them.
        window = pacing.WINDOW if window is None else window
        lease = LEASE if lease is None else lease
        poll = POLL if poll is None else poll
        if rate is not None and not rate > 0:
            raise ConfigurationError("rate: must be positive")
        if concurrency < 1 or slots < 1:
            raise ConfigurationError("concurrency and slots: must be at least 1")
        for name, value in (("window", window), ("lease", lease), ("poll", poll)):
            if not (math.isfinite(value) and value > 0):
                raise ConfigurationError(f"shared limits: {name} must be positive")
        self._redis = redis = _Redis(link, login, patience)
        self._login = login
        self.concurrency = concurrency
        self._slots = slots
        self._window = repr(float(window))
        self._lease = lease
        self._recovery = recovery
        self._hold = _us(recovery / 2 if hold is None else hold)
        self._min_rate = min_rate
        self._poll = poll
        self._holder = secrets.token_hex(8)
        self._channel = redis.channel + self._holder
        self._set_rate(rate)
        self._ids = itertools.count()
        self._live: set[str] = set()  # this process's requests in flight
        # The request a waiter asks a slot for: granted in Redis, perhaps, and not yet
        # heard of (a renewal meanwhile must not end it: it is about to leave).
        self._asking: str | None = None
        self._ended: list[str] = []  # ended, for the next call to carry (see `_end`)
        self._ending = anyio.Event()
        self._local = anyio.Semaphore(concurrency, fast_acquire=True)
        self._turn = anyio.Lock(fast_acquire=True)  # one waiter at a time asks Redis
        self._failed: tuple[float, SharedLimitsUnavailable] | None = None  # when, and why
        self._woken: anyio.Event | None = None
        # The waiter's wake-up while it waits for what an end frees (a slot, a turn): it
        # asks again at once, carrying the end (and takes the slot if it is its turn).
        self._carrier: anyio.Event | None = None
        self._not_before = -math.inf  # as the last departure's script said
        self._tasks: TaskGroup | None = None

    def _set_rate(self, rate: float | None) -> None:
        self.rate = rate
        if rate is None:
            self._min_scale = 1.0
        else:
            min_rate = self._min_rate
            self._min_scale = (rate / 16 if min_rate is None else min(min_rate, rate)) / rate
        self._acquire_args = (
            rate or 0, self._slots, self._window, _us(self._lease), _us(self._recovery),
            _us(self._poll), MARGIN, MAX_BURST, _us(LATE), self._redis.channel,
        )  # fmt: skip

    def with_rate(self, rate: float) -> Self:
        """These limits, from now on at `rate` (the account's, read before the first
        request): the same limits, since they are entered for the client's life."""
        if not rate > 0:
            raise ConfigurationError("rate: must be positive")
        self._set_rate(rate)
        return self

    async def read_account(self, read: Callable[[], Awaitable[AccountInfo]]) -> AccountInfo:
        """The account as one process of the login read it (`shared_account`)."""
        return await shared_account(
            self._redis.link, self._login, read, patience=self._redis.patience
        )

    @property
    def in_flight(self) -> int:
        """This process's requests in flight."""
        return len(self._live)

    def slot(self, function: str = "") -> _Lease:
        """`async with limits.slot(function) as sent_at`: wait for a slot, a place in the
        window and the spacing, and count one request of `function` (an endpoint's name,
        against the account's daily limit; "" for none).

        Gives the departure in Redis's time (pass it to `slow_down`/`fewer_at_once`); the
        request ends when the block is left, however. Raises DailyLimitReached (nothing
        counted) and SharedLimitsUnavailable.
        """
        return _Lease(self, function)

    async def slow_down(self, sent_at: float) -> None:
        """A 40202 answered a request sent at `sent_at`: every process slows down (a step
        of `GENTLE_STEP` at the full rate, else by half; at most once per `hold`)."""
        if self.rate is not None:
            await self._feedback("rate", sent_at)

    async def fewer_at_once(self, sent_at: float) -> None:
        """A 40209 answered a request sent at `sent_at`: the slots of all halve."""
        await self._feedback("slots", sent_at)

    async def _feedback(self, what: str, sent_at: float) -> None:
        try:
            await self._redis(
                _FEEDBACK, what, _us(sent_at), self._hold, self._min_scale, GENTLE_STEP,
                self._slots,
            )  # fmt: skip
        except SharedLimitsUnavailable as exc:
            log.debug("%s", exc)  # the next request finds out, and stops the run

    async def __aenter__(self) -> Self:
        self._tasks = tasks = anyio.create_task_group()
        await tasks.__aenter__()
        try:
            await self._renew()  # registered before its first request
            tasks.start_soon(self._keep_lease)
            tasks.start_soon(self._carry)
            await tasks.start(self._listen)
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()
        with anyio.move_on_after(self._redis.link.timeout, shield=True):
            with contextlib.suppress(*FAILURES):  # else its lease ends by itself
                await self._redis.once(_LEAVE, self._holder, self._window, self._redis.channel, 1)

    async def _stop(self) -> None:
        """The background tasks stopped; the body's own exception goes on as itself."""
        assert self._tasks is not None
        self._tasks.cancel_scope.cancel()
        await self._tasks.__aexit__(None, None, None)

    async def _acquire(self, function: str, asked: float) -> tuple[str, float]:
        """One more request, asked for at `asked`, may leave: its id and its departure
        (Redis's time, seconds)."""
        request = f"{self._holder}:{next(self._ids)}"
        async with self._turn:
            self._asking = request
            try:
                failed = self._failed
                if failed is not None and failed[0] >= asked:
                    # Redis failed for `patience` while this one waited: it fails too, now
                    # (each waiter would else wait out a patience of its own, in turn).
                    raise SharedLimitsUnavailable(str(failed[1]))
                if self._not_before > anyio.current_time():
                    await anyio.sleep_until(self._not_before)  # it would only be told to wait
                while True:
                    self._woken = woken = anyio.Event()
                    ended, self._ended = self._ended, []
                    try:
                        reply = await self._redis(
                            _ACQUIRE, self._holder, request, function, *self._acquire_args,
                            *ended,
                        )  # fmt: skip
                    except SharedLimitsUnavailable as exc:
                        self._failed = (anyio.current_time(), exc)
                        raise
                    if reply[0] == _GO:
                        self._live.add(request)
                        self._not_before = anyio.current_time() + reply[2] / _US
                        return request, reply[1] / _US
                    if reply[0] == _DAILY:
                        raise DailyLimitReached(function, int(reply[1]), int(reply[2]))
                    if reply[2] in _FREED_BY_AN_END:
                        self._carrier = woken  # an end of ours: carried by asking again
                    with anyio.move_on_after(reply[1] / _US):
                        await woken.wait()
                    self._carrier = None
            except BaseException:
                if self._turn.statistics().tasks_waiting == 0:  # nobody here takes the turn
                    await self._release()
                    with anyio.move_on_after(self._redis.link.timeout, shield=True):
                        with contextlib.suppress(*FAILURES):  # else the place lapses
                            await self._redis.once(
                                _LEAVE, self._holder, self._window, self._redis.channel, 0
                            )
                raise
            finally:
                self._woken = self._carrier = None
                self._asking = None

    def _end(self, request: str) -> None:
        """A request ended: the next call records it, an acquire if one comes within
        `CARRY`, else `_carry`'s release."""
        self._live.discard(request)  # first: a renewal from now on ends it if all fails
        self._ended.append(request)
        self._ending.set()
        if self._carrier is not None:
            self._carrier.set()

    async def _carry(self) -> None:
        """The one task that records the ends no acquire carried (see `_end`)."""
        while True:
            await self._ending.wait()
            self._ending = anyio.Event()
            await anyio.sleep(CARRY)  # an acquire meanwhile carries them
            await self._release()

    async def _release(self) -> None:
        """The ends not yet recorded, recorded (one call; if it fails, the next renewal
        ends them: later than they ended, so the window is never overrun)."""
        if not self._ended:
            return
        ended, self._ended = self._ended, []
        with anyio.move_on_after(self._redis.link.timeout, shield=True):
            with contextlib.suppress(*FAILURES):
                await self._redis.once(
                    _RELEASE, self._holder, self._window, _us(self._lease), self._redis.channel,
                    *ended,
                )  # fmt: skip

    async def _renew(self) -> None:
        asking = () if self._asking is None else (self._asking,)
        missing = await self._redis(
            _RENEW, self._holder, self._window, _us(self._lease), self._redis.channel,
            *self._live, *asking,
        )  # fmt: skip
        if missing:
            log.warning(
                "shared limits: this process's lease had expired (it was frozen or cut off"
                " from Redis for over %g s): %d of its requests in flight were counted as"
                " ended",
                self._lease,
                missing,
            )

    async def _keep_lease(self) -> None:
        """The one task that renews this process's lease, a third of it at a time."""
        while True:
            await anyio.sleep(self._lease / 3)
            try:
                await self._renew()
            except SharedLimitsUnavailable as exc:
                log.debug("%s", exc)  # the next request finds out, and stops the run

    async def _listen(self, *, task_status: TaskStatus[None]) -> None:
        """Wake this process's waiter when a script says its turn may have come."""
        started = False
        while True:
            try:
                async with self._redis.link.client.pubsub(
                    channel_handlers={self._channel: self._wake}
                ):
                    if not started:
                        started = True
                        task_status.started()
                    await anyio.sleep_forever()
            except Exception as exc:  # meanwhile, waiters ask every `poll`
                log.debug("shared limits: no wake-ups (%s)", _reason(exc))
                if not started:
                    started = True
                    task_status.started()
                await anyio.sleep(self._poll)

    def _wake(self, message: object) -> None:
        if self._woken is not None:
            self._woken.set()


def _us(seconds: float) -> int:
    return round(seconds * _US)


class _Lease:
    """`SharedLimits.slot()`: a class, not a generator-based context manager (the hot path)."""

    __slots__ = ("_function", "_limits", "_request")

    def __init__(self, limits: SharedLimits, function: str) -> None:
        self._limits = limits
        self._function = function
        self._request = ""

    async def __aenter__(self) -> float:
        limits = self._limits
        asked = anyio.current_time()
        await limits._local.acquire()
        try:
            self._request, sent_at = await limits._acquire(self._function, asked)
        except BaseException:
            limits._local.release()
            raise
        return sent_at

    async def __aexit__(self, *exc_info: object) -> None:
        limits = self._limits
        limits._end(self._request)
        limits._local.release()
