import sys

from dfs_async.cli import main

sys.exit(main())
