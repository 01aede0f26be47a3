"""Without the `emulator` extra (no uvicorn) the CLI and the pytest plugin still load, and the
commands that need the emulator say what to install instead of a traceback."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
sys.modules["uvicorn"] = None  # as if the emulator extra were not installed
import dfs_async.emulator.pytest_plugin  # loaded by every pytest run of an installing project
from dfs_async.cli import main
print(main(["domain-pages-summary", "--target", "a.com", "--emulator", "-o", sys.argv[1]]))
print(main(["emulator", "--port", "0"]))
"""


def test_without_uvicorn_the_emulator_commands_say_what_to_install(tmp_path: object) -> None:
    out = f"{tmp_path}/pages.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, out], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "2"]
    assert result.stderr.count("pip install 'dfs-async[emulator]'") == 2
    assert "Traceback" not in result.stderr
