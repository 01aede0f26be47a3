"""The bytes on the wire: request bodies out, task outcomes in. No I/O here.

`build_task` is the one place a task is made, `encode_tasks` the one place a request body is
built, and `read` turns what came back (an HTTP answer, or a `NetworkFailure`) into the
posted task's `Outcome`, classified by the one status table in `codes`. Every request
carries one task: the live endpoints take one a POST.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from dfs_async.codes import OK, Action, classify, classify_http
from dfs_async.endpoints import Endpoint
from dfs_async.plan import PageRequest
from dfs_async.transport import Answer, NetworkFailure

__all__ = ["Outcome", "build_task", "encode_tasks", "read"]

_ENCODER: Final = msgspec.json.Encoder()


def build_task(
    endpoint: Endpoint,
    fields: Mapping[str, Any],
    unit: Mapping[str, Any],
    page: PageRequest | None = None,
) -> dict[str, Any]:
    """The one place a task is made: the call's fields, its unit of work (a target, a query,
    a bulk pack's targets), the page's fields (None: an awaited call's page is the fields
    the caller gave, the API's defaults for the others)."""
    if page is None:
        return {**fields, **unit}
    return {**fields, **unit, **endpoint.paging.task_fields(page)}


def encode_tasks(tasks: Sequence[Mapping[str, Any]]) -> bytes:
    """The JSON body of one POST: an array of task objects."""
    return _ENCODER.encode(tasks)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one posted task ended, and what to do about it.

    `code` is the API's status code, or the HTTP status when there was no usable envelope,
    or None when there was no usable answer at all: then `failure` says why (a network
    failure, a body that does not decode).
    """

    action: Action
    code: int | None
    message: str
    cost: float = 0.0
    results: Sequence[Any] = ()  # the task's results, decoded by the endpoint's decoder
    failure: NetworkFailure | None = None

    @property
    def result(self) -> Any:
        """The task's first result (a page, a summary...), or None."""
        return self.results[0] if self.results else None

    @property
    def cause(self) -> int | str:
        """What it came from, as `Stats.retries` counts it: the code, else the failure's kind."""
        if self.code is not None:
            return self.code
        return self.failure.kind if self.failure is not None else "decode"


def _no_answer(failure: NetworkFailure) -> Outcome:
    return Outcome(classify(None), None, str(failure), failure=failure)


def read(answer: Answer | NetworkFailure, decoder: msgspec.json.Decoder[Any]) -> Outcome:
    """The outcome of the one task posted.

    Envelope-wide answers (account, rate, a failed request) apply to the task; otherwise its
    own code counts. The cost is taken from the task (a failed task can carry one), or from
    the envelope when it has none: what the server charged.
    """
    if isinstance(answer, NetworkFailure):
        return _no_answer(answer)
    status = answer.status
    try:
        envelope = decoder.decode(answer.body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        if status != 200:
            return Outcome(classify_http(status), status, f"HTTP {status}")
        return _no_answer(NetworkFailure("decode", f"undecodable response: {exc}"))
    code = envelope.status_code
    message = envelope.status_message or ""
    task = envelope.tasks[0] if envelope.tasks else None
    cost = (task.cost if task is not None else envelope.cost) or 0.0
    if status != 200:
        action = classify_http(status)
        if code is not None and classify(code) is Action.STOP:
            action = Action.STOP
        return Outcome(action, code or status, message or f"HTTP {status}", cost)
    if code is not None and code != OK and (task is None or classify(code) is not Action.FAIL):
        return Outcome(classify(code), code, message, cost)
    if task is None:
        return _no_answer(NetworkFailure("decode", "the answer holds no task"))
    code = task.status_code
    action = classify(code)
    if action is not Action.DELIVER:
        return Outcome(action, code, task.status_message or "", task.cost or 0.0)
    return Outcome(action, code, task.status_message or "", task.cost or 0.0, task.result or ())
