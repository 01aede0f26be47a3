"""`python -m dfs_async.emulator --port 0`: the emulator without the rest of the CLI."""

import sys

from dfs_async.cli.emulator import main

sys.exit(main())
