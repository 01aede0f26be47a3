"""The audit's report: one HTML page to look at, that opens offline.

`render(rows, info)` turns the audit's joined rows (one mapping per domain: `target`, then its
columns; a part that failed for a domain leaves its cells empty) into a page that holds all it
shows: the run's facts, charts as inline SVG, and a table that sorts in place (a few lines of
inline script). Nothing is fetched, so the page opens from a file, offline, or as an e-mail's
attachment.

The charts are Vega-Lite specs built with altair and drawn to SVG by vl-convert (an embedded
engine, no browser), so no chart library ships inside the page: 10 domains make a page of
under 100 KB, 10,000 of about 2 MB. Both come with the `report` extra; `check_report()` says
what to install before a run spends anything. The table holds every row up to `TABLE_ROWS`
(past that the highest ranked, with a note: the charts still count every row), a compact
line a row.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from dfs_async.audit import PERIOD
from dfs_async.cli import UsageError
from dfs_async.models.requests import RankScale

if TYPE_CHECKING:
    import altair as alt

MISSING_EXTRA: Final = "the report needs altair and vl-convert: pip install 'dfs-async[report]'"
TABLE_ROWS: Final = 10_000
"""Rows the table holds at most (about 200 bytes each with `--with summary`)."""
SCATTER_POINTS: Final = 1_000
"""Past this many domains, rank against referring domains is drawn as a density."""
TOP_DOMAINS: Final = 20
"""Domains in the new-against-lost chart: the highest ranked."""
TOP_KEYS: Final = 15
"""Bars in a chart of a summary map (top-level domains, countries): the most links."""

RANK_MAX: Final[dict[str, int]] = {"one_hundred": 100, "one_thousand": 1000}
SERVERS: Final[dict[str, str]] = {
    "emulator": "the built-in emulator (made-up figures)",
    "sandbox": "the DataForSEO sandbox (made-up figures)",
    "api": "the DataForSEO API",
}
NEW, LOST = "#59a14f", "#e15759"
# vl-convert lays text out with the first of these it has, a browser draws it with the first
# it has: wide ones first, so that text never outgrows the room it was given.
FONT: Final = "DejaVu Sans, Verdana, Bitstream Vera Sans, sans-serif"
_API_DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d")


@dataclass(frozen=True, kw_only=True)
class ReportInfo:
    """What the page says about the run; the rows say the rest."""

    domains: int
    ran_at: datetime
    server: str
    """Where the requests went: "emulator", "sandbox", "api", or the base URL given."""
    cost: float | None
    """What the API charged for the whole audit, in USD (None: not known)."""
    date_from: date | None = None
    """The period the new and lost columns cover; None: the API's default, a month back."""
    date_to: date | None = None
    rank_scale: RankScale = "one_thousand"


def check_report() -> None:
    """Raise UsageError naming the `report` extra unless its libraries import."""
    try:
        import altair  # noqa: F401
        import vl_convert  # noqa: F401
    except ImportError:
        raise UsageError(MISSING_EXTRA) from None


def write_report(
    path: str | Path,
    rows: Iterable[Mapping[str, Any]],
    info: ReportInfo,
    *,
    table_rows: int = TABLE_ROWS,
) -> None:
    """Write the page to `path`: beside it first, then renamed over it, never half a page."""
    path = Path(path)
    page = render(rows, info, table_rows=table_rows)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)


def render(
    rows: Iterable[Mapping[str, Any]], info: ReportInfo, *, table_rows: int = TABLE_ROWS
) -> str:
    """The page, as text."""
    check_report()
    rows = list(rows)
    charts = "".join(f"<figure>{svg}</figure>" for svg in _charts(rows, info))
    return PAGE.format(
        title=f"Backlinks audit of {info.domains:,} domains",
        facts=_facts(info),
        charts=charts or "<p>No figures to chart.</p>",
        table=_table(rows, table_rows),
        style=STYLE,
        script=SCRIPT,
    )


# -- the run's facts --------------------------------------------------------------------------


