"""Which fault, if any, hits a request: a seeded draw, and a guarantee that it passes.

The draw sequence is reproducible for a given `FaultConfig.seed` and order of requests. A
request body faulted `max_consecutive` times in a row goes through on its next try, so a
client that retries always gets there, whatever the rates.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from dfs_async.emulator.config import FAULT_KINDS, FaultConfig

HTML_500 = (
    b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    b"<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Draw:
    latency: float
    kind: str | None


NO_FAULT = Draw(0.0, None)


class FaultPlan:
    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rnd = random.Random(config.seed)
        self._streaks: dict[bytes, int] = {}
        self._arrivals = random.Random(config.seed)

    def arrival_delay(self) -> float:
        """Seconds a rate-limited request takes to reach the account's counter (0: none)."""
        c = self.config
        if not c.arrival_delay_max:
            return 0.0
        return self._arrivals.uniform(c.arrival_delay_min, c.arrival_delay_max)

    def draw(self, body: bytes) -> Draw:
        """The latency and fault kind (or None) for a request with this body."""
        c = self.config
        if not c.any:
            return NO_FAULT
        latency = self._rnd.uniform(c.latency_min, c.latency_max) if c.latency_max else 0.0
        u = self._rnd.random()
        kind = None
        edge = 0.0
        for name in FAULT_KINDS:
            edge += getattr(c, name)
            if u < edge:
                kind = name
                break
        key = hashlib.blake2b(body, digest_size=16).digest()
        if kind is None or self._streaks.get(key, 0) >= c.max_consecutive:
            self._streaks.pop(key, None)
            return Draw(latency, None)
        if len(self._streaks) > 100_000:  # bodies abandoned by their clients
            self._streaks.clear()
        self._streaks[key] = self._streaks.get(key, 0) + 1
        return Draw(latency, kind)
