"""Decode: the same response bytes through each decoder, in items per second.

Pages of 100 and 1000 items (the emulator's corpus inside the canned server's envelope). Each
decoder runs in rounds, interleaved with the others so a noisy neighbour hurts all alike; the
best round counts. The garbage collector stays on, as in a real client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import msgspec

from benchmarks.harness import Metric, Row, Section, Size
from benchmarks.pages import page_bytes
from dfs_async.models import DomainPagesSummaryResponse

PAGE_SIZES = (100, 1000)
BASELINE = "json.loads (dicts)"


def decoders() -> dict[str, Callable[[bytes], Any]]:
    """Every decoder measured, by the name the report gives it."""
    from dataforseo_client.api_client import ApiClient  # type: ignore[import-untyped]
    from dataforseo_client.models.backlinks_domain_pages_summary_live_response_info import (  # type: ignore[import-untyped]
        BacklinksDomainPagesSummaryLiveResponseInfo as OfficialResponse,
    )

    ours = msgspec.json.Decoder(DomainPagesSummaryResponse)
    official = ApiClient()

    def official_client(data: bytes) -> Any:
        # What the official client does with a body: decode the text, json.loads, from_dict.
        return official.deserialize(
            data.decode("utf-8"), "BacklinksDomainPagesSummaryLiveResponseInfo", "application/json"
        )

    return {
        BASELINE: json.loads,
        "msgspec untyped (dicts)": msgspec.json.decode,
        "ours: msgspec Structs": ours.decode,
        "official client (json.loads + pydantic from_dict)": official_client,
        "official models, pydantic model_validate_json": OfficialResponse.model_validate_json,
    }


def check(name: str, result: Any, items: int) -> None:
    """Each decoder must have read every item, or its speed means nothing."""
    if isinstance(result, dict):
        got = len(result["tasks"][0]["result"][0]["items"])
    else:
        got = len(result.tasks[0].result[0].items)
    if got != items:
        raise RuntimeError(f"{name} decoded {got} items, expected {items}")


def seconds_per_call(fn: Callable[[bytes], Any], data: bytes, budget: float) -> float:
    """Best mean time per call over one batch sized to take about `budget` seconds."""
    start = time.perf_counter()
    fn(data)
    once = max(time.perf_counter() - start, 1e-6)
    calls = max(1, int(budget / once))
    start = time.perf_counter()
    for _ in range(calls):
        fn(data)
    return (time.perf_counter() - start) / calls


def run(size: Size) -> Section:
    rounds = size.pick(1, 3, 5)
    budget = {Size.TINY: 0.0, Size.QUICK: 0.05, Size.FULL: 0.25}[size]
    section = Section(
        key="decode",
        title="Decode",
        what=(
            "One response body decoded into objects, pages of 100 and 1000 items "
            f"({', '.join(f'{n} items: {len(page_bytes(n)):,} bytes' for n in PAGE_SIZES)}); "
            f"best of {rounds} interleaved rounds."
        ),
        baseline=BASELINE,
        metrics=[Metric(f"items_s_{n}", f"items/s, {n}/page", "items/s", True) for n in PAGE_SIZES],
    )
    bodies = {n: page_bytes(n) for n in PAGE_SIZES}
    fns = decoders()
    best: dict[str, dict[int, float]] = {name: {} for name in fns}
    for name, fn in fns.items():
        for n, body in bodies.items():
            check(name, fn(body), n)
    for _ in range(rounds):
        for n, body in bodies.items():
            for name, fn in fns.items():
                t = seconds_per_call(fn, body, budget)
                best[name][n] = min(t, best[name].get(n, t))
    for name, times in best.items():
        section.rows.append(Row(name, {f"items_s_{n}": n / t for n, t in times.items()}))
    ours = section.ratio("ours: msgspec Structs", "items_s_1000") or 0.0
    official = section.ratio("official client (json.loads + pydantic from_dict)", "items_s_1000")
    if official:
        section.notes.append(
            f"Our typed decode reads {ours / official:.1f}x as many items per second as the "
            "official client's path (1000-item pages), and produces typed objects besides."
        )
    return section
