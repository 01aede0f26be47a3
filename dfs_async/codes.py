"""The one table from a status code to what the client does about it.

Every outcome (an envelope's or a task's `status_code`, an HTTP status with no envelope, a
network error) is classified here and nowhere else. The codes and what they mean are the
API's own list (https://docs.dataforseo.com/v3/appendix/errors/).
"""

from __future__ import annotations

import enum
from typing import Final


class Action(enum.Enum):
    DELIVER = "deliver"  # the task succeeded: emit its items
    SLOW_DOWN = "slow_down"  # rate limit hit (40202): retry after the pacing backs off
    FEWER_AT_ONCE = "fewer_at_once"  # too many simultaneous requests (40209): retry
    RETRY = "retry"  # transient: retry with backoff
    FAIL = "fail"  # the request is wrong: fail this task, never retry
    STOP = "stop"  # the account cannot go on: stop the whole run


OK: Final = 20000
INVALID_FIELD: Final = 40501  # also what a target refused before sending is reported as
BAD_CREDENTIALS: Final = 40100  # HTTP 401 comes with it
RATE_LIMITED: Final = 40202
TOO_MANY_SIMULTANEOUS: Final = 40209

# Read as: these codes -> this action.
_CODES: Final[dict[Action, tuple[int, ...]]] = {
    Action.DELIVER: (OK,),
    Action.SLOW_DOWN: (RATE_LIMITED,),
    Action.FEWER_AT_ONCE: (TOO_MANY_SIMULTANEOUS,),
    Action.RETRY: (40101, 40103, 50000, 50001, 50301, 50303, 50304, 50401),
    Action.FAIL: (40000, 40001, 40002, 40003, 40004, 40006, 40400, 40401, 40402, 40403,
                  INVALID_FIELD, 40502, 40503, 40506, 50100),
    Action.STOP: (BAD_CREDENTIALS, 40104, 40200, 40201, 40203, 40204, 40205, 40206, 40207, 40210),
}  # fmt: skip
_TABLE: Final = {code: action for action, codes in _CODES.items() for code in codes}

# Codes whose backoff should start longer than the usual one (the API asks for it on 50303).
SLOW_RETRY: Final = frozenset({50303})

# HTTP statuses that carry no usable envelope.
_HTTP: Final[dict[int, Action]] = {401: Action.STOP, 402: Action.STOP, 429: Action.SLOW_DOWN}


def classify(code: int | None) -> Action:
    """What to do with an API status code. Unknown 4xxxx codes fail, unknown 5xxxx retry."""
    if code is None:
        return Action.RETRY
    action = _TABLE.get(code)
    if action is not None:
        return action
    return Action.RETRY if code >= 50000 else Action.FAIL


def classify_http(status: int) -> Action:
    """What to do with an HTTP status whose body is not an envelope (HTML 500s, proxies)."""
    if status in _HTTP:
        return _HTTP[status]
    if status >= 500:
        return Action.RETRY
    return Action.FAIL
