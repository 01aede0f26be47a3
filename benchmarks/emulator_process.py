"""The emulator in its own process, reporting its counters when asked to stop.

`python -m benchmarks.emulator_process CONFIG_JSON` serves `EmulatorConfig(**CONFIG_JSON)`
(with `faults` as FaultConfig fields) on 127.0.0.1, prints its base URL, and when its stdin
closes prints the emulator's counters as one JSON line. A separate process keeps the server's
work off the measured client's core and GIL; the counters are the server's own word on what it
saw (requests, answers by status code, most simultaneous requests).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from typing import Any

from benchmarks.harness import emit
from dfs_async.emulator import EmulatorConfig, FaultConfig, serving_emulator

LOGIN = PASSWORD = "bench"


def config_from(spec: dict[str, Any]) -> EmulatorConfig:
    spec = dict(spec)
    faults = FaultConfig(**spec.pop("faults", {}))
    spec.setdefault("accounts", {LOGIN: PASSWORD})
    return EmulatorConfig(**spec, faults=faults)


def main() -> None:
    config = config_from(json.loads(sys.argv[1]))
    with serving_emulator(config) as emu:
        sys.stdout.write(emu.base_url + "\n")
        sys.stdout.flush()
        sys.stdin.read()
        counters = dataclasses.asdict(emu.app.counters)
    counters["by_status"] = {str(k): v for k, v in counters["by_status"].items()}
    counters["cpu"] = time.process_time()
    emit(counters)


if __name__ == "__main__":
    main()
