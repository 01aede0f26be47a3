"""Two real processes writing and reading one cache file at once (one on asyncio, one on
trio), small values and large ones (in segments, some written ahead: both write the same
keys) and a log: no corruption, no lost entry, no record read twice or out of its writer's
order."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio

from dfs_async.cache import open_store

ROUNDS = 150
PER_ROUND = 5

WORKER = """
import hashlib, json, sys
import anyio
from dfs_async.cache import Entry, SqliteStore

def value(key):  # from the key alone: any reader can check what it got
    times = 1200 if key.startswith("shared") else 1 + len(key) % 50  # large: in a segment
    return hashlib.sha256(key.encode()).digest() * times

async def main(path, me, other, rounds, per_round):
    store = await SqliteStore.open(path)
    sys.stdout.write("ready\\n"); sys.stdout.flush(); sys.stdin.readline()  # start together
    seen = bad = 0
    after, log = "", []
    for r in range(rounds):
        mine = [f"{me}-{r}-{j}" for j in range(per_round)] + [f"shared-{r}"]
        entries = {k: Entry(value(k), 0.02) for k in mine}
        if r % 2:  # the large one written ahead, its row committed with the batch
            assert store.write_ahead(f"shared-{r}", entries.pop(f"shared-{r}"), ttl=3600)
        await store.put_many(entries, ttl=3600, logs={"log": [f"{me}-{r}".encode()]})
        records, after = await store.read_log("log", after)
        log += [record.decode() for record in records]
        theirs = [f"{other}-{q}-{j}" for q in range(r + 1) for j in range(per_round)]
        for key, entry in zip(theirs, await store.get_many(theirs, max_age=3600)):
            if entry is not None:
                seen += 1
                bad += entry.value != value(key)
    await store.close()
    print(json.dumps({"seen": seen, "bad": bad, "log": log}))

path, me, other, backend, rounds, per_round = sys.argv[1:]
anyio.run(main, path, me, other, int(rounds), int(per_round), backend=backend)
"""


def value(key: str) -> bytes:
    times = 1200 if key.startswith("shared") else 1 + len(key) % 50
    return hashlib.sha256(key.encode()).digest() * times


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(path),
                me,
                other,
                backend,
                f"{ROUNDS}",
                f"{PER_ROUND}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for me, other, backend in [("a", "b", "asyncio"), ("b", "a", "trio")]
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    reports = [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    assert all(report["bad"] == 0 and report["seen"] > 0 for report in reports), reports
    for me, report in zip("ab", reports, strict=True):  # a reader's log: each record once
        read = report["log"]
        assert len(read) == len(set(read)) and f"{me}-{ROUNDS - 1}" in read
        for writer in "ab":  # in the order its writer added them, none skipped
            rounds = [int(r.split("-")[1]) for r in read if r.startswith(f"{writer}-")]
            assert rounds == list(range(len(rounds))), (me, writer)

    keys = [f"{me}-{r}-{j}" for me in "ab" for r in range(ROUNDS) for j in range(PER_ROUND)]
    keys += [f"shared-{r}" for r in range(ROUNDS)]

    async def read_back() -> tuple[list[bytes | None], int, list[bytes]]:
        store = await open_store(path)
        try:
            entries = await store.get_many(keys, max_age=3600)
            log, _ = await store.read_log("log", "")
            return [e and e.value for e in entries], (await store.stats()).entries, log
        finally:
            await store.close()

    values, count, log = anyio.run(read_back)
    assert values == [value(k) for k in keys]  # none lost, none garbled
    assert count == len(keys)
    assert sorted(log) == sorted(f"{me}-{r}".encode() for me in "ab" for r in range(ROUNDS))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()
