"""The one decision after an outcome that delivered nothing: wait and ask again, fail the
request for good, or stop the run.

- An account error (`Action.STOP`) stops the run: every other request would be refused too.
- A request error (`Action.FAIL`) fails the request at once.
- Throttling answers (40202, 40209) are not the request's fault: retried after a short pause
  (the pacing slows down meanwhile) without using up an attempt, `max_throttled` times.
- Anything else transient is retried with the policy's backoff until its attempts run out.
- Unreachable, the exact rule: when a request runs out of attempts, the server has never
  answered this client anything (any HTTP status), and the last attempt could not even
  connect (a `NetworkFailure` of kind "connect": refused, DNS failure, no route, TLS handshake
  refused), every other target would fail the same way: the run (or the single call) stops
  with `Unreachable` instead of failing each target after attempts of its own. Once anything
  was answered, network errors are one request's (retried, then its target's Failure), as
  any transient error; so are timeouts (the server took the connection: it is there).
"""

from __future__ import annotations

from dataclasses import dataclass

from dfs_async.codes import Action
from dfs_async.errors import AccountError, RunStopped, Unreachable
from dfs_async.retry import RetryPolicy
from dfs_async.wire import Outcome

__all__ = ["Tries", "after"]

_THROTTLED = (Action.SLOW_DOWN, Action.FEWER_AT_ONCE)


@dataclass(slots=True)
class Tries:
    """Requests sent for one page, and how many of them were free (throttled) retries."""

    sent: int = 0
    free: int = 0


def after(
    outcome: Outcome,
    tries: Tries,
    policy: RetryPolicy,
    *,
    reached: bool,
    base_url: str,
    key: str,
) -> float | RunStopped | None:
    """What follows `outcome` (which delivered nothing) of a page tried `tries` times:
    seconds to wait before asking again, the RunStopped that ends the run, or None when the
    request failed for good. `reached`: the server has answered this client once; `base_url`
    and `key` name the server and the unit of work in an Unreachable."""
    action = outcome.action
    if action is Action.STOP:
        return AccountError(outcome.code, outcome.message)
    if action is Action.FAIL:
        return None
    if action in _THROTTLED and tries.free < policy.max_throttled:
        tries.free += 1
        return policy.throttle_delay(tries.free)
    attempts = tries.sent - tries.free
    if not policy.exhausted(attempts):
        return policy.delay(attempts, outcome.code)
    failure = outcome.failure
    if not reached and failure is not None and failure.kind == "connect":
        return Unreachable(base_url, key, failure)
    return None
