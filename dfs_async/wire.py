"""The bytes on the wire: request bodies out, task outcomes in. No I/O here.

`prepare_fields` checks a call's request fields against the endpoint spec once (before
anything is sent), `encode_tasks` is the one place a request body is built, and `read`
turns what came back (an HTTP status and body, or a network error) into one `Outcome` per
posted task, classified by the one status table in `codes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from dfs_async.codes import OK, Action, classify, classify_http
from dfs_async.endpoints import Endpoint
from dfs_async.errors import ValidationError
from dfs_async.filters import Expr
from dfs_async.plan import PageRequest, pack_fields

__all__ = ["Outcome", "build_pack_task", "build_task", "encode_tasks", "prepare_fields", "read"]

_ENCODER: Final = msgspec.json.Encoder()


def prepare_fields(endpoint: Endpoint, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check every field but the unit of work's (builder filters become lists); nulls mean
    default. Raises UnknownField / ValidationError naming the field and the rule.
    """
    probe = endpoint.stand_in
    for name in probe:
        if name in fields:
            raise ValidationError(name, "pass the target(s) as the first argument")
    plain = {k: v.to_list() if isinstance(v, Expr) else v for k, v in fields.items()}
    checked = endpoint.check_task({**plain, **probe})
    for name in probe:
        del checked[name]
    return checked


def build_task(
    endpoint: Endpoint, fields: Mapping[str, Any], unit: Mapping[str, Any], page: PageRequest
) -> dict[str, Any]:
    """The one place a task is made: the call's fields, its unit of work, the page's fields."""
    return {**fields, **unit, **endpoint.paging.task_fields(page)}


def build_pack_task(fields: Mapping[str, Any], targets: Iterable[str]) -> dict[str, Any]:
    """One task for a bulk pack: the call's fields and the pack's targets, in order."""
    return {**fields, **pack_fields(targets)}


def encode_tasks(tasks: Sequence[Mapping[str, Any]]) -> bytes:
    """The JSON body of one POST: an array of task objects."""
    return _ENCODER.encode(tasks)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one posted task ended, and what to do about it.

    `code` is the API's status code, or the HTTP status when there was no usable envelope,
    or None when there was no answer at all (network error, truncated body).
    """

    action: Action
    code: int | None
    message: str
    cost: float = 0.0
    results: Sequence[Any] = ()  # the task's results, decoded by the endpoint's decoder

    @property
    def result(self) -> Any:
        """The task's first result (a page, a summary...), or None."""
        return self.results[0] if self.results else None


def read(
    status: int | None,
    body: bytes,
    n_tasks: int,
    decoder: msgspec.json.Decoder[Any],
    *,
    error: str = "",
) -> list[Outcome]:
    """One outcome per posted task, in posting order.

    `status` None means the exchange failed (`error` says how). Envelope-wide answers
    (account, rate, a failed request) apply to every task; otherwise each task's own code
    counts. The cost is taken from the tasks (a failed task can carry one), or from the
    envelope when it has no tasks, so their sum is what the server charged.
    """
    if status is None:
        return _all(n_tasks, Outcome(Action.RETRY, None, error or "network error"))
    try:
        envelope = decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        if status != 200:
            return _all(n_tasks, Outcome(classify_http(status), status, f"HTTP {status}"))
        return _all(n_tasks, Outcome(Action.RETRY, None, f"undecodable response: {exc}"))
    code = envelope.status_code
    message = envelope.status_message or ""
    tasks = envelope.tasks or []
    if status != 200:
        action = classify_http(status)
        if code is not None and classify(code) is Action.STOP:
            action = Action.STOP
        return _with_cost(
            n_tasks,
            Outcome(action, code or status, message or f"HTTP {status}"),
            tasks,
            envelope.cost,
        )
    envelope_wide = code is not None and code != OK
    if envelope_wide and (not tasks or classify(code) is not Action.FAIL):
        return _with_cost(n_tasks, Outcome(classify(code), code, message), tasks, envelope.cost)
    outcomes = [_task(task) for task in tasks[:n_tasks]]
    if len(outcomes) < n_tasks:
        missing = Outcome(Action.RETRY, None, "the response lacks this task")
        outcomes.extend(missing for _ in range(n_tasks - len(outcomes)))
    return outcomes


def _task(task: Any) -> Outcome:
    code = task.status_code
    message = task.status_message or ""
    cost = task.cost or 0.0
    action = classify(code)
    if action is not Action.DELIVER:
        return Outcome(action, code, message, cost)
    return Outcome(action, code, message, cost, task.result or ())


def _all(n: int, outcome: Outcome) -> list[Outcome]:
    return [outcome] * n


def _with_cost(
    n: int, outcome: Outcome, tasks: Sequence[Any], envelope_cost: float | None
) -> list[Outcome]:
    """The same outcome for every task, each carrying its task's cost (or the envelope's)."""
    costs = [task.cost or 0.0 for task in tasks[:n]]
    if not tasks:
        costs = [envelope_cost or 0.0]
    costs.extend(0.0 for _ in range(n - len(costs)))
    return [Outcome(outcome.action, outcome.code, outcome.message, cost) for cost in costs]
