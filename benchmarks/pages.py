"""Response bytes for the benchmarks, made from the emulator's corpus.

The items are the emulator's (every field filled, realistic maps); the envelope around them is
the canned server's, so the decode benchmark measures exactly the bytes the client benchmarks
receive.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import msgspec

from benchmarks.canned_server import Pages
from dfs_async.emulator.corpus import build_host
from dfs_async.models import DomainPageSummary

HOST = "example.com"


def corpus_items(count: int, host: str = HOST, seed: int = 0) -> list[DomainPageSummary]:
    """`count` pages of `host` from the emulator's deterministic corpus."""
    return build_host(seed, host, count).items


def write_items(path: Path, count: int) -> Path:
    """The items file the canned server serves from (a JSON array)."""
    path.write_bytes(msgspec.json.encode(corpus_items(count)))
    return path


@lru_cache(maxsize=8)
def page_bytes(items: int) -> bytes:
    """A whole response body holding one page of `items` items, as the canned server sends."""
    pages = Pages(msgspec.to_builtins(corpus_items(items)), per_target=items)
    request = msgspec.json.encode([{"target": HOST, "limit": items, "offset": 0}])
    return pages.answer(request)
