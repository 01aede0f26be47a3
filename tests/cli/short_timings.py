"""`python -m tests.cli.short_timings ARGS...`: `dfs-async ARGS...` with the shared limits'
timings shortened so that a test of real processes takes seconds: a lease of 2 s (a process
killed with -9 gives its slots back within it), a patience of 1 s (Redis lost stops a run
after it), wake-ups polled every 0.2 s; and the rate's window, when $TEST_WINDOW gives one
(seconds, as the emulator's `window_seconds`).
"""

from __future__ import annotations

import os
import sys

from dfs_async import pacing, shared_limits
from dfs_async.cli import main

LEASE = 2.0
PATIENCE = 1.0

if __name__ == "__main__":
    shared_limits.LEASE = LEASE  # type: ignore[misc]
    shared_limits.PATIENCE = PATIENCE  # type: ignore[misc]
    shared_limits.POLL = 0.2  # type: ignore[misc]
    if "TEST_WINDOW" in os.environ:
        pacing.WINDOW = float(os.environ["TEST_WINDOW"])  # type: ignore[misc]
    sys.exit(main())
