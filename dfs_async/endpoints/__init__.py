"""The endpoints as data: one frozen spec each (`spec.Endpoint`), all listed in `ENDPOINTS`.

The client's `dfs.backlinks.<name>`, the command line's subcommands and the emulator's
routes are made by iterating over `ENDPOINTS`; nothing outside the specs, the models and the
emulator's corpus names a particular endpoint.
"""

from typing import Final

from dfs_async.endpoints.backlinks import BACKLINK_FILTER_FIELDS, DOMAIN_PAGES_SUMMARY
from dfs_async.endpoints.spec import Endpoint, Price, Rule, filter_fields, one_target

ENDPOINTS: Final[tuple[Endpoint, ...]] = (DOMAIN_PAGES_SUMMARY,)
"""Every endpoint the client, the command line and the emulator serve."""

BY_NAME: Final = {endpoint.name: endpoint for endpoint in ENDPOINTS}

__all__ = [
    "BACKLINK_FILTER_FIELDS",
    "BY_NAME",
    "DOMAIN_PAGES_SUMMARY",
    "ENDPOINTS",
    "Endpoint",
    "Price",
    "Rule",
    "filter_fields",
    "one_target",
]
