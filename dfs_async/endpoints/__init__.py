"""The endpoints as data: one frozen spec each (`spec.Endpoint`), all listed in `ENDPOINTS`.

The client's `dfs.backlinks.<name>`, the command line's subcommands and the emulator's
routes are made by iterating over `ENDPOINTS`; nothing outside the specs, the models, the
emulator's corpus and what `scripts/generate_calls.py` generates from the specs (the typed
calls) names a particular endpoint.
"""

from typing import Final

from dfs_async.endpoints.backlinks import (
    ANCHORS,
    AVAILABLE_FILTERS,
    BACKLINK_FILTER_FIELDS,
    BACKLINKS,
    BULK_BACKLINKS,
    BULK_NEW_LOST_BACKLINKS,
    BULK_NEW_LOST_REFERRING_DOMAINS,
    BULK_PAGES_SUMMARY,
    BULK_RANKS,
    BULK_REFERRING_DOMAINS,
    BULK_SPAM_SCORE,
    COMPETITORS,
    DOMAIN_INTERSECTION,
    DOMAIN_PAGES,
    DOMAIN_PAGES_SUMMARY,
    ERRORS,
    HISTORY,
    ID_LIST,
    INDEX,
    PAGE_INTERSECTION,
    REFERRING_DOMAINS,
    REFERRING_NETWORKS,
    SUMMARY,
    TIMESERIES_NEW_LOST_SUMMARY,
    TIMESERIES_SUMMARY,
)
from dfs_async.endpoints.checks import (
    Rule,
    Unit,
    bulk_target,
    one_domain,
    one_target,
    target_set,
)
from dfs_async.endpoints.spec import Endpoint, Price, filter_fields

ENDPOINTS: Final[tuple[Endpoint, ...]] = (
    DOMAIN_PAGES_SUMMARY,
    BACKLINKS,
    ANCHORS,
    DOMAIN_PAGES,
    REFERRING_DOMAINS,
    REFERRING_NETWORKS,
    COMPETITORS,
    DOMAIN_INTERSECTION,
    PAGE_INTERSECTION,
    SUMMARY,
    HISTORY,
    TIMESERIES_SUMMARY,
    TIMESERIES_NEW_LOST_SUMMARY,
    BULK_RANKS,
    BULK_BACKLINKS,
    BULK_SPAM_SCORE,
    BULK_REFERRING_DOMAINS,
    BULK_NEW_LOST_BACKLINKS,
    BULK_NEW_LOST_REFERRING_DOMAINS,
    BULK_PAGES_SUMMARY,
)
"""Every endpoint of units of work (targets, queries) the client, the command line and the
emulator serve."""

UTILITIES: Final[tuple[Endpoint, ...]] = (AVAILABLE_FILTERS, INDEX, ERRORS, ID_LIST)
"""The endpoints that take no target: one call, its results are the answer."""

BY_NAME: Final = {endpoint.name: endpoint for endpoint in (*ENDPOINTS, *UTILITIES)}

__all__ = [
    "BACKLINK_FILTER_FIELDS",
    "BY_NAME",
    "DOMAIN_PAGES_SUMMARY",
    "ENDPOINTS",
    "UTILITIES",
    "Endpoint",
    "Price",
    "Rule",
    "Unit",
    "bulk_target",
    "filter_fields",
    "one_domain",
    "one_target",
    "target_set",
]
