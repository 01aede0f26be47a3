"""The whole client on a shared account: `DataForSEO(shared_limits=...)` in several processes
against the emulator, part of the `shared` benchmark (`shared_limits.run`).

The emulator runs in its own process with the account's rules (30 at once, 40209 beyond; a
per-minute limit over the API's 60 s sliding window, 40202 beyond); each client process
(`benchmarks.clients ours`, its own targets, one request each) streams at the default
concurrency of 30 and the account's rate, read from user_data (`--account-rate`: less the
2% the client leaves to the account's other requests). Two cases, as in the primitive's:

- concurrency-bound: answers in 0.3-0.5 s and 100,000 requests a minute: the account allows
  30 in flight, so what counts is the slots kept busy (the mean in flight at the server);
- rate-bound: answers in 0.1-0.2 s and 2,000 requests a minute: what counts is the rate.

Both judged at the emulator over the run's steady part (`emulator_process.Arrivals`), with
its count of 40202/40209. Three processes together, and one process alone, shared and
unshared: its throughput and its CPU per request (the client's own, set-up included).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import ROOT, Goal, Row, Size, server_process

SLOTS = 30
ITEMS = 10  # a target's pages (some lost, left out): one request each
GOAL = 0.95


@dataclass(frozen=True)
class Case:
    key: str
    rate: int  # the account's requests a minute
    latency: tuple[float, float]
    slots: bool  # judged by the slots kept busy, else by the rate

    @property
    def bound(self) -> float:
        """Requests a second the account allows."""
        return min(self.rate / 60, SLOTS / (sum(self.latency) / 2))


CONC = Case("conc", 100_000, (0.3, 0.5), slots=True)
RATE = Case("rate", 2_000, (0.1, 0.2), slots=False)


def measure(size: Size, server: Any) -> tuple[list[Row], list[Goal], list[str]]:
    """Rows (`per_s`, `cpu_us`, `trips`, `redis_us`, `busy`, `refused`), goals and notes."""
    seconds = {CONC.key: size.pick(1, 8, 30), RATE.key: size.pick(1, 12, 75)}
    rows: list[Row] = []
    goals: list[Goal] = []
    notes: list[str] = []
    for case in (CONC,) if size is Size.TINY else (CONC, RATE):  # tiny: it runs, in tests
        label = f"client, {case.key}-bound"
        runs = {
            "unshared": _run(case, seconds[case.key], 1, None),
            "shared": _run(case, seconds[case.key], 1, server),
            "3 shared": _run(case, seconds[case.key], 3, server),
        }
        rows.append(Row(f"bound, {label}", {"per_s": case.bound}, _bound_text(case)))
        for name, m in runs.items():
            what = "3 processes" if name == "3 shared" else f"1 process, {name}"
            values = {k: m[k] for k in ("per_s", "cpu_us", "busy", "refused")}
            if name != "unshared":
                values |= {"trips": m["trips"], "redis_us": m["redis_us"]}
            rows.append(Row(f"{label}: {what}", values))
        three, alone, unshared = runs["3 shared"], runs["shared"], runs["unshared"]
        share = three["busy"] / SLOTS if case.slots else three["per_s"] / (case.rate / 60)
        allowed = f"of the {SLOTS} slots busy" if case.slots else "of the account's rate"
        goals.append(
            Goal(
                f"3 client processes, {case.key}-bound: ≥ {GOAL:.0%} {allowed}, 0 refused",
                f"{share:.1%}, {three['refused']:.0f} refused",
                share >= GOAL and three["refused"] == 0,
                "" if share >= GOAL else "the slots' hand-over between processes",
            )
        )
        ratio = alone["per_s"] / unshared["per_s"]
        goals.append(
            Goal(
                f"1 client process on a shared account, {case.key}-bound: ≥ 95% of its"
                " unshared throughput, 0 refused",
                f"{ratio:.1%}, {alone['refused']:.0f} refused",
                ratio >= 0.95 and alone["refused"] == 0,
                "" if ratio >= 0.95 else "a Redis round trip per request",
            )
        )
        notes.append(
            f"Client, {case.key}-bound: CPU per request {unshared['cpu_us']:.0f} µs unshared,"
            f" {alone['cpu_us']:.0f} µs shared ({alone['trips']:.2f} Redis round trips a"
            f" request), {three['cpu_us']:.0f} µs in 3 processes; at the server, the"
            f" 3 processes kept {three['busy']:.1f} of 30 slots busy and made"
            f" {three['per_s']:.1f} req/s (bound {case.bound:.1f}), at most"
            f" {three['peak']:.0f} at once; {three['requests']:,} requests."
        )
    return rows, goals, notes


def _bound_text(case: Case) -> str:
    if case.slots:
        return f"30 / {sum(case.latency) / 2:g} s"
    return f"{case.rate:,}/min"


def _run(case: Case, seconds: float, processes: int, redis: Any) -> dict[str, float]:
    """`processes` clients at once, each its share of the targets, against one emulator."""
    total = max(processes * 10, round(case.bound * seconds))
    each = -(-total // processes)
    spec = {
        "warm_hosts": each * processes,
        "rate_limit": case.rate,
        "window_seconds": 60.0,
        "max_simultaneous": SLOTS,
        "min_pages": ITEMS,
        "max_pages": ITEMS,
        "corpus_cache_size": 8192,
        "faults": {"seed": 1, "latency_min": case.latency[0], "latency_max": case.latency[1]},
    }
    if redis is not None:
        redis.flush(0)
        redis.command("CONFIG", "RESETSTAT")
        cpu_before = redis_info(redis, "cpu")
    with server_process(["-m", "benchmarks.emulator_process", json.dumps(spec)]) as emulator:
        client = [sys.executable, "-m", "benchmarks.clients", "ours", "--url", emulator.url,
                  "--targets", str(each), "--limit", str(ITEMS), "--concurrency", str(SLOTS),
                  "--account-rate"]  # fmt: skip
        if redis is not None:
            client += ["--shared-limits", f"{redis.url}/0"]
        started = [
            subprocess.Popen(
                [*client, "--start", str(p * each)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for p in range(processes)
        ]
        results = []
        for process in started:
            out, err = process.communicate(timeout=seconds * 10 + 120)
            if process.returncode != 0 or not out.strip():
                raise RuntimeError(f"a client failed:\n{err[-3000:]}")
            results.append(json.loads(out.splitlines()[-1]))
        counters = emulator.stop()
    requests = sum(r["requests"] for r in results)
    steady = counters["arrivals"]["steady"]
    by_status = counters.get("by_status", {})
    figures = {
        "per_s": steady["requests"] / steady["seconds"],
        "busy": steady["in_flight_s"] / steady["seconds"],
        "cpu_us": sum(r["cpu"] for r in results) / requests * 1e6,
        "refused": float(by_status.get("40202", 0) + by_status.get("40209", 0)),
        "peak": float(counters.get("max_simultaneous", 0)),
        "requests": float(requests),
        "trips": 0.0,
        "redis_us": 0.0,
    }
    if redis is not None:
        stats, cpu_after = redis_info(redis, "commandstats"), redis_info(redis, "cpu")
        calls = sum(int(v.split("calls=")[1].split(",")[0]) for k, v in stats.items()
                    if k in ("cmdstat_evalsha", "cmdstat_eval"))  # fmt: skip
        redis_cpu = sum(
            float(cpu_after[k]) - float(cpu_before[k]) for k in ("used_cpu_user", "used_cpu_sys")
        )
        figures |= {"trips": calls / requests, "redis_us": redis_cpu / requests * 1e6}
    return figures


def redis_info(server: Any, part: str) -> dict[str, str]:
    reply: bytes = server.command("INFO", part)
    body = reply.split(b"\r\n", 1)[1].decode()
    return dict(line.split(":", 1) for line in body.splitlines() if ":" in line)
