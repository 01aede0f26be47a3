"""The tasks an emulator answered, per account: what `errors` and `id_list` serve.

Every task an answer carried is logged with the id it carried: done (20000) or refused
(40501 invalid field, 40506, 40000 an extra task, an injected 40103/50401/50000), with its
function (the path after `/v3/`, `backlinks/summary/live`, what `filtered_function`
matches), the URL and method the client used, when it arrived and when it was due out (its
latency included), its cost and its status. What is not logged: an answer never delivered
(a dropped or truncated one, which is not charged either), a request refused whole before
any task (401, 40202, 40209, 40205, 40210, 40203, a body that is no task), and the calls to
`errors` and `id_list` themselves, so that reading the log does not change it.

Bounded: each account keeps its last `EmulatorConfig.task_log_size` tasks (a ring), each
with its posted task as compact JSON for `include_metadata` (a bulk task of 1,000 targets
holds ~15 KB; any other task a few hundred bytes), and at most `POSTED_BYTES` of those (the
oldest go first), so that a log of bulk tasks stays tens of MB, not 150.

- `errors`: the failed tasks of the last 7 days, newest first, optionally within
  `datetime_from`/`datetime_to` and of one `filtered_function`; `http_code` is the HTTP
  status the answer went with (200: the failure is in the task's status code), `http_time`
  and `http_response` are null (the emulator keeps neither).
- `id_list`: every task posted from `datetime_from` to `datetime_to` (required; at most six
  months back, a month with `include_metadata`, else 40501), sorted by the time it was done
  (`sort`, `asc` by default), each with its status message and cost, and with
  `include_metadata` the task as posted. The costs of a range add up to what it charged.

Times are compared at the second the API writes (`2026-01-15 12:57:46 +00:00`): a task shown
at a second is within a range that names that second. `limit` and `offset` page the sorted
list.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from dfs_async.emulator.corpus.figures import option
from dfs_async.emulator.envelope import TaskOut
from dfs_async.errors import ValidationError
from dfs_async.models import (
    ErroredTask,
    ErrorsRequest,
    IdListRequest,
    ListedTask,
    format_api_datetime,
    parse_api_datetime,
)

ERRORS_DAYS: Final = 7
POSTED_BYTES: Final = 32 * 1024 * 1024
"""The posted tasks' bytes an account's log keeps at most."""
READERS: Final = frozenset({"backlinks/errors", "backlinks/id_list"})


@dataclass(frozen=True, slots=True)
class Logged:
    """One task as the log keeps it."""

    id: str
    function: str  # the path after /v3/: `backlinks/summary/live`
    url: str
    method: str
    posted: float  # time.time() of its arrival
    done: float  # time.time() its answer was due out
    cost: float
    status_code: int
    status_message: str
    http_code: int
    metadata: bytes  # the posted task, compact JSON


class TaskLog:
    """Each account's last `size` tasks (see the module docstring)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._tasks: dict[str, deque[Logged]] = {}
        self._bytes: dict[str, int] = {}  # each ring's posted tasks
        # The answers may be worked out off the event loop's thread; a lock keeps a listing
        # from iterating a ring while a task is added.
        self._lock = threading.Lock()

    def record(
        self,
        login: str,
        tasks: Iterable[TaskOut],
        *,
        url: str,
        method: str,
        posted: float,
        done: float,
        http_code: int = 200,
    ) -> None:
        """Log the tasks of one answer as delivered."""
        logged = [
            Logged(
                id=task.id,
                function="/".join(task.path[1:]),
                url=url,
                method=method,
                posted=posted,
                done=done,
                cost=task.cost,
                status_code=task.status_code,
                status_message=task.status_message,
                http_code=http_code,
                metadata=_ENCODE(_posted(task.data)),
            )
            for task in tasks
        ]
        logged = [entry for entry in logged if entry.function not in READERS]
        if not logged:
            return
        with self._lock:
            ring = self._tasks.setdefault(login, deque())
            ring.extend(logged)
            held = self._bytes.get(login, 0) + sum(len(entry.metadata) for entry in logged)
            while len(ring) > self.size or held > POSTED_BYTES:
                held -= len(ring.popleft().metadata)
            self._bytes[login] = held

    def tasks(self, login: str) -> list[Logged]:
        """The account's logged tasks, oldest first."""
        with self._lock:
            return list(self._tasks.get(login, ()))

    def answer(self, function: str, login: str, task: Mapping[str, Any]) -> list[Any]:
        """The result of a checked `errors` or `id_list` task of `login`; ValidationError
        (40501) for a datetime the endpoint refuses."""
        return _ANSWERS[function](self.tasks(login), task, time.time())


def errors(tasks: list[Logged], task: Mapping[str, Any], now: float) -> list[ErroredTask]:
    earliest = now - ERRORS_DAYS * 86_400
    start = max(_second(task, "datetime_from", earliest), _whole(earliest))
    end = _second(task, "datetime_to", now)
    function = task.get("filtered_function")
    failed = [
        t
        for t in reversed(tasks)
        if t.status_code != 20000
        and start <= _whole(t.done) <= end
        and (function is None or t.function == function)
    ]
    return [
        ErroredTask(
            id=t.id,
            datetime=_api_time(t.done),
            function=t.function,
            error_code=t.status_code,
            error_message=t.status_message,
            http_url=t.url,
            http_method=t.method,
            http_code=t.http_code,
        )
        for t in _page(failed, task, ErrorsRequest)
    ]


def id_list(tasks: list[Logged], task: Mapping[str, Any], now: float) -> list[ListedTask]:
    # Its range is checked with the task (`id_list_reach`, `in_order`: the spec's rules).
    start = _second(task, "datetime_from", now)
    end = _second(task, "datetime_to", now)
    metadata = bool(task.get("include_metadata", False))
    listed = sorted(
        (t for t in tasks if start <= _whole(t.posted) <= end),
        key=lambda t: t.done,
        reverse=option(task, IdListRequest, "sort") == "desc",
    )
    return [
        ListedTask(
            id=t.id,
            url=t.url,
            datetime_posted=_api_time(t.posted),
            datetime_done=_api_time(t.done),
            status=t.status_message,
            cost=t.cost,
            metadata=msgspec.json.decode(t.metadata) if metadata else None,
        )
        for t in _page(listed, task, IdListRequest)
    ]


_ANSWERS: Final[dict[str, Callable[[list[Logged], Mapping[str, Any], float], list[Any]]]] = {
    "errors": errors,
    "id_list": id_list,
}
ANSWERED: Final = frozenset(_ANSWERS)
"""The endpoints the log answers (by name)."""

_ENCODE: Final = msgspec.json.Encoder().encode


def _posted(data: Any) -> dict[str, Any]:
    """A task's `data` without the two keys the API adds (`api`, `function`)."""
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k not in ("api", "function")}


def _whole(stamp: float) -> int:
    return int(stamp)


def _second(task: Mapping[str, Any], name: str, default: float) -> int:
    """A datetime field of the task as a whole second (`default` when absent)."""
    value = task.get(name)
    if value is None:
        return _whole(default)
    try:
        parsed = parse_api_datetime(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None:
        raise ValidationError(name, f"a datetime as yyyy-mm-dd hh:mm:ss +00:00, got {value!r}")
    return _whole(parsed.timestamp())


def _api_time(stamp: float) -> str:
    return format_api_datetime(datetime.fromtimestamp(_whole(stamp), UTC))


def _page(
    items: list[Logged], task: Mapping[str, Any], request: type[msgspec.Struct]
) -> list[Logged]:
    offset = option(task, request, "offset")
    return items[offset : offset + option(task, request, "limit")]
