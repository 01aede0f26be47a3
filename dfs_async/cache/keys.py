"""Cache keys: which answers are the same answer. No I/O here.

A task's key is a hash of the server, the endpoint's path and the task's fields in a
canonical form: the order of the fields does not matter, `tag` (the caller's label, echoed
back) is left out, and so are fields set to null (the API's default). The encoding is
msgspec's JSON with sorted keys, so the same fields always give the same bytes.

A bulk task answers each of its targets on its own, so each target has an entry of its own
(its item, not a whole answer): its key is made of the task's other fields and that target
alone (`target_key`), so a list that overlaps an earlier one finds the targets it shares
with it, whatever the order and the company. Whole answers and targets' items are apart
(`answer`, `item` in the key): an awaited call of one target never reads an item as an answer.

The key also carries `LAYOUT` (this library's version and the entry format): entries
written by another version are simply never found, and expire.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

import msgspec

__all__ = ["FORMAT", "cache_key", "layout", "target_key", "target_keys"]

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


def target_key(
    server: str, path: str, fields: Mapping[str, Any], field: str = "targets"
) -> Callable[[str], str]:
    """The key of each target's entry of a bulk task with `fields` (`field`, the list of
    targets, left out if present): a function of the target, made once per task so that a
    target's key costs one hash of the target's own bytes. Targets are taken as written:
    normalise them first."""
    where = (layout(), "item", server.rstrip("/"), path.strip("/"), field)
    # A complete JSON value, so no two prefixes are the start of one another: the target's
    # bytes after it are unambiguous.
    canonical = _ENCODER.encode((*where, _fields(fields, without=field)))
    prefix = hashlib.blake2b(canonical, digest_size=20)

    def key(target: str) -> str:
        one = prefix.copy()
        one.update(target.encode())
        return one.hexdigest()

    return key


def target_keys(
    server: str, path: str, task: Mapping[str, Any], field: str = "targets"
) -> dict[str, str]:
    """The key of each target of a bulk task (`task[field]` lists them; see `target_key`)."""
    key = target_key(server, path, task, field)
    return {target: key(target) for target in task[field]}
