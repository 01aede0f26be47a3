"""How many pages per second the emulator serves over a loopback socket.

    python benchmarks/emulator_throughput.py [--seconds 5] [--concurrency 8]

Pages of 100 and of 1000 items from one cached 30 000-page target, fetched by httpx with a
few concurrent requests over a real socket; also the app alone (no HTTP) to show where the
time goes. Prints a table and rewrites the emulator section of benchmarks/EMULATOR.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from dfs_async.emulator import Emulator, EmulatorConfig, running_emulator
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY

SUMMARY_PATH = DOMAIN_PAGES_SUMMARY.path

TARGET = "bench.com"
PAGES = 30_000
ALL = {"backlinks_status_type": "all"}  # every page: offsets never run past the end
OUT = Path(__file__).with_name("EMULATOR.md")


async def over_socket(limit: int, seconds: float, concurrency: int) -> tuple[float, float]:
    """(pages/s, items/s) over HTTP."""
    config = EmulatorConfig(target_sizes={TARGET: PAGES}, rate_limit=10**9)
    async with running_emulator(config) as emu:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=emu.base_url, auth=emu.auth, limits=limits, timeout=60
        ) as http:
            await http.post(SUMMARY_PATH, json=[{"target": TARGET, **ALL}])  # build the corpus
            done = 0
            deadline = time.perf_counter() + seconds
            started = time.perf_counter()

            async def worker(k: int) -> None:
                nonlocal done
                offset = k * limit
                while time.perf_counter() < deadline:
                    task = {"target": TARGET, "limit": limit, "offset": offset % PAGES, **ALL}
                    response = await http.post(SUMMARY_PATH, json=[task])
                    answer = msgspec.json.decode(response.content)
                    assert answer["tasks"][0]["result"][0]["items_count"] > 0
                    done += 1
                    offset += concurrency * limit

            await asyncio.gather(*(worker(k) for k in range(concurrency)))
            elapsed = time.perf_counter() - started
    return done / elapsed, done * limit / elapsed


async def in_process(limit: int, seconds: float) -> float:
    """Pages/s of the ASGI app called directly: the emulator's own cost per page."""
    app = Emulator(EmulatorConfig(target_sizes={TARGET: PAGES}, rate_limit=10**9))
    auth = [(b"authorization", b"Basic ZW11bGF0b3I6ZW11bGF0b3I=")]
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": SUMMARY_PATH,
                             "headers": auth}  # fmt: skip

    async def call(offset: int) -> None:
        body = msgspec.json.encode([{"target": TARGET, "limit": limit, "offset": offset, **ALL}])
        sent = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return sent.pop()

        async def send(message: Any) -> None:
            pass

        await app(scope, receive, send)

    await call(0)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        await call((done * limit) % PAGES)
        done += 1
    return done / (time.perf_counter() - started)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    rows = []
    for limit in (100, 1000):
        pages, items = asyncio.run(over_socket(limit, args.seconds, args.concurrency))
        app_pages = asyncio.run(in_process(limit, args.seconds))
        rows.append((limit, pages, items, app_pages))
    header = "| items per page | pages/s (HTTP) | items/s (HTTP) | pages/s (app alone) |"
    lines = [header, "|---:|---:|---:|---:|"]
    lines += [f"| {limit} | {p:,.0f} | {i:,.0f} | {a:,.0f} |" for limit, p, i, a in rows]
    table = "\n".join(lines)
    print(table)
    command = "python benchmarks/emulator_throughput.py " + " ".join(sys.argv[1:])
    section = (
        "## Emulator throughput\n\n"
        f"Command: `{command.strip()}`  \n"
        f"Machine: {machine()}  \n"
        f"Setup: one {PAGES:,}-page target (corpus cached), httpx.AsyncClient with "
        f"{args.concurrency} concurrent requests over 127.0.0.1, {args.seconds:g} s per row; "
        "'app alone' calls the ASGI app in process (no HTTP).  \n"
        f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n{table}\n"
    )
    write_section(section)
    return 0


def write_section(section: str) -> None:
    """Replace the emulator section of EMULATOR.md (other sections stay)."""
    text = OUT.read_text() if OUT.exists() else "# Benchmarks: the emulator\n\n"
    start = text.find("## Emulator throughput")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    OUT.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