def _facts(info: ReportInfo) -> str:
    if info.date_from is None:
        period = "the API's default: the last month"
    else:
        period = f"{info.date_from:%Y-%m-%d} to {info.date_to or info.ran_at:%Y-%m-%d}"
    facts = {
        "New and lost since": period,
        "Rank": f"0 to {RANK_MAX[info.rank_scale]:,} ({info.rank_scale})",
        "Ran": f"{info.ran_at:%Y-%m-%d %H:%M %Z}".strip(),
        "Domains": f"{info.domains:,}",
        "Cost": "not known" if info.cost is None else f"${info.cost:,.5f}",
        "Server": SERVERS.get(info.server) or _without_user(info.server),
    }
    return "".join(f"<dt>{k}<dd>{html.escape(v)}" for k, v in facts.items())


def _without_user(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


# -- the table --------------------------------------------------------------------------------


def _table(rows: list[Mapping[str, Any]], most: int) -> str:
    columns = _columns(rows)
    shown = rows
    note = ""
    if len(rows) > most:
        shown = sorted(rows, key=_by_rank)[:most]
        note = (
            f"<p class=note>The table shows the {most:,} highest ranked of {len(rows):,}"
            " domains; the charts count them all, and the audit's output holds every row.</p>"
        )
    numeric = {c for c in columns if _is_numeric(rows, c)}
    head = "".join(
        f"<th{' class=num' if c in numeric else ''}><button>{_header(c)}</button>" for c in columns
    )
    body = "\n".join("<tr><td>" + "<td>".join(_cell(r.get(c)) for c in columns) for r in shown)
    return (
        f"{note}<div class=table><table class=sortable><thead><tr>{head}</thead><tbody>\n"
        f"{body}\n</tbody></table></div>"
    )


def _by_rank(row: Mapping[str, Any]) -> float:
    """Highest rank first, no rank last."""
    rank = _number(row.get("rank"))
    return math.inf if rank is None else -rank


def _columns(rows: list[Mapping[str, Any]]) -> list[str]:
    """`target` and every scalar column (maps are in the charts), in the rows' order; a
    `summary_X` that repeats column X in every row is shown once, and the new/lost period
    not at all (the facts above say it)."""
    seen: dict[str, None] = {"target": None}
    for row in rows:
        seen.update(dict.fromkeys(row))
    for column in PERIOD:
        seen.pop(column, None)
    scalar = [c for c in seen if all(_is_scalar(r.get(c)) for r in rows)]
    return [c for c in scalar if not _repeats(rows, c, scalar)]


def _repeats(rows: list[Mapping[str, Any]], column: str, columns: list[str]) -> bool:
    other = column.removeprefix("summary_")
    if other == column or other not in columns:
        return False
    return all(r.get(column) is None or r.get(column) == r.get(other) for r in rows)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | date)


def _is_numeric(rows: list[Mapping[str, Any]], column: str) -> bool:
    values = [r.get(column) for r in rows]
    return any(v is not None for v in values) and all(
        v is None or _number(v) is not None for v in values
    )


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _header(column: str) -> str:
    return html.escape(column).replace("_", "_<wbr>")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, date):  # a datetime too: the day is what a table of domains needs
        return f"{value:%Y-%m-%d}"
    text = str(value)
    return text[:10] if _API_DATETIME.fullmatch(text) else html.escape(text)


# -- the charts -------------------------------------------------------------------------------


def _charts(rows: list[Mapping[str, Any]], info: ReportInfo) -> Iterable[str]:
    import altair as alt
    import vl_convert

    vl_version = "_".join(alt.SCHEMA_VERSION.split(".")[:2])  # as altair's own save does
    for chart in _chart_specs(rows, info):
        spec = chart.configure(font=FONT, aria=False).to_dict()
        yield vl_convert.vegalite_to_svg(spec, vl_version=vl_version, allowed_base_urls=[])


