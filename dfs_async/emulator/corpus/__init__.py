"""The emulator's data: one reproducible corpus that every endpoint answers from.

- `pages`: a host's pages (`domain_pages_summary`, `domain_pages`), built on first use;
- `links`: a host's link profile (the authoritative counts), referring domains and
  backlinks, made lazily block by block;
- `figures`: the figures several endpoints share (rank, spam score, domain counts), the
  API's defaults and the `backlinks` token;
- `core`: the `Corpus` (caches, sources of backlinks, `answer_task`);
- `answers_links`, `answers_many`: what each endpoint serves (their docstrings say it).
"""

from dfs_async.emulator.corpus import answers_links, answers_many  # noqa: F401 - registers
from dfs_async.emulator.corpus.core import ANSWERS, DEFAULT_INTERNAL_LIST_LIMIT, Corpus, Source
from dfs_async.emulator.corpus.links import Profile, is_big, is_server_invalid, make_profile
from dfs_async.emulator.corpus.pages import (
    ATTRIBUTES,
    COUNTRIES,
    ITEM_TYPE,
    LINK_TYPES,
    LRU,
    MAP_VOCABULARY,
    PLATFORM_TYPES,
    SEMANTIC_LOCATIONS,
    TLDS,
    HostCorpus,
    api_time,
    backlinks_share,
    build_host,
    host_size,
    make_item,
    scale_rank,
    stable_seed,
    truncate_maps,
)

__all__ = [
    "ANSWERS",
    "ATTRIBUTES",
    "COUNTRIES",
    "DEFAULT_INTERNAL_LIST_LIMIT",
    "ITEM_TYPE",
    "LINK_TYPES",
    "LRU",
    "MAP_VOCABULARY",
    "PLATFORM_TYPES",
    "SEMANTIC_LOCATIONS",
    "TLDS",
    "Corpus",
    "HostCorpus",
    "Profile",
    "Source",
    "api_time",
    "backlinks_share",
    "build_host",
    "host_size",
    "is_big",
    "is_server_invalid",
    "make_item",
    "make_profile",
    "scale_rank",
    "stable_seed",
    "truncate_maps",
]
