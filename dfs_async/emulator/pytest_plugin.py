"""pytest fixtures serving the emulator on a loopback socket (entry point `dfs_async_emulator`).

    def test_my_pipeline(dfs_emulator):          # default config
        run_pipeline(base_url=dfs_emulator.base_url, login=dfs_emulator.login, ...)

    def test_under_faults(dfs_emulator_factory):  # any config, as many as needed
        emu = dfs_emulator_factory(EmulatorConfig(faults=FaultConfig(http_500=0.3)))

The server runs in its own thread, so the fixtures are plain (sync) ones that serve sync
tests and async tests on any event loop alike. Each test gets fresh emulators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from dfs_async.emulator.config import EmulatorConfig
from dfs_async.emulator.serve import EmulatorHandle, serving_emulator

EmulatorFactory = Callable[..., EmulatorHandle]


@pytest.fixture
def dfs_emulator_factory() -> Iterator[EmulatorFactory]:
    """Start emulators: `factory(config=None, **config_fields)`; all stop after the test."""
    with ExitStack() as stack:

        def start(config: EmulatorConfig | None = None, **fields: object) -> EmulatorHandle:
            if fields:
                config = EmulatorConfig(**fields)  # type: ignore[arg-type]
            return stack.enter_context(serving_emulator(config))

        yield start


@pytest.fixture
def dfs_emulator(dfs_emulator_factory: EmulatorFactory) -> EmulatorHandle:
    """A running emulator with the default config (account emulator/emulator)."""
    return dfs_emulator_factory()