def _chart_specs(rows: list[Mapping[str, Any]], info: ReportInfo) -> Iterable[alt.Chart]:
    rank_max = RANK_MAX[info.rank_scale]
    ranks = _values(rows, "rank")
    if ranks:
        yield _histogram(ranks, "rank", f"Rank (0 to {rank_max:,})", rank_max, rank_max // 20)
    spam = _values(rows, "spam_score")
    if spam:
        yield _histogram(spam, "spam_score", "Spam score (0 to 100)", 100, 5)
    pairs = [
        {"rank": x, "referring_domains": y}
        for r in rows
        if (x := _number(r.get("rank"))) is not None
        and (y := _number(r.get("referring_domains"))) is not None
    ]
    if pairs:
        yield _rank_against_domains(pairs, rank_max)
    changes = _new_lost(rows)
    if changes:
        yield _new_against_lost(changes)
    for column, title, top in (
        ("summary_referring_links_types", "Referring links by type", None),
        ("summary_referring_links_tld", "Referring links by top-level domain", TOP_KEYS),
        ("summary_referring_links_countries", "Referring links by country", TOP_KEYS),
    ):
        totals = _totals(rows, column)
        if totals:
            yield _bars(totals, title, top)


def _data(values: list[dict[str, Any]]) -> dict[str, Any]:
    """Inline data as altair takes it without checking each value against the Vega-Lite
    schema (`alt.Data(values=...)` does: 10,000 values took seconds)."""
    return {"values": values}


def _values(rows: list[Mapping[str, Any]], column: str) -> list[dict[str, float]]:
    return [{column: v} for r in rows if (v := _number(r.get(column))) is not None]


def _histogram(
    values: list[dict[str, float]], column: str, title: str, top: int, step: int
) -> alt.Chart:
    import altair as alt

    chart: alt.Chart = (
        alt.Chart(_data(values), title=title, width=380, height=200)
        .mark_bar(binSpacing=1)
        .encode(
            alt.X(
                f"{column}:Q",
                bin=alt.Bin(extent=[0, top], step=step),
                title=None,
                axis=alt.Axis(tickCount=5, format="d"),
            ),
            alt.Y("count():Q", title="domains", axis=alt.Axis(tickMinStep=1, format=",d")),
        )
    )
    return chart


def _rank_against_domains(pairs: list[dict[str, Any]], rank_max: int) -> alt.Chart:
    """A dot a domain; past SCATTER_POINTS, a density (a dot costs the page 170 bytes)."""
    import altair as alt

    title = "Rank against referring domains"
    rank_axis = alt.Axis(tickCount=5, format="d")
    powers = range(len(str(int(max(p["referring_domains"] for p in pairs)))) + 1)
    chart: alt.Chart
    if len(pairs) <= SCATTER_POINTS:
        chart = (
            alt.Chart(_data(pairs), title=title, width=380, height=220)
            .mark_circle(size=30, opacity=0.6)
            .encode(
                alt.X("rank:Q", scale=alt.Scale(domain=[0, rank_max]), axis=rank_axis),
                alt.Y(
                    "referring_domains:Q",
                    scale=alt.Scale(type="symlog", domain=[0, 10 ** powers[-1]]),
                    axis=alt.Axis(values=[0, *(10**k for k in powers)], format=",d"),
                    title="referring domains",
                ),
            )
        )
        return chart
    # Binned on log10(1 + referring domains), the ticks labelled with the counts they stand for.
    ticks = [0.0, *(math.log10(1 + 10**k) for k in powers[1:])]
    chart = (
        alt.Chart(_data(pairs), title=f"{title}: {len(pairs):,} domains", width=380, height=220)
        .mark_rect()
        .transform_calculate(log_domains="log(1 + datum.referring_domains) / LN10")
        .encode(
            alt.X(
                "rank:Q",
                bin=alt.Bin(extent=[0, rank_max], maxbins=40),
                axis=rank_axis,
                title="rank",
            ),
            alt.Y(
                "log_domains:Q",
                bin=alt.Bin(step=0.25),
                title="referring domains",
                axis=alt.Axis(
                    values=ticks, labelExpr="format(round(pow(10, datum.value) - 1), ',d')"
                ),
            ),
            alt.Color("count():Q", title="domains", scale=alt.Scale(scheme="blues")),
        )
    )
    return chart


def _new_lost(rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The highest-ranked domains' new (+) and lost (-) backlinks, two bars a domain."""
    ranked = [
        r
        for r in rows
        if _number(r.get("rank")) is not None
        and (
            _number(r.get("new_backlinks")) is not None
            or _number(r.get("lost_backlinks")) is not None
        )
    ]
    ranked.sort(key=lambda r: (_by_rank(r), -(_number(r.get("backlinks")) or 0.0)))
    bars: list[dict[str, Any]] = []
    for r in ranked[:TOP_DOMAINS]:
        new, lost = _number(r.get("new_backlinks")), _number(r.get("lost_backlinks"))
        bars.append({"target": r["target"], "change": "new", "backlinks": new})
        bars.append(
            {"target": r["target"], "change": "lost", "backlinks": None if lost is None else -lost}
        )
    return bars


def _new_against_lost(bars: list[dict[str, Any]]) -> alt.Chart:
    import altair as alt

    order = list(dict.fromkeys(b["target"] for b in bars))
    chart: alt.Chart = (
        alt.Chart(
            _data(bars),
            title=f"New against lost backlinks: the {len(order)} highest ranked",
            width=380,
            height=14 * len(order),
        )
        .mark_bar()
        .encode(
            alt.X("backlinks:Q", title="backlinks lost (left) and new (right)"),
            alt.Y("target:N", sort=order, title=None, axis=alt.Axis(labelLimit=180)),
            alt.Color(
                "change:N",
                scale=alt.Scale(domain=["new", "lost"], range=[NEW, LOST]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
        )
    )
    return chart


def _totals(rows: list[Mapping[str, Any]], column: str) -> Counter[str]:
    """A summary map's counts added up over every domain (a map, or Parquet's pairs)."""
    totals: Counter[str] = Counter()
    for row in rows:
        value = row.get(column)
        pairs: Iterable[Sequence[Any]] = value.items() if isinstance(value, Mapping) else ()
        if isinstance(value, list):
            pairs = value
        for key, count in pairs:
            if key is not None and _number(count) is not None:
                totals[str(key)] += count
    return totals


def _bars(totals: Counter[str], title: str, top: int | None) -> alt.Chart:
    import altair as alt

    shown = totals.most_common(top)
    if top is not None and len(totals) > top:
        title = f"{title} (the top {top} of {len(totals)})"
    values = [{"key": k, "links": n} for k, n in shown]
    chart: alt.Chart = (
        alt.Chart(_data(values), title=title, width=380, height=16 * len(values))
        .mark_bar()
        .encode(
            alt.X("links:Q", title="referring links, all domains"),
            alt.Y("key:N", sort="-x", title=None, axis=alt.Axis(labelLimit=180)),
        )
    )
    return chart


# -- the page ---------------------------------------------------------------------------------

# The sort arrows are left out of the buttons' names (`/ ""`): `aria-sort` tells the order.
STYLE: Final = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .5em}
dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;margin:0 0 1.5em}
dt{color:#666}dd{margin:0}
.charts{display:flex;flex-wrap:wrap;gap:1em 2em;margin:0 0 1.5em}
figure{margin:0}figure svg{max-width:100%;height:auto}
.note{color:#666}
.table{overflow:auto;max-height:90vh;border:1px solid #ddd;width:max-content;max-width:100%}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th{position:sticky;top:0;background:#f3f3f3;vertical-align:bottom;padding:0}
th button{all:unset;cursor:pointer;display:block;padding:.3em .5em;max-width:9em;text-align:left}
th[aria-sort=descending] button::after{content:" \\25BC";content:" \\25BC"/""}
th[aria-sort=ascending] button::after{content:" \\25B2";content:" \\25B2"/""}
td{padding:.15em .5em;border-bottom:1px solid #eee;white-space:nowrap}
td:not(:first-child){text-align:right}
tbody tr:hover{background:#f6f9ff}
"""

# Sorts the table by the clicked column: numbers as numbers, largest first on the first
# click, text from A; empty cells last either way; a second click reverses.
SCRIPT: Final = """
for (const table of document.querySelectorAll("table.sortable")) {
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((th, i) => th.querySelector("button").addEventListener("click", () => {
    const numeric = th.classList.contains("num");
    const was = th.getAttribute("aria-sort");
    const descending = was ? was === "ascending" : numeric;
    for (const other of heads) other.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    const key = (row) => {
      const text = row.cells[i].textContent;
      return text === "" ? null : numeric ? Number(text.replace(/,/g, "")) : text;
    };
    const body = table.tBodies[0];
    const keyed = Array.from(body.rows, (row) => [key(row), row]);
    const sign = descending ? -1 : 1;
    keyed.sort(([a], [b]) =>
      a === null ? (b === null ? 0 : 1) : b === null ? -1 : a < b ? -sign : a > b ? sign : 0);
    const sorted = document.createDocumentFragment();
    for (const [, row] of keyed) sorted.append(row);
    body.append(sorted);
  }));
}
"""

PAGE: Final = """<!doctype html>
<html lang=en>
<meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1">
<title>{title}</title>
<style>{style}</style>
<h1>{title}</h1>
<dl>{facts}</dl>
<div class=charts>{charts}</div>
{table}
<script>{script}</script>
</html>
"""
