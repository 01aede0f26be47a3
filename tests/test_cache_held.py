"""`engine.held.Held`: which answer holds which bulk target, this client's own and those
another client logged, over a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfs_async.cache import open_cache
from dfs_async.engine.held import Held

pytestmark = pytest.mark.anyio


async def test_the_latest_answer_of_a_target_wins_own_or_another_s(tmp_path: Path) -> None:
    path = str(tmp_path / "cache.db")
    mine, theirs = await open_cache(path, ttl=60), await open_cache(path, ttl=60)
    held, other = Held(mine, "log"), Held(theirs, "log")
    await held.start()  # a run's first lookup: nothing yet
    held.keep(["a.com", "b.com"], 2, b'{"first": 1}', 0.04)
    held.keep(["b.com", "c.com"], 2, b'{"second": 2}', 0.06)
    assert held.fresh(["a.com", "b.com"]) == {}  # this client's own: found by its next run
    first, second = (answer for _, answer in held._unindexed)
    await held.start()  # the next run
    assert held.fresh(["a.com", "b.com", "c.com", "d.com"]) == {
        "a.com": first,
        "b.com": second,
        "c.com": second,
    }
    assert held.shares(["c.com", "d.com", "a.com"]) == {0: 0.03, 2: 0.02}

    held.keep(["c.com"], 1, b'{"third": 3}', 0.02)  # not indexed yet
    await mine.flush()
    other.keep(["c.com", "e.com"], 2, b'{"theirs": 4}', 0.02)  # later: it wins
    [(_, latest)] = other._unindexed
    await theirs.flush()
    await held.read(wait=False)  # a flush during a run: another's answers found
    assert held.fresh(["c.com", "e.com"]) == {"c.com": latest, "e.com": latest}
    await held.start()
    assert held.fresh(["c.com", "e.com"]) == {"c.com": latest, "e.com": latest}

    await other.start()  # and the other client finds every one of them
    assert set(other.fresh(["a.com", "b.com", "c.com", "e.com"])) == {
        "a.com",
        "b.com",
        "c.com",
        "e.com",
    }
    await mine.close()
    await theirs.close()
