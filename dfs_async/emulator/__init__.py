"""A local stand-in for the DataForSEO Backlinks API (domain_pages_summary), for tests.

    async with running_emulator(EmulatorConfig(seed=1)) as emu:
        ...  # POST to f"{emu.base_url}/v3/backlinks/domain_pages_summary/live"
             # with Basic auth (emu.login, emu.password); read emu.app.counters

Modules: `config` (what it is told), `corpus` (the reproducible pages), `query` (filters,
sorting, truncation), `accounts` (auth, limits, money), `faults`, `envelope` (the response
shape), `app` (the ASGI application), `serve` (a loopback server in a thread), `command`
(`dfs-async emulator`), `pytest_plugin` (the `dfs_emulator` fixtures).
"""

from dfs_async.emulator.app import Counters, Emulator
from dfs_async.emulator.config import EmulatorConfig, FaultConfig
from dfs_async.emulator.serve import EmulatorHandle, running_emulator, serving_emulator

__all__ = [
    "Counters",
    "Emulator",
    "EmulatorConfig",
    "EmulatorHandle",
    "FaultConfig",
    "running_emulator",
    "serving_emulator",
]
