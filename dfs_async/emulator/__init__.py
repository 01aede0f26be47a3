"""A local stand-in for the DataForSEO Backlinks API (every endpoint of `ENDPOINTS`).

    async with running_emulator(EmulatorConfig(seed=1)) as emu:
        ...  # POST to f"{emu.base_url}{endpoint.path}"
             # with Basic auth (emu.login, emu.password); read emu.app.counters

Modules: `config` (what it is told), `corpus` (the reproducible data and each endpoint's
answer), `query` (filters and sorting of any item), `accounts` (auth, limits, money),
`faults`, `envelope` (the response shape), `tasks` (the tasks answered, for `errors` and
`id_list`), `app` (the ASGI application), `serve` (a loopback server in a thread), `command`
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
