"""The password appears nowhere: no log line at any level (every logger at DEBUG, httpx's
and httpcore's included), no repr or str, no exception, no output, errors or checkpoint file.

It is searched for as written and in its Basic-auth form (base64 of `login:password`), in
everything the runs wrote and in every object a caller can print.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
from cli.helpers import cli_env, write_targets

from dfs_async import AccountError, DataForSEO, RetryPolicy, TaskFailed
from dfs_async.emulator import EmulatorConfig, FaultConfig, running_emulator, serving_emulator

from .servers import HtmlSite, closed_port, serving

LOGIN = "auditor"
PASSWORD = "Zx9-S3cr3t-Pa55w0rd-Qv7"
WRONG = "Wr0ng-Pa55w0rd-Kp4"
FAULTS = FaultConfig(seed=3, http_500=0.1, task_40103=0.1, drop_connection=0.05,
                     truncated_body=0.05, envelope_50000=0.05)  # fmt: skip
CONFIG = EmulatorConfig(seed=2, max_pages=300, accounts={LOGIN: PASSWORD}, faults=FAULTS)

# The CLI with every logger at DEBUG into a file: the library's own and those it uses.
HARNESS = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, filename=sys.argv.pop(1),"
    " format='%(levelname)s %(name)s %(message)s')\n"
    "from dfs_async.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def secrets(password: str) -> list[bytes]:
    basic = base64.b64encode(f"{LOGIN}:{password}".encode())
    return [password.encode(), basic, basic.decode().encode("utf-16-le")]


def assert_absent(text: str | bytes, where: str, *passwords: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for password in passwords or (PASSWORD, WRONG):
        for secret in secrets(password):
            assert secret not in data, f"the password shows in {where}"


def run_logged(log: Path, *args: str | Path, password: str, cwd: Path, url: str) -> str:
    env = cli_env(DATAFORSEO_LOGIN=LOGIN, DATAFORSEO_PASSWORD=password)
    result = subprocess.run(
        [sys.executable, "-c", HARNESS, str(log), *map(str, args), "--base-url", url],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    assert_absent(result.stdout + result.stderr, "the CLI's stdout/stderr")
    return result.stderr


def test_nothing_the_cli_writes_holds_the_password(tmp_path: Path) -> None:
    targets = write_targets(tmp_path / "t.txt", [f"s{i}.example.com" for i in range(12)])
    log = tmp_path / "debug.log"
    args: list[str | Path] = ["domain-pages-summary", targets, "-o", "o.jsonl", "--limit", "50"]
    seen: dict[str, bytes] = {}

    def collect() -> None:
        for path in tmp_path.rglob("*"):
            if path.is_file():
                seen[f"{path.name} ({len(seen)})"] = path.read_bytes()

    with serving_emulator(CONFIG) as emu:
        # stopped by the budget: output, errors file and checkpoint are left as they are
        err = run_logged(log, *args, "--budget", "0.2", password=PASSWORD, cwd=tmp_path,
                         url=emu.base_url)  # fmt: skip
        assert "budget" in err
        assert (tmp_path / "o.jsonl.checkpoint").exists()
        collect()
        # resumed to the end, with retries logged at DEBUG
        run_logged(log, *args, "--resume", password=PASSWORD, cwd=tmp_path, url=emu.base_url)
        collect()
        # wrong credentials: the account error, logged and printed
        err = run_logged(log, *args, password=WRONG, cwd=tmp_path, url=emu.base_url)
        assert "account error 40100" in err
        collect()
    with serving(HtmlSite(500)) as url:  # an HTML 500 page where the API should be
        run_logged(log, *args, "--max-attempts", "2", password=PASSWORD, cwd=tmp_path, url=url)
    run_logged(log, *args, "--max-attempts", "2", password=PASSWORD, cwd=tmp_path,
               url=closed_port())  # fmt: skip
    collect()
    text = log.read_text()
    # it did log, verbosely: ours, and whatever the HTTP stack logs (aiohttp, the stack under
    # asyncio, logs nothing per request; httpx under trio logs each one)
    assert "DEBUG dfs_async" in text and "DEBUG asyncio" in text
    assert "retrying" in text or "failed" in text
    for name, data in seen.items():
        assert_absent(data, name)


def _printed(obj: Any) -> str:
    return f"{obj!s} {obj!r} {vars(obj) if hasattr(obj, '__dict__') else ''}"


@pytest.mark.anyio
async def test_no_object_or_exception_holds_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    policy = RetryPolicy(max_attempts=2, base=0.001, cap=0.01)
    shown: list[str] = []
    async with running_emulator(CONFIG) as emu:
        shown += [str(emu), repr(emu), repr(emu.app.config), repr(emu.app.accounts)]
        async with DataForSEO(LOGIN, PASSWORD, base_url=emu.base_url, retry_policy=policy) as dfs:
            call = dfs.backlinks.domain_pages_summary
            page = await call("s1.example.com", limit=5)
            async with call.stream([f"s{i}.example.com" for i in range(8)], limit=20) as records:
                async for record in records:
                    shown.append(repr(record.target))
            shown += [_printed(dfs), _printed(dfs.engine), _printed(dfs.engine.transport),
                      repr(dfs.stats), repr(page.cost), _printed(records), repr(call)]  # fmt: skip
        async with DataForSEO(LOGIN, WRONG, base_url=emu.base_url) as wrong:
            with pytest.raises(AccountError) as denied:
                await wrong.backlinks.domain_pages_summary("s1.example.com")
            shown.append(_printed(wrong))
    async with DataForSEO(LOGIN, PASSWORD, base_url=closed_port(), retry_policy=policy) as dfs:
        with pytest.raises(TaskFailed) as unreachable:
            await dfs.backlinks.domain_pages_summary("s1.example.com")
    for error in (denied.value, unreachable.value):
        shown.append(_printed(error) + repr(error.args))
        shown.append("".join(traceback.format_exception(error)))
    assert any("40100" in s for s in shown) and any("connection refused" in s for s in shown)
    assert caplog.records, "nothing was logged at DEBUG"
    for i, text in enumerate(shown):
        assert_absent(text, f"shown[{i}]: {text[:60]}")
    assert_absent(caplog.text, "the log")
