"""The emulator in its own process, reporting its counters when asked to stop.

`python -m benchmarks.emulator_process CONFIG_JSON` serves `EmulatorConfig(**CONFIG_JSON)`
(with `faults` as FaultConfig fields) on 127.0.0.1, prints its base URL, and when its stdin
closes prints the emulator's counters as one JSON line, with `arrivals`: when the first and
the last request arrived (`Arrivals`). A separate process keeps the server's
work off the measured client's core and GIL; the counters are the server's own word on what it
saw (requests, answers by status code, most simultaneous requests).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from typing import Any

from benchmarks.harness import emit
from dfs_async.emulator import Emulator, EmulatorConfig, FaultConfig, serving_emulator

LOGIN = PASSWORD = "bench"


def config_from(spec: dict[str, Any]) -> EmulatorConfig:
    spec = dict(spec)
    faults = FaultConfig(**spec.pop("faults", {}))
    spec.setdefault("accounts", {LOGIN: PASSWORD})
    return EmulatorConfig(**spec, faults=faults)


class Arrivals(threading.Thread):
    """When requests arrived: the emulator's request count read every `every` seconds, and
    the first and the last reading at which it changed (`span`). The steady rate of a run is
    the requests between the two over the time between them: neither the client's start-up
    nor the last answers' latency (the ends of a finite run) count."""

    def __init__(self, app: Emulator, every: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.app, self.every = app, every
        self.first: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None
        self.done = threading.Event()

    def run(self) -> None:
        seen = 0
        while not self.done.wait(self.every):
            count = self.app.counters.requests
            if count != seen:
                seen, now = count, time.monotonic()
                self.last = (now, count)
                self.first = self.first or self.last

    def span(self) -> dict[str, float]:
        self.done.set()
        self.join()
        if self.first is None or self.last is None:
            return {}
        return {
            "first_s": self.first[0],
            "first_count": self.first[1],
            "last_s": self.last[0],
            "last_count": self.last[1],
        }


def main() -> None:
    config = config_from(json.loads(sys.argv[1]))
    with serving_emulator(config) as emu:
        arrivals = Arrivals(emu.app)
        arrivals.start()
        sys.stdout.write(emu.base_url + "\n")
        sys.stdout.flush()
        sys.stdin.read()
        counters = dataclasses.asdict(emu.app.counters)
        counters["arrivals"] = arrivals.span()
    counters["by_status"] = {str(k): v for k, v in counters["by_status"].items()}
    counters["cpu"] = time.process_time()
    emit(counters)


if __name__ == "__main__":
    main()
