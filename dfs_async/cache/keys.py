"""Cache keys: which answers are the same answer. No I/O here.

A task's key is a hash of the server, the endpoint's path and the task's fields in a
canonical form: the order of the fields does not matter, `tag` (the caller's label, echoed
back) is left out, and so are fields set to null (the API's default). The encoding is
msgspec's JSON with sorted keys, so the same fields always give the same bytes.

A bulk task answers each of its targets on its own: its answer is kept whole, under a key
of its own, and a log named for the task's other fields (`bulk_log`) says which targets
each answer holds, so that a list that overlaps an earlier one finds the targets it shares
with it, whatever the order and the company (`engine.held`).

The key also carries `LAYOUT` (this library's version and the entry format): entries
written by another version are simply never found, and expire.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any, Final

import msgspec

__all__ = ["FORMAT", "bulk_log", "cache_key", "layout"]

#: Raise when what the cache stores for a key changes meaning.
FORMAT: Final = 2

_ENCODER: Final = msgspec.json.Encoder(order="sorted")
_IGNORED: Final = frozenset({"tag"})


@functools.cache
def layout() -> str:
    """The entry format and this library's version (read once, when a key is first made)."""
    from importlib.metadata import version

    return f"{FORMAT}/{version('dfs-async')}"


def _fields(task: Mapping[str, Any], *, without: str | None = None) -> dict[str, Any]:
    return {k: v for k, v in task.items() if v is not None and k not in _IGNORED and k != without}


def cache_key(server: str, path: str, task: Mapping[str, Any]) -> str:
    """The key of `task`'s answer from `server` (its base URL: the sandbox, production and
    an emulator never share entries) at `path` (the endpoint's, e.g.
    `/v3/backlinks/summary/live`). 40 hex characters."""
    where = (layout(), "answer", server.rstrip("/"), path.strip("/"))
    canonical = _ENCODER.encode((*where, _fields(task)))
    return hashlib.blake2b(canonical, digest_size=20).hexdigest()


def bulk_log(server: str, path: str, fields: Mapping[str, Any], field: str = "targets") -> str:
    """The name of the log of a bulk endpoint's answers to tasks with `fields` (`field`,
    the list of targets, left out if present; see `engine.held`): the same for every list
    of targets, so that a list finds what an earlier one shares with it. 40 hex characters."""
    where = (layout(), "targets", server.rstrip("/"), path.strip("/"), field)
    canonical = _ENCODER.encode((*where, _fields(fields, without=field)))
    return hashlib.blake2b(canonical, digest_size=20).hexdigest()
