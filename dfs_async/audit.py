"""The audit: one row per domain, joined from several endpoints, as one job of one client.

    async with dfs.audit(domains, date_from="2026-01-01") as audit:
        async for row in audit:                     # one AuditRow per domain, as each completes
            print(row.target, row.values["rank"], row.values["new_backlinks"])

A row joins what the *parts* say of its domain: the `bulk_*` endpoints of `PARTS` (rank,
backlinks, referring domains and main domains, spam score, new and lost backlinks and
referring domains; 1,000 domains a request) and, if asked, `summary` (one request a domain,
its fields prefixed `summary_`). Every part runs at once on the one client, so they share
its pace, its concurrency, its budget (`max_cost`: one budget for the job) and its response
cache (`cache=`: a part's answer for a domain the cache holds is not asked again, and costs
nothing), and `dfs.stats.costs` tells each part's share.

Planned together (`AuditPlan`, no I/O): every part's fields are checked before anything is
sent (`date_from`, `rank_scale`: ValidationError); the input is read as domains: a page URL
stands for its domain (`domain_of`, the plan lists them), two inputs of one domain make one
row, an invalid one gets a row of its own, with every part's failure and no request. The
new/lost period starts at `date_from` (30 days back unless given: sent explicitly, so the
period is known) and ends the day the API answered: each row says both (`new_lost_from`,
`new_lost_to`).

Events (`audit.events()`), for callers that checkpoint: each `PartAnswer` (a part's item for a
domain, or its failure) as it lands, and each `AuditRow` as soon as its last part has. An
earlier audit's answers (`known=`) are not asked again: a resumed audit asks only what is
missing, and the rows they complete come first. A failure is final unless the caller leaves
it out of `known` (a transient one is worth asking again). An account error, the budget, a
server never reached or the shared limits' Redis lost (`shared_limits`: every part shares
the client's) ends the iteration with the RunStopped, after everything answered before was
delivered; rows still missing a part are not emitted.
"""

from __future__ import annotations

import functools
import operator
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Annotated, Any, Final, Protocol, Self

import anyio
import msgspec
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from dfs_async.account import DailyLimitReached
from dfs_async.background import end_background
from dfs_async.codes import INVALID_FIELD
from dfs_async.endpoints import BY_NAME
from dfs_async.errors import (
    BudgetExhausted,
    Interrupted,
    InvalidTarget,
    RunStopped,
    SharedLimitsUnavailable,
    ValidationError,
)
from dfs_async.estimate import Estimate
from dfs_async.models.fields import fields_of
from dfs_async.records import Failure, Record, TargetDone
from dfs_async.targets import domain_of


class Client(Protocol):
    """What an audit needs of its client (a `DataForSEO`): its endpoint calls."""

    backlinks: Any


__all__ = [
    "NEW_LOST",
    "OPTIONAL_PARTS",
    "PARTS",
    "AuditCall",
    "AuditEstimate",
    "AuditPlan",
    "AuditRow",
    "AuditStream",
    "PartAnswer",
]

PARTS: Final = (
    "bulk_ranks",
    "bulk_backlinks",
    "bulk_referring_domains",
    "bulk_spam_score",
    "bulk_new_lost_backlinks",
    "bulk_new_lost_referring_domains",
)
"""The parts of an audit by default, in the table's order."""
OPTIONAL_PARTS: Final = ("summary",)
NEW_LOST: Final = frozenset({"bulk_new_lost_backlinks", "bulk_new_lost_referring_domains"})
"""The parts whose figures count since `date_from`."""
PREFIX: Final = {"summary": "summary_"}  # its fields would clash with the bulk ones
PERIOD: Final = ("new_lost_from", "new_lost_to")
"""The columns of the new/lost period, after every part's."""
DEFAULT_PERIOD: Final = timedelta(days=30)  # the API's default period, a month
BUFFER: Final = 1024  # part answers between the parts' streams and the caller


class PartAnswer(msgspec.Struct, frozen=True, gc=False):
    """What one part said of one domain: its `item` (None when the API had none for it), or
    its `failure`; `day`, the UTC day it was answered (a new/lost part's period ends then)."""

    part: str
    target: str
    item: Any = None
    failure: Failure | None = None
    day: date | None = None


class AuditRow(msgspec.Struct, frozen=True, gc=False):
    """One domain's row: `values` by column (`AuditPlan.columns`, then the period's), None
    where its part had no figure or failed; `failures` by part. An invalid input's row has
    its text as `target` and every part's failure."""

    target: str
    values: dict[str, Any]
    failures: dict[str, Failure]


