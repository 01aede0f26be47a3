"""The API's response shape: an envelope around tasks, built as msgspec Structs.

Fields are written in the API's order and every one is present (null where the API would
put null), so an answer reads like the documented example.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, Final

import msgspec

VERSION: Final = "0.1.20250526"
MESSAGES: Final[dict[int, str]] = {
    20000: "Ok.",
    40000: "You can set only one task at a time.",
    40100: "You are not authorized. Check your login and password.",
    40103: "Internal error. Please resubmit the task.",
    40202: "Rate limit per minute exceeded. Please slow down.",
    40203: "Daily limit of spending exceeded.",
    40205: "Daily limit of requests to this function exceeded.",
    40209: "Too many requests at the same time. Please lower the number of simultaneous requests.",
    40210: "You don't have enough funds. Please refill your balance.",
    40400: "Not Found.",
    40501: "Invalid Field.",
    40502: "No data in the POST array.",
    40503: "POST data is invalid: the body must be a JSON array of tasks.",
    40506: "Unknown Field.",
    50000: "Internal Error.",
    50401: "Timeout exceeded.",
}


class TaskOut(msgspec.Struct, omit_defaults=False):
    id: str
    status_code: int
    status_message: str
    time: str
    cost: float
    result_count: int
    path: list[str]
    data: Any
    result: list[Any] | None


class EnvelopeOut(msgspec.Struct, omit_defaults=False):
    version: str
    status_code: int
    status_message: str
    time: str
    cost: float
    tasks_count: int
    tasks_error: int
    tasks: list[TaskOut] | None


_ids = itertools.count(1)
_PREFIX: Final = os.urandom(4).hex()


def task_id() -> str:
    """A uuid-shaped, unique id: the API's ids look like `05101918-1535-0445-0000-f03e...`."""
    n = next(_ids)
    return f"{_PREFIX}-{n >> 32 & 0xFFFF:04x}-{n >> 16 & 0xFFFF:04x}-0000-{n & 0xFFFF:012x}"


def seconds(elapsed: float) -> str:
    return f"{elapsed:.4f} sec."


def task(
    code: int,
    path: list[str],
    data: Any,
    *,
    result: list[Any] | None = None,
    cost: float = 0.0,
    elapsed: float = 0.0,
    message: str | None = None,
) -> TaskOut:
    return TaskOut(
        id=task_id(),
        status_code=code,
        status_message=message or MESSAGES.get(code, "Error."),
        time=seconds(elapsed),
        cost=cost,
        result_count=len(result) if result else 0,
        path=path,
        data=data,
        result=result,
    )


def envelope(
    code: int,
    tasks: list[TaskOut] | None = None,
    *,
    elapsed: float = 0.0,
    message: str | None = None,
) -> EnvelopeOut:
    tasks_list = tasks or []
    return EnvelopeOut(
        version=VERSION,
        status_code=code,
        status_message=message or MESSAGES.get(code, "Error."),
        time=seconds(elapsed),
        cost=float(round(sum(t.cost for t in tasks_list), 5)),
        tasks_count=len(tasks_list),
        tasks_error=sum(1 for t in tasks_list if t.status_code != 20000),
        tasks=tasks,
    )
