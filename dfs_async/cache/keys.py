"""Cache keys: which answers are the same answer. No I/O here.

A task's key is a hash of the server, the endpoint's path and the task's fields in a
canonical form: the order of the fields does not matter, `tag` (the caller's label, echoed
back) is left out, and so are fields set to null (the API's default). The encoding is
msgspec's JSON with sorted keys, so the same fields always give the same bytes.

A bulk task answers each of its targets on its own, so each target has its own key: the
key the same task would have with that target alone (`target_keys`). A list that overlaps
an earlier one then finds the targets it shares with it.

The key also carries `LAYOUT` (this library's version and the entry format): entries
written by another version are simply never found, and expire.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any, Final

import msgspec

__all__ = ["LAYOUT", "cache_key", "target_keys"]

#: Raise when what the cache stores for a key changes meaning.
FORMAT: Final = 1
LAYOUT: Final = f"{FORMAT}/{version('dfs-async')}"

_ENCODER: Final = msgspec.json.Encoder(order="sorted")
_IGNORED: Final = frozenset({"tag"})


def cache_key(server: str, path: str, task: Mapping[str, Any]) -> str:
    """The key of `task`'s answer from `server` (its base URL: the sandbox, production and
    an emulator never share entries) at `path` (the endpoint's, e.g.
    `/v3/backlinks/summary/live`). 40 hex characters."""
    fields = {k: v for k, v in task.items() if v is not None and k not in _IGNORED}
    canonical = _ENCODER.encode((LAYOUT, server.rstrip("/"), path.strip("/"), fields))
    return hashlib.blake2b(canonical, digest_size=20).hexdigest()


def target_keys(
    server: str, path: str, task: Mapping[str, Any], field: str = "targets"
) -> dict[str, str]:
    """The key of each target of a bulk task (`task[field]` lists them): the key of the
    same task with only that target. Targets are taken as written: normalise them first."""
    others = {k: v for k, v in task.items() if k != field}
    return {target: cache_key(server, path, {**others, field: [target]}) for target in task[field]}