_DAY: list[Any] = [-1, None]  # (days since the epoch, that day): one date a day, not an answer


def _today() -> date:
    """Today in UTC, the API's calendar."""
    days = int(time.time() // 86_400)
    if days != _DAY[0]:
        _DAY[:] = days, datetime.now(UTC).date()
    day: date = _DAY[1]
    return day


class AuditPlan(msgspec.Struct, frozen=True):
    """An audit checked and planned, before anything is sent (`AuditPlan.of`).

    `rows`: every row's target in input order (domains, and invalid inputs as written);
    `domains`: the valid ones, asked of each part; `invalid`: (input, the rule it breaks);
    `duplicates`: inputs dropped as a domain seen before; `from_url`: (URL, its domain) for
    the pages read as their domain; `fields`: each part's request fields, checked;
    `date_from`: the new/lost period's start (None: no new/lost part).
    """

    parts: tuple[str, ...]
    fields: dict[str, dict[str, Any]]
    date_from: date | None
    rows: list[str]
    domains: list[str]
    invalid: list[tuple[str, str]]
    duplicates: list[str]
    from_url: list[tuple[str, str]]

    @classmethod
    def of(
        cls,
        domains: Iterable[str],
        *,
        parts: Sequence[str] = PARTS,
        date_from: date | str | None = None,
        rank_scale: str | None = None,
    ) -> AuditPlan:
        """The plan of an audit of `domains` (read now); ValidationError naming the option
        (`parts`, `date_from`, `rank_scale`) or `domains` at fault. Nothing is sent."""
        if isinstance(domains, str | bytes) or not isinstance(domains, Iterable):
            raise ValidationError("domains", "an iterable of domains (not a single string)")
        chosen = _parts(parts)
        start = _date_from(date_from, chosen)
        fields = {part: _fields(part, start, rank_scale) for part in chosen}
        if rank_scale is not None and not any("rank_scale" in f for f in fields.values()):
            raise ValidationError("rank_scale", "no part of this audit has a rank")
        rows: list[str] = []
        valid: list[str] = []
        invalid: list[tuple[str, str]] = []
        duplicates: list[str] = []
        pages: list[tuple[str, str]] = []
        seen: set[str] = set()
        for raw in domains:
            rule = None
            try:
                key, from_url = domain_of(raw)
            except InvalidTarget as exc:
                key, from_url, rule = str(raw), False, exc.rule
            if key in seen:
                duplicates.append(raw)
                continue
            seen.add(key)
            rows.append(key)
            if rule is not None:
                invalid.append((key, rule))
                continue
            valid.append(key)
            if from_url:
                pages.append((raw, key))
        return cls(tuple(chosen), fields, start, rows, valid, invalid, duplicates, pages)

    @property
    def columns(self) -> dict[str, tuple[str, str]]:
        """The table's columns after `target`, but the period's: `column -> (part, field)`."""
        return _columns(self.parts)

    @property
    def row_type(self) -> type[msgspec.Struct]:
        """A row as a Struct of typed columns (after `target`), for writers of tables."""
        return _row_type(self.parts)

    def row(self, target: str, answers: Mapping[str, PartAnswer]) -> AuditRow:
        """The row of `target` from its parts' answers (a missing part: empty columns)."""
        values: dict[str, Any] = {}
        for part, columns, read in _layout(self.parts):
            answer = answers.get(part)
            item = answer.item if answer is not None else None
            if item is None:
                values.update(dict.fromkeys(columns))
            else:
                values.update(zip(columns, read(item), strict=True))
        failures = {p: a.failure for p, a in answers.items() if a.failure is not None}
        if self.date_from is not None:
            days = [a.day for p, a in answers.items() if p in NEW_LOST and a.failure is None]
            values[PERIOD[0]] = self.date_from
            values[PERIOD[1]] = max((d for d in days if d is not None), default=None)
        return AuditRow(target, values, failures)

    def invalid_row(self, raw: str, rule: str) -> AuditRow:
        """The row of an input that is not a domain: every part failed, nothing was sent."""
        failure = Failure(raw, INVALID_FIELD, f"Invalid Field: 'target': {rule}", 0)
        answers = {part: PartAnswer(part, raw, failure=failure) for part in self.parts}
        return self.row(raw, answers)


def _parts(parts: Sequence[str]) -> list[str]:
    if isinstance(parts, str) or not isinstance(parts, Sequence):
        raise ValidationError("parts", "a sequence of part names")
    known = (*PARTS, *OPTIONAL_PARTS)
    unknown = [p for p in parts if p not in known]
    if unknown or not parts:
        raise ValidationError("parts", f"one or more of {', '.join(known)} (got {list(parts)})")
    return list(dict.fromkeys(parts))


def _date_from(given: date | str | None, parts: list[str]) -> date | None:
    """The period's start: as given (checked by the parts' own rule), else the default."""
    if not NEW_LOST & set(parts):
        if given is not None:
            raise ValidationError("date_from", "no part of this audit counts new and lost")
        return None
    if given is None:
        return _today() - DEFAULT_PERIOD
    text = given.isoformat() if isinstance(given, date) else given
    part = next(p for p in PARTS if p in NEW_LOST)
    BY_NAME[part].check_fields({"date_from": text})
    return date.fromisoformat(text)


def _fields(part: str, start: date | None, rank_scale: str | None) -> dict[str, Any]:
    """A part's request fields, checked by the part's own rules."""
    endpoint = BY_NAME[part]
    fields: dict[str, Any] = {}
    if part in NEW_LOST and start is not None:
        fields["date_from"] = start.isoformat()
    if rank_scale is not None and "rank_scale" in endpoint.fields:
        fields["rank_scale"] = rank_scale
    return endpoint.check_fields(fields)


@functools.cache
def _columns(parts: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for part in parts:
        prefix = PREFIX.get(part, "")
        for info in fields_of(BY_NAME[part].item):
            if info.name in ("target", "type") or (not prefix and info.name in out):
                continue
            out[prefix + info.name] = (part, info.name)
    return out


@functools.cache
def _layout(parts: tuple[str, ...]) -> list[tuple[str, tuple[str, ...], Any]]:
    """Per part: its columns, and what reads their values off its item (a tuple)."""
    layout = []
    for part in parts:
        pairs = [(c, f) for c, (p, f) in _columns(parts).items() if p == part]
        columns, fields = tuple(c for c, _ in pairs), [f for _, f in pairs]
        read = operator.attrgetter(*fields) if len(fields) > 1 else _one(fields[0])
        layout.append((part, columns, read))
    return layout


def _one(field: str) -> Any:
    getter = operator.attrgetter(field)
    return lambda item: (getter(item),)


@functools.cache
def _row_type(parts: tuple[str, ...]) -> type[msgspec.Struct]:
    """The typed columns: each as its part's field (a datetime stays one under a prefixed
    name: `Meta(extra={"kind": "time"})`), then the period's dates."""
    fields: list[tuple[str, Any, Any]] = []
    for column, (part, field) in _columns(parts).items():
        info = next(f for f in fields_of(BY_NAME[part].item) if f.name == field)
        annotation = info.annotation
        if info.kind == "time":
            annotation = Annotated[str, msgspec.Meta(extra={"kind": "time"})] | None
        fields.append((column, annotation, None))
    if NEW_LOST & set(parts):
        fields += [(name, date | None, None) for name in PERIOD]
    return msgspec.defstruct("AuditRowColumns", fields, kw_only=True)


class AuditEstimate(msgspec.Struct, frozen=True):
    """What an audit would send first and could cost: each part's `Estimate` (of the
    domains it still lacks, less those the client's cache holds) and their `cost`
    together; `cached`, the answers the cache holds, and `saved`, what they cost."""

    plan: AuditPlan
    parts: dict[str, Estimate]

    @property
    def cost(self) -> float | None:
        return Estimate.total(self.parts.values())

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.parts.values())

    @property
    def cached(self) -> int:
        return sum(e.cached for e in self.parts.values())

    @property
    def saved(self) -> float:
        return round(sum(e.saved for e in self.parts.values()), 9)


class AuditCall:
    """`dfs.audit(domains, ...)`: the audit as one job of the client; see the module
    docstring. `dfs.audit.estimate(domains, ...)` says what it would send and cost."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<audit of {', '.join(PARTS)}, +{', '.join(OPTIONAL_PARTS)}>"

    def __call__(
        self,
        domains: Iterable[str] | AuditPlan,
        *,
        parts: Sequence[str] = PARTS,
        date_from: date | str | None = None,
        rank_scale: str | None = None,
        known: Iterable[PartAnswer] = (),
    ) -> AuditStream:
        """The rows of `domains` (or of a plan made already), as an async context manager.
        `known`: an earlier audit's answers (`PartAnswer`s), not asked again.
        ValidationError before anything is sent."""
        plan = _plan(domains, parts, date_from, rank_scale)
        return AuditStream(self._client, plan, known)

    async def estimate(
        self,
        domains: Iterable[str] | AuditPlan,
        *,
        parts: Sequence[str] = PARTS,
        date_from: date | str | None = None,
        rank_scale: str | None = None,
        known: Iterable[PartAnswer] = (),
        show: int = 1,
    ) -> AuditEstimate:
        """What the audit would send first and the most it could cost, part by part (the
        domains each part lacks of `known`), at the client's prices; nothing is sent. In an
        open client with a cache, what it holds is counted apart and left out of the bound."""
        plan = _plan(domains, parts, date_from, rank_scale)
        todo = _todo(plan, _by_domain(plan, known))
        estimates = {}
        for part in plan.parts:
            call = getattr(self._client.backlinks, part)
            estimates[part] = await call.estimate(todo[part], show=show, **plan.fields[part])
        return AuditEstimate(plan, estimates)


def _plan(
    domains: Iterable[str] | AuditPlan,
    parts: Sequence[str],
    date_from: date | str | None,
    rank_scale: str | None,
) -> AuditPlan:
    if not isinstance(domains, AuditPlan):
        return AuditPlan.of(domains, parts=parts, date_from=date_from, rank_scale=rank_scale)
    if parts != PARTS or date_from is not None or rank_scale is not None:
        raise ValidationError("parts", "a plan says its parts and fields already")
    return domains


def _by_domain(plan: AuditPlan, known: Iterable[PartAnswer]) -> dict[str, dict[str, PartAnswer]]:
    """The known answers of the plan's domains and parts, by domain then part."""
    wanted, parts = set(plan.domains), set(plan.parts)
    by_domain: dict[str, dict[str, PartAnswer]] = {}
    for answer in known:
        if answer.target in wanted and answer.part in parts:
            by_domain.setdefault(answer.target, {})[answer.part] = answer
    return by_domain


def _todo(plan: AuditPlan, known: Mapping[str, Mapping[str, PartAnswer]]) -> dict[str, list[str]]:
    """The domains each part still has to be asked."""
    return {part: [d for d in plan.domains if part not in known.get(d, ())] for part in plan.parts}


AuditEvent = PartAnswer | AuditRow
# The stops that let every part's requests in flight land (see `AuditStream._stop`).
_DRAINED: Final = (BudgetExhausted, DailyLimitReached, Interrupted, SharedLimitsUnavailable)


class AuditStream:
    """The rows of an audit, inside `async with dfs.audit(...) as audit:`.

    `async for row in audit` yields `AuditRow`s as they complete (not in input order);
    `audit.events()` yields every `PartAnswer` as it lands and each `AuditRow` after the
    answer that completed it. `plan` is the audit's; `answered` counts the part answers so
    far (known ones included), of `len(plan.rows) * len(plan.parts)`. Leaving the block early
    cancels all work in flight.
    """

    def __init__(self, client: Client, plan: AuditPlan, known: Iterable[PartAnswer]) -> None:
        self.plan = plan
        self._client = client
        self._answers = _by_domain(plan, known)
        self._todo = _todo(plan, self._answers)
        self._ready: deque[AuditEvent] = deque()
        self._task_group: TaskGroup | None = None
        self._parts = anyio.CancelScope()  # the parts' task group's, once started
        self._receive: MemoryObjectReceiveStream[PartAnswer] | None = None
        self._ended = False
        self._raised = False
        self.error: RunStopped | None = None
        self.answered = sum(map(len, self._answers.values())) + len(plan.invalid) * len(plan.parts)
        self._weights = {p: 1 / getattr(BY_NAME[p].paging, "capacity", 1) for p in plan.parts}
        self._weight = sum(self._weights[p] * len(todo) for p, todo in self._todo.items())
        self._landed: dict[str, int] = dict.fromkeys(plan.parts, 0)
        for raw, rule in plan.invalid:  # no request: their rows are known now
            self._ready.append(plan.invalid_row(raw, rule))
        for domain in plan.domains:
            answers = self._answers.get(domain)
            if answers is not None and len(answers) == len(plan.parts):
                self._ready.append(plan.row(domain, self._answers.pop(domain)))

    async def __aenter__(self) -> Self:
        if self._task_group is not None or self._ended:
            raise RuntimeError("an audit can be entered only once")
        send, receive = anyio.create_memory_object_stream[PartAnswer](BUFFER)
        self._receive = receive
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._run_parts, send)
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
        if exc is None and self.error is not None and not self._raised:
            self._raised = True
            raise self.error
        return suppress

    async def _run_parts(self, send: MemoryObjectSendStream[Any]) -> None:
        """Every part at once, in a task group of their own: a stop cancels them, not the
        caller's block."""
        async with send, anyio.create_task_group() as parts:
            self._parts = parts.cancel_scope
            for part, todo in self._todo.items():
                if todo:
                    parts.start_soon(self._run_part, part, todo, send.clone())

    async def _run_part(
        self, part: str, todo: list[str], send: MemoryObjectSendStream[Any]
    ) -> None:
        """One part's stream of the domains it lacks, its answers sent to the caller."""
        call = getattr(self._client.backlinks, part)
        items: dict[str, Any] = {}
        async with send:
            try:
                async with call.stream(todo, **self.plan.fields[part]) as records:
                    async for event in records.events():
                        kind = type(event)
                        if kind is Record:
                            items[event.target] = event.item
                            continue
                        if kind is TargetDone:
                            target = event.target
                            answer = PartAnswer(part, target, items.pop(target, None), day=_today())
                        elif kind is Failure:
                            items.pop(event.target, None)
                            answer = PartAnswer(part, event.target, failure=event)
                        else:
                            continue
                        try:
                            send.send_nowait(answer)
                        except anyio.WouldBlock:
                            await send.send(answer)
            except RunStopped as exc:
                self._stop(exc)

    def _stop(self, error: RunStopped) -> None:
        """A part stopped: the budget, a daily limit, the shared limits' Redis lost and the
        caller's stop stop the others as they come to them (what is in flight lands: it is
        paid for); anything else stops every part now."""
        if self.error is None:
            self.error = error
        if not isinstance(error, _DRAINED):
            self._parts.cancel()

    @property
    def ready(self) -> bool:
        """Whether `next_event` has an event without waiting (a caller that writes each
        one down can flush when none is left)."""
        if self._ready:
            return True
        try:
            answer = self._receive.receive_nowait() if self._receive is not None else None
        except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
            return False
        if answer is not None:
            self._land(answer)
        return bool(self._ready)

    @property
    def progress(self) -> float:
        """About the share of this audit's requests answered (0 to 1): an answer of a bulk
        part weighs what its share of a request does (a thousandth), a summary's one."""
        if not self._weight:
            return 1.0
        done = sum(self._weights[p] * n for p, n in self._landed.items())
        return min(1.0, done / self._weight)

    def __aiter__(self) -> _Rows:
        return _Rows(self)

    def events(self) -> _Events:
        """Every PartAnswer as it lands, and each AuditRow once complete."""
        return _Events(self)

    async def next_event(self) -> AuditEvent:
        """The next event; StopAsyncIteration at the end, RunStopped if the audit stopped."""
        ready = self._ready
        while not ready:
            if self._receive is None:
                raise RuntimeError("use the audit as `async with dfs.audit(...) as audit:`")
            if self._ended:
                raise StopAsyncIteration
            try:
                try:
                    answer = self._receive.receive_nowait()
                except anyio.WouldBlock:
                    answer = await self._receive.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                self._ended = True
                if self.error is not None and not self._raised:
                    self._raised = True
                    raise self.error from None
                raise StopAsyncIteration from None
            self._land(answer)
        return ready.popleft()

    def _land(self, answer: PartAnswer) -> None:
        self.answered += 1
        self._landed[answer.part] += 1
        self._ready.append(answer)
        answers = self._answers.setdefault(answer.target, {})
        answers[answer.part] = answer
        if len(answers) == len(self.plan.parts):
            self._ready.append(self.plan.row(answer.target, self._answers.pop(answer.target)))


class _Events:
    __slots__ = ("_audit",)

    def __init__(self, audit: AuditStream) -> None:
        self._audit = audit

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> AuditEvent:
        return await self._audit.next_event()


class _Rows(_Events):
    __slots__ = ()

    async def __anext__(self) -> AuditRow:
        while True:
            event = await self._audit.next_event()
            if type(event) is AuditRow:
                return event
