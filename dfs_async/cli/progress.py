"""What a person sees on stderr while a run goes: a rich bar, plain lines, or nothing.

A rich progress bar when stderr is a terminal; a plain line every PLAIN_SECONDS otherwise
(logs of a scheduled job); nothing with --quiet. The numbers come from the client's `stats`
(requests, retries, cost) and from the writer (targets, items); both are plain attributes,
read by a ticker task, so the hot path pays nothing for the display. Every figure a person
reads is worded here: money (the library's `money`), counts of things (`plural`), the
summary.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TextIO

import anyio

from dfs_async.money import money

PLAIN_SECONDS: Final = 5.0
RICH_SECONDS: Final = 0.25


def plural(count: int, noun: str) -> str:
    """`1 target`, `2 targets` (count with thousands separators)."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def retries_text(by_cause: dict[int | str, int]) -> str:
    """`retries: 3 (50000: 2, timeout: 1)`, most frequent first."""
    total = sum(by_cause.values())
    if not total:
        return "retries: 0"
    ranked = sorted(by_cause.items(), key=lambda kv: (-kv[1], str(kv[0])))
    parts = ", ".join(f"{cause}: {n:,}" for cause, n in ranked)
    return f"retries: {total:,} ({parts})"


@dataclass
class Snapshot:
    """The figures shown: targets are for the whole audit, the rest for this invocation."""

    total: int  # targets in the audit
    done_before: int  # done by the runs this one resumes
    ok: int
    failed: int
    items: int
    requests: int  # sent
    answered: int  # of those, the ones the server answered (any HTTP status)
    retry_codes: dict[int | str, int]  # retried requests by what caused them
    cost: float
    elapsed: float
    empty: int = 0  # targets done with no item
    empty_names: tuple[str, ...] = ()  # the first few of them
    partial: float = 0.0  # the share of the unfinished targets done, in targets
    items_left: int | None = None  # the items still to come, when every total is known
    unit: str = "target"  # what `total` counts
    cached: int = 0  # answers from the response cache
    saved: float = 0.0  # what they cost when they were fetched

    @property
    def retries(self) -> int:
        return sum(self.retry_codes.values())

    @property
    def done(self) -> int:
        return self.done_before + self.ok + self.failed

    @property
    def progress(self) -> float:
        """Targets done, an unfinished one counting the share of its items written."""
        return self.done + self.partial

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        this_run = self.progress - self.done_before
        if this_run <= 0 or self.elapsed <= 0:
            return None
        return (self.total - self.progress) * self.elapsed / this_run

    @property
    def items_text(self) -> str:
        """`12,000 items`, or `12,000 of 45,000 items` when the rest is known."""
        if self.items_left is None:
            return plural(self.items, "item")
        return f"{self.items:,} of {plural(self.items + self.items_left, 'item')}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def plain_line(s: Snapshot) -> str:
    failed = f" ({s.failed} failed)" if s.failed else ""
    cached = f", {s.cached:,} from the cache" if s.cached else ""
    return (
        f"progress: {s.done:,}/{s.total:,} {s.unit}s{failed}, {s.items_text},"
        f" {s.requests:,} requests ({s.rate:.1f}/s){cached}, {s.retries:,} retries,"
        f" {money(s.cost)}, eta {duration(s.eta)}"
    )


def summary_lines(s: Snapshot, cost_before: float, label: str = "done") -> list[str]:
    """The end of a run. Requests count what was sent, and how many of them the server
    answered: attempts that never reached it are not passed off as answered requests."""
    before = f" (+{s.done_before:,} done before resuming)" if s.done_before else ""
    whole = f", {money(s.cost + cost_before)} for the whole job" if cost_before else ""
    lines = [
        f"{label}: {plural(s.ok, s.unit)} ok, {s.failed:,} failed{before};"
        f" {plural(s.items, 'item')}; {s.answered:,} of {plural(s.requests, 'request')}"
        f" answered; {retries_text(s.retry_codes)}; {money(s.cost)}{whole};"
        f" {duration(s.elapsed)}"
    ]
    if s.cached:
        lines.append(f"{plural(s.cached, 'answer')} from the cache ({money(s.saved)} not spent)")
    if s.empty:
        more = ", ..." if s.empty > len(s.empty_names) else ""
        had = "target had" if s.empty == 1 else "targets had"
        lines.append(f"{s.empty:,} {had} no items: {', '.join(s.empty_names)}{more}")
    return lines


class Display:
    """The display of one run; `mode` is "rich", "plain" or "quiet"."""

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        self.mode = mode
        self._stream = stream or sys.stderr
        self._progress: Any = None
        self._task: Any = None

    @staticmethod
    def choose(quiet: bool, stream: TextIO | None = None) -> str:
        if quiet:
            return "quiet"
        return "rich" if (stream or sys.stderr).isatty() else "plain"

    def notice(self, message: str) -> None:
        """A line for the person running the command (not shown with --quiet)."""
        if self.mode == "quiet":
            return
        self.message(message)

    def preamble(self, warnings: list[str], notices: list[str]) -> None:
        """What a job says before it starts: its warnings, then its notices."""
        for warning in warnings:
            self.message(warning)
        for notice in notices:
            self.notice(notice)

    def message(self, message: str) -> None:
        """A line always shown (errors, how to resume), without breaking the bar."""
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self._stream, flush=True)

    async def run(self, snapshot: Callable[[], Snapshot]) -> None:
        """Show progress until cancelled."""
        if self.mode == "quiet":
            await anyio.sleep_forever()
        if self.mode == "plain":
            while True:
                await anyio.sleep(PLAIN_SECONDS)
                print(plain_line(snapshot()), file=self._stream, flush=True)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        first = snapshot()
        progress = Progress(
            TextColumn(first.unit + "s"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[items]}"),
            TextColumn("{task.fields[rate]:.1f} req/s"),
            TextColumn("{task.fields[retries]:,} retries"),
            TextColumn("{task.fields[cost]}"),
            TimeRemainingColumn(),
            console=Console(file=self._stream),
            transient=True,
        )
        task = progress.add_task(
            "run",
            total=first.total,
            completed=first.done,
            items=first.items_text,
            rate=0.0,
            retries=0,
            cost=money(0),
        )
        self._progress = progress
        try:
            with progress:
                while True:
                    s = snapshot()
                    progress.update(
                        task,
                        completed=s.progress,
                        items=s.items_text,
                        rate=s.rate,
                        retries=s.retries,
                        cost=money(s.cost),
                    )
                    await anyio.sleep(RICH_SECONDS)
        finally:
            self._progress = None
