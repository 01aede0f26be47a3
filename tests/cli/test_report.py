"""The audit's report: one page made of a real audit's rows (the emulator's figures), that
fetches nothing, shows every row and the charts, and sorts its table in a real Chromium."""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from dfs_async import read_targets
from dfs_async.cli import UsageError
from dfs_async.cli.report import (
    MISSING_EXTRA,
    ReportInfo,
    check_report,
    render,
    write_report,
)

from .helpers import REPO
from .report_page import Audit, audit_rows, chromium, colours, offline_page

# The README's domains, made-up ones for a fuller picture, and a line the audit cannot use:
# its row has the raw text and no figures.
BAD = "<b>not a domain</b>"
MADE_UP = [f"shop{i}.example.net" for i in range(60)]
DOMAINS = [*read_targets(REPO / "examples" / "targets.txt"), *MADE_UP, BAD]
SUMMARY_CHARTS = 3  # link types, top-level domains, countries


class Page(HTMLParser):
    """What a browser makes of the page: the table's cells, the charts, what it would fetch."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.svgs = 0
        self.tags: set[str] = set()
        self.fetches: list[str] = []  # any src or href attribute
        self.text = ""  # what it reads
        self.urls = set(re.findall(r"\w+://[^\s\"'<>)]+", text))
        self._section: str | None = None
        self.feed(text)
        self.close()
        self.headers = [h.strip() for h in self.headers]
        self.rows = [[cell.strip() for cell in row] for row in self.rows]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.fetches += [f"{tag} {k}={v}" for k, v in attrs if k.endswith(("src", "href"))]
        if tag == "svg":
            self.svgs += 1
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "th":
            self.headers.append("")
        elif tag == "tr" and self._section == "tbody":
            self.rows.append([])
        elif tag == "td":
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("thead", "tbody"):
            self._section = None

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._section == "thead" and self.headers:
            self.headers[-1] += data
        elif self._section == "tbody" and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data

    def column(self, name: str) -> list[str]:
        i = self.headers.index(name)
        return [row[i] for row in self.rows]


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Audit:
    return audit_rows(tmp_path_factory.mktemp("audit"), DOMAINS)


@pytest.fixture(scope="module")
def page_file(audit: Audit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "audit.html"
    write_report(path, audit.rows, audit.info)
    return path


def number(text: str) -> float | None:
    return None if text == "" else float(text.replace(",", ""))


def cell(value: Any) -> str:
    return "" if value is None else f"{value:,}"


NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
needs_chromium = pytest.mark.skipif(
    chromium() is None and os.environ.get("CI") != "true",
    reason="no chromium (apt-get install chromium); CI installs it",
)


def test_one_page_of_every_row_that_fetches_nothing(audit: Audit, page_file: Path) -> None:
    page = Page(page_file.read_text(encoding="utf-8"))
    targets = {row["target"] for row in audit.rows}  # a page target is a URL, shown as text
    assert page.urls - targets <= NAMESPACES  # no other address but the SVG namespaces
    assert page.fetches == []
    assert "link" not in page.tags and "img" not in page.tags
    assert page.column("target") == [row["target"] for row in audit.rows]  # the audit's order
    assert "b" not in page.tags  # the bad line is text, not markup
    bad = page.rows[page.column("target").index(BAD)]
    assert bad[1:] == [""] * (len(bad) - 1)  # its figures empty, not zero
    for name in ("rank", "backlinks", "spam_score", "new_backlinks", "summary_crawled_pages"):
        assert page.column(name) == [cell(row.get(name)) for row in audit.rows], name
    first_seen = {r["target"]: r["summary_first_seen"] for r in audit.rows}
    shown = dict(zip(page.column("target"), page.column("summary_first_seen"), strict=True))
    assert shown["forbes.com"] == first_seen["forbes.com"][:10]  # the day, as the API wrote it
    # Maps are charted, not tabled; a summary column that repeats a bulk one is shown once.
    assert "summary_referring_links_tld" not in page.headers
    assert "summary_rank" not in page.headers and "rank" in page.headers
    assert page.svgs == 4 + SUMMARY_CHARTS


def test_the_facts_of_the_run(audit: Audit, page_file: Path) -> None:
    text = Page(page_file.read_text(encoding="utf-8")).text
    info = audit.info
    assert f"Backlinks audit of {len(audit.rows)} domains" in text  # a URL read as its domain
    assert f"New and lost since{info.date_from} to {info.date_to}" in text
    assert "Rank0 to 1,000 (one_thousand)" in text
    assert info.cost is not None and info.cost > 0
    assert f"Cost${info.cost:,.5f}" in text
    assert "Serverthe built-in emulator (made-up figures)" in text
    assert f"Ran{info.ran_at:%Y-%m-%d %H:%M} UTC" in text


def test_without_the_summary_the_four_charts_of_the_bulk_columns(audit: Audit) -> None:
    rows = [{k: v for k, v in r.items() if not k.startswith("summary_")} for r in audit.rows]
    info = ReportInfo(
        domains=len(rows), ran_at=audit.info.ran_at, server="api", cost=None,
        rank_scale="one_hundred",
    )  # fmt: skip
    page = Page(render(rows, info))
    assert page.svgs == 4
    assert not any(h.startswith("summary_") for h in page.headers)
    assert "New and lost sincethe API's default: the last month" in page.text
    assert "Rank0 to 100 (one_hundred)" in page.text
    assert "Rank (0 to 100)" in page.text  # the histogram's title
    assert "Costnot known" in page.text and "Serverthe DataForSEO API" in page.text


def test_missing_columns_and_empty_cells_are_tolerated() -> None:
    info = ReportInfo(domains=3, ran_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC), server="sandbox",
                      cost=0.0)  # fmt: skip
    rows = [
        {"target": "a.com"},  # every part failed
        {"target": "b.com", "rank": None, "spam_score": 3},
        {"target": "c.com", "rank": 400, "new_backlinks": 5, "summary_info": {"country": "DE"}},
    ]
    page = Page(render(rows, info))
    assert page.headers == ["target", "rank", "spam_score", "new_backlinks"]
    assert page.rows == [["a.com", "", "", ""], ["b.com", "", "3", ""], ["c.com", "400", "", "5"]]
    assert page.svgs == 3  # rank, spam score, new against lost; no pair for the scatter
    empty = render([], info)
    assert "No figures to chart." in empty and Page(empty).rows == []


def test_a_base_url_is_named_without_its_user() -> None:
    info = ReportInfo(domains=0, ran_at=datetime.now(UTC), cost=None,
                      server="https://me:secret@proxy.example:8443/v3")  # fmt: skip
    text = Page(render([], info)).text
    assert "Serverhttps://proxy.example:8443/v3" in text and "secret" not in text


def test_past_table_rows_the_highest_ranked_with_a_note(audit: Audit) -> None:
    page = Page(text := render(audit.rows, audit.info, table_rows=10))
    ranks = sorted((r["rank"] for r in audit.rows if r["rank"] is not None), reverse=True)
    assert page.column("rank") == [f"{r:,}" for r in ranks[:10]]
    assert f"The table shows the 10 highest ranked of {len(audit.rows)} domains" in text
    assert page.svgs == 4 + SUMMARY_CHARTS  # the charts count every row


def test_parquet_values_make_the_same_page(audit: Audit) -> None:
    """Read back from Parquet, datetimes are datetimes and maps lists of pairs."""

    def as_parquet(row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        if row.get("summary_first_seen"):
            out["summary_first_seen"] = datetime.strptime(
                row["summary_first_seen"], "%Y-%m-%d %H:%M:%S %z"
            )
        for k, v in row.items():
            if k.startswith("summary_referring_links_") and v is not None:
                out[k] = list(v.items())
        return out

    assert render(map(as_parquet, audit.rows), audit.info) == render(audit.rows, audit.info)


def test_without_the_extra_one_line_that_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # as if not installed
    with pytest.raises(UsageError) as raised:
        check_report()
    assert str(raised.value) == MISSING_EXTRA
    assert "pip install 'dfs-async[report]'" in MISSING_EXTRA and "\n" not in MISSING_EXTRA
    info = ReportInfo(domains=0, ran_at=datetime.now(UTC), server="emulator", cost=None)
    with pytest.raises(UsageError):
        write_report(tmp_path / "audit.html", [], info)
    assert list(tmp_path.iterdir()) == []


def test_a_page_is_replaced_whole(audit: Audit, tmp_path: Path) -> None:
    path = tmp_path / "audit.html"
    path.write_text("an older page")
    write_report(path, audit.rows[:3], audit.info)
    assert Page(path.read_text(encoding="utf-8")).column("target") == DOMAINS[:3]
    assert [p.name for p in tmp_path.iterdir()] == ["audit.html"]


@needs_chromium
def test_in_chromium_offline_the_table_sorts_and_the_charts_draw(
    audit: Audit, page_file: Path
) -> None:
    def column(name: str) -> list[str]:
        index = Page(page_file.read_text(encoding="utf-8")).headers.index(name) + 1
        cells: list[str] = loaded.page.eval_on_selector_all(
            f"tbody tr td:nth-child({index})", "cells => cells.map(c => c.textContent)"
        )
        return cells

    def figures(name: str, descending: bool) -> list[str]:
        values = sorted((r[name] for r in audit.rows if r[name] is not None), reverse=descending)
        return [f"{v:,}" for v in values] + [""] * sum(r[name] is None for r in audit.rows)

    with offline_page(page_file) as loaded:
        page = loaded.page
        charts = page.locator("figure svg")
        assert charts.count() == 4 + SUMMARY_CHARTS
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            assert charts.nth(i).locator("path, rect").count() > 10  # drawn, not an empty frame
        header = page.locator("th").filter(has_text=re.compile(r"^rank$"))
        page.get_by_role("button", name="rank", exact=True).click()
        assert header.get_attribute("aria-sort") == "descending"  # figures: largest first
        assert column("rank") == figures("rank", descending=True)  # numbers, empty cells last
        page.get_by_role("button", name="rank", exact=True).click()
        assert header.get_attribute("aria-sort") == "ascending"
        assert column("rank") == figures("rank", descending=False)
        page.get_by_role("button", name="backlinks", exact=True).click()  # 1,234: with commas
        assert column("backlinks") == figures("backlinks", descending=True)
        page.get_by_role("button", name="target", exact=True).click()  # text: from A
        assert column("target") == sorted(r["target"] for r in audit.rows)
        png = page.screenshot()
        assert loaded.problems == []  # no console error, no failed or blocked request
    distinct, commonest = colours(png)
    assert distinct > 100 and commonest < 0.9  # a picture, not a blank page
