"""The audit's report in a real browser, and the rows it is made of.

`audit_rows` runs the real `dfs-async audit --with summary` against an emulator over a socket
and reads its JSONL back: the emulator's own figures, as the audit joins them. `offline_page`
loads a page in Debian's Chromium (driven by Playwright) from a `file://` URL with every other
request blocked, and collects what went wrong on the way: console errors, page errors, failed
or blocked requests.

Run as a script (`scripts/report-screenshot`), it remakes `docs/report.png`: the report the
README's main job writes (`examples/targets.txt`), and prints the page's size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dfs_async import read_targets
from dfs_async.cli.report import ReportInfo
from dfs_async.emulator import EmulatorConfig, serving_emulator

from .helpers import REPO, cli_env, run_cli, write_targets

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM_FLAGS = [
    "--no-sandbox",  # as root in a container
    "--disable-gpu",
    "--disable-background-networking",  # else it tries the (closed) network on its own
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str | None:
    """Debian's Chromium, if installed (Playwright's own download cannot run here)."""
    return shutil.which("chromium")


@dataclass
class Audit:
    rows: list[dict[str, Any]]
    info: ReportInfo


def audit_rows(workdir: Path, domains: Sequence[str]) -> Audit:
    """The rows of a real audit of `domains` with the summary, and its report's facts."""
    targets = write_targets(workdir / "domains.txt", domains)
    out = workdir / "audit.jsonl"
    date_from = datetime.now(UTC).date() - timedelta(days=60)
    config = EmulatorConfig(seed=23, rate_limit=1_000_000)
    with serving_emulator(config) as emu:
        # fmt: off
        result = run_cli(
            "audit", targets, "-o", out, "--with", "summary", "--date-from", f"{date_from}",
            "--base-url", emu.base_url, "--rate", "1000000", "--quiet",
            env=cli_env(emu), timeout=600,
        )
        # fmt: on
        cost = emu.app.counters.cost
    assert result.returncode in (0, 1), result.stderr  # 1: the invalid targets' rows
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    info = ReportInfo(
        domains=len(rows),
        ran_at=datetime.now(UTC).replace(microsecond=0),
        server="emulator",
        cost=cost,
        date_from=date_from,
        date_to=datetime.now(UTC).date(),
    )
    return Audit(rows, info)


@dataclass
class Loaded:
    page: Page
    problems: list[str] = field(default_factory=list)


@contextmanager
def offline_page(path: Path, width: int = 1280, height: int = 900) -> Iterator[Loaded]:
    """`path` loaded in headless Chromium, no request but `file://` let through."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    assert executable is not None, "no chromium: apt-get install chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            loaded = Loaded(page)
            problems = loaded.problems

            def block(route: Any) -> None:
                problems.append(f"blocked request: {route.request.url}")
                route.abort()

            context.route(lambda url: not url.startswith("file:"), block)
            page.on(
                "console", lambda m: m.type == "error" and problems.append(f"console: {m.text}")
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
            page.goto(path.resolve().as_uri(), wait_until="load")
            yield loaded
        finally:
            browser.close()


def colours(png: bytes) -> tuple[int, float]:
    """(distinct colours, the share of the commonest) of a screenshot."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    counts = image.getcolors(maxcolors=image.width * image.height) or []
    return len(counts), max(n for n, _ in counts) / (image.width * image.height)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/report-screenshot", description=__doc__.split("\n\n")[2]
    )
    parser.add_argument("--domains", type=Path, default=REPO / "examples" / "targets.txt")
    parser.add_argument("--count", type=int, help="instead: this many made-up domains")
    parser.add_argument("--png", type=Path, default=REPO / "docs" / "report.png")
    parser.add_argument("--html", type=Path, help="keep the page there too")
    parser.add_argument("--no-png", action="store_true", help="only the page (sizes)")
    parser.add_argument(
        "--with-summary", action="store_true", help="the audit with the summary's fields"
    )
    args = parser.parse_args(argv)
    if args.count:
        domains = [f"shop{i}.example.net" for i in range(args.count)]
    else:
        domains = read_targets(args.domains)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        write_targets(workdir / "domains.txt", domains)
        command = ["audit", "domains.txt", "--emulator", "-o", "audit.csv", "--report"]
        command += ["audit.html", "--quiet", *(["--with", "summary"] if args.with_summary else [])]
        started = time.perf_counter()
        result = run_cli(*command, cwd=workdir, env=cli_env(), timeout=900)
        took = time.perf_counter() - started
        if result.returncode not in (0, 1):
            print(result.stderr, file=sys.stderr)
            return 1
        page = workdir / "audit.html"
        if args.html:
            page = Path(shutil.copyfile(page, args.html))
        size = page.stat().st_size
        rows = len(domains)
        print(f"{rows:,} domains: {size:,} bytes ({size / 1024:,.0f} KiB); the audit {took:.2f} s")
        if args.no_png:
            return 0
        with offline_page(page, width=1200, height=1000) as loaded:
            png = loaded.page.screenshot(type="png", full_page=True)
            if loaded.problems:
                print("\n".join(loaded.problems), file=sys.stderr)
                return 1
        args.png.write_bytes(png)
        print(f"{args.png}: {len(png):,} bytes, {colours(png)[0]:,} colours")
    return 0


if __name__ == "__main__":
    sys.exit(main())
