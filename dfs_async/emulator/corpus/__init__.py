"""The emulator's data: one reproducible corpus that every endpoint answers from.

- `draws`: reproducible draws (`mix`, `stable_seed`); `cache`: the bounded caches;
- `pages`: a host's pages (`Layout`), each made on its own;
- `links`: a host's link profile (the authoritative counts), its referring domains, their
  pages, and which link points at which page (`Links`, `Spread`, `Runs`);
- `tally`: what a set of links adds up to (the figures every grouping shows);
- `figures`: the API's defaults, rank scaling, the `backlinks` token;
- `core`: the `Corpus` (caches, sources of backlinks, `answer_task`);
- `answers_links`, `answers_many`: what each endpoint serves (their docstrings say it).
"""

from dfs_async.emulator.corpus import answers_links, answers_many  # noqa: F401 - registers
from dfs_async.emulator.corpus.core import (
    ANSWERS,
    DEFAULT_INTERNAL_LIST_LIMIT,
    Corpus,
    Source,
    build_host,
)
from dfs_async.emulator.corpus.draws import api_time, stable_seed
from dfs_async.emulator.corpus.links import Profile, is_big, is_server_invalid, make_profile
from dfs_async.emulator.corpus.pages import (
    ATTRIBUTES,
    COUNTRIES,
    ITEM_TYPE,
    LINK_TYPES,
    MAP_VOCABULARY,
    PLATFORM_TYPES,
    SEMANTIC_LOCATIONS,
    TLDS,
    Layout,
    host_size,
    scale_rank,
    truncate_maps,
)

__all__ = [
    "ANSWERS",
    "ATTRIBUTES",
    "COUNTRIES",
    "DEFAULT_INTERNAL_LIST_LIMIT",
    "ITEM_TYPE",
    "LINK_TYPES",
    "MAP_VOCABULARY",
    "PLATFORM_TYPES",
    "SEMANTIC_LOCATIONS",
    "TLDS",
    "Corpus",
    "Layout",
    "Profile",
    "Source",
    "api_time",
    "build_host",
    "host_size",
    "is_big",
    "is_server_invalid",
    "make_profile",
    "scale_rank",
    "stable_seed",
    "truncate_maps",
]
