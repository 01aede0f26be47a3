"""The suite's output: a table per benchmark on the terminal, and RESULTS.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from benchmarks.harness import Section, Size, markdown_table, table, text_table

NOISE = (
    "The machine is shared: other jobs (test suites of other contributors) run on it at the "
    "same time, so absolute figures are noisy. Read the ratios: each row is divided by a "
    "baseline measured in the same run, side by side, which cancels most of the noise."
)


def render_text(sections: Sequence[Section]) -> str:
    out: list[str] = []
    for s in sections:
        out.append(f"\n{s.title}  [{s.seconds:.0f} s]")
        if s.what:
            out.append(s.what)
        if s.rows:
            out.append(text_table(table(s)))
        out += [f"  note: {n}" for n in s.notes]
        for g in s.goals:
            limit = f"  ({g.limit})" if g.limit and g.met is not True else ""
            out.append(f"  {g.verdict:8} {g.text}: {g.measured}{limit}")
    return "\n".join(out)


def render_markdown(
    sections: Sequence[Section],
    info: dict[str, str],
    command: str,
    started: datetime,
    size: Size,
) -> str:
    total = sum(s.seconds for s in sections)
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` ({size.value} sizes) on {started:%Y-%m-%d %H:%M} UTC; "
        f"the run took {total / 60:.1f} min. Do not edit: the next run rewrites this file. "
        "How each benchmark measures: `benchmarks/README.md`.",
        "",
        f"> {NOISE}",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    lines += [
        "",
        "## Goals",
        "",
        "| benchmark | goal | measured | verdict | what limits it |",
        "|---|---|---|---|---|",
    ]
    for s in sections:
        for g in s.goals:
            limit = g.limit if g.met is not True else ""
            lines.append(f"| {s.title} | {g.text} | {g.measured} | **{g.verdict}** | {limit} |")
    for s in sections:
        lines += ["", f"## {s.title}", ""]
        lines += section_markdown(s)
    return "\n".join(lines) + "\n"


def section_markdown(s: Section) -> list[str]:
    """A section's body: what it measures, its table, notes and goals, its time."""
    lines: list[str] = []
    if s.what:
        lines += [s.what, ""]
    if s.rows:
        if s.baseline:
            lines += [f"Baseline: **{s.baseline}**. ↑ higher is better, ↓ lower is better.", ""]
        lines += [markdown_table(table(s)), ""]
    lines += [f"- {n}" for n in s.notes]
    if s.goals:
        lines += [""] if s.notes else []
        lines += [
            f"- **{g.verdict}**: {g.text}: {g.measured}"
            + (f" (limited by: {g.limit})" if g.limit and g.met is not True else "")
            for g in s.goals
        ]
    lines.append(f"\n_{s.seconds:.0f} s_")
    return lines
