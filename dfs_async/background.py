"""The end of a stream's background work: one rule for every `async with` stream.

A stream (`RecordStream`, `AuditStream`) runs its work in a task group entered by its
`__aenter__` and left by its `__aexit__`, with the caller's block in between.
"""

from __future__ import annotations

from types import TracebackType

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream

__all__ = ["end_background"]


async def end_background(
    task_group: TaskGroup,
    receive: MemoryObjectReceiveStream[object],
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
) -> bool | None:
    """Cancel the work, wait for it and close `receive`, so that the block's own exception
    (if any) propagates as it is; what `__aexit__` returns."""
    task_group.cancel_scope.cancel()
    body_failed = exc is not None
    if exc is not None and not isinstance(exc, anyio.get_cancelled_exc_class()):
        # The block raised (RunStopped from the iteration, or the caller's own error):
        # close the group as if it ended normally, so the error propagates as it is
        # (trio would wrap it in an ExceptionGroup).
        exc_type = exc = tb = None
    try:
        suppress = await task_group.__aexit__(exc_type, exc, tb)
    except BaseExceptionGroup as group:
        # One failure inside (say, from the caller's own target iterator): raise it as it
        # is rather than wrapped in a group the caller did not ask for.
        sole: BaseException = group
        while isinstance(sole, BaseExceptionGroup) and len(sole.exceptions) == 1:
            sole = sole.exceptions[0]
        if sole is group:
            raise
        raise sole from None
    finally:
        # Only now: a sender still blocked when the stream closed would raise
        # BrokenResourceError instead of taking its cancellation.
        receive.close()
    # Never swallow the block's own exception (trio's nursery answers True when it was
    # told the block ended normally).
    return None if body_failed else suppress
