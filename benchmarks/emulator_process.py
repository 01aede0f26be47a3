"""The emulator in its own process, reporting its counters when asked to stop.

`python -m benchmarks.emulator_process CONFIG_JSON` serves `EmulatorConfig(**CONFIG_JSON)`
(with `faults` as FaultConfig fields) on 127.0.0.1 and prints its base URL; when its stdin
closes, it prints the emulator's counters as one JSON line, with `arrivals`: the requests,
their time in flight and the time, over the whole run and over its steady part (`Arrivals`).
`warm_hosts: N` in the config builds the corpus of the first N targets the benchmark clients
name before serving (a host's links and its pages' summaries), so the run's first answers
are not slower than the others. A separate process keeps the server's work off the measured
client's core and GIL; the counters are the server's own word on what it saw (requests,
answers by status code, most simultaneous requests).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from typing import Any, Final

from benchmarks.clients import target_names
from benchmarks.harness import emit
from dfs_async.emulator import Emulator, EmulatorConfig, FaultConfig, serving_emulator

LOGIN = PASSWORD = "bench"


def config_from(spec: dict[str, Any]) -> EmulatorConfig:
    spec = dict(spec)
    faults = FaultConfig(**spec.pop("faults", {}))
    spec.setdefault("accounts", {LOGIN: PASSWORD})
    return EmulatorConfig(**spec, faults=faults)


# The share of a run's requests left out at each end for its steady state (`Arrivals`).
EDGE: Final = 0.1

Reading = tuple[float, int, float]  # (time.monotonic(), requests, in-flight seconds)


class Arrivals(threading.Thread):
    """When requests arrived: the emulator's request count read every `every` seconds, kept
    at each change with the requests' time in flight so far (`Counters.in_flight_seconds_at`).

    `span` gives two stretches of the run: `whole`, from the first reading to the last (the
    client's start-up before the first arrival and the last answers' latency do not count),
    and `steady`, without the first and the last `EDGE` of the requests: a finite run starts
    by filling its slots (a paced client spreads its first requests out) and ends with fewer
    requests owed than slots, and both ends would weigh on a short run more than on a long
    one. Over a stretch, the requests over its time are the rate, and the time in flight over
    its time is the mean number of requests in flight: how busy the account's slots were.
    """

    def __init__(self, app: Emulator, every: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.app, self.every = app, every
        self.readings: list[Reading] = []
        self.done = threading.Event()

    def run(self) -> None:
        seen = 0
        while not self.done.wait(self.every):
            counters = self.app.counters
            count = counters.requests
            if count != seen:
                seen, now = count, time.monotonic()
                self.readings.append((now, count, counters.in_flight_seconds_at(now)))

    def span(self) -> dict[str, dict[str, float]]:
        self.done.set()
        self.join()
        readings = self.readings
        if len(readings) < 2:
            return {}
        first, last = readings[0], readings[-1]
        edge = (last[1] - first[1]) * EDGE
        start = next(r for r in readings if r[1] >= first[1] + edge)
        end = next(r for r in reversed(readings) if r[1] <= last[1] - edge)
        whole = _stretch(first, last)
        return {"whole": whole, "steady": _stretch(start, end) if end[0] > start[0] else whole}


def _stretch(start: Reading, end: Reading) -> dict[str, float]:
    return {
        "seconds": end[0] - start[0],
        "requests": end[1] - start[1],
        "in_flight_s": end[2] - start[2],
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    warm = spec.pop("warm_hosts", 0)
    config = config_from(spec)
    with serving_emulator(config) as emu:
        for host in target_names(warm):
            emu.app.corpus.answer_task("domain_pages_summary", {"target": host, "limit": 1})
        warmed = time.process_time()
        arrivals = Arrivals(emu.app)
        arrivals.start()
        sys.stdout.write(emu.base_url + "\n")
        sys.stdout.flush()
        sys.stdin.read()
        counters = dataclasses.asdict(emu.app.counters)
        counters["arrivals"] = arrivals.span()
    counters["by_status"] = {str(k): v for k, v in counters["by_status"].items()}
    counters["cpu"] = time.process_time() - warmed
    emit(counters)


if __name__ == "__main__":
    main()
