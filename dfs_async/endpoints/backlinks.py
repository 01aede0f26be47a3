"""The specs of the Backlinks API's endpoints: each one a declaration (see `spec`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from dfs_async.endpoints.spec import Endpoint, filter_fields, filters, order_by, target
from dfs_async.filters import ARRAY, BOOL, NUM, STR, TIME
from dfs_async.models import DomainPagesSummaryRequest, DomainPageSummary
from dfs_async.plan import Offset


def _words(text: str) -> list[str]:
    return text.split()


# Fields of a `backlinks/live` item, which `backlinks_filters` filters on.
BACKLINK_FILTER_FIELDS: Final[Mapping[str, str]] = {
    **{name: STR for name in _words(
        """domain_from url_from domain_to url_to tld_from domain_from_ip domain_from_country
        page_from_encoding page_from_language page_from_title item_type alt image_url anchor
        text_pre text_post semantic_location url_to_redirect_target"""
    )},
    **{name: BOOL for name in _words(
        """url_from_https url_to_https is_new is_lost domain_from_is_ip dofollow original
        is_broken is_indirect_link"""
    )},
    **{name: NUM for name in _words(
        """backlink_spam_score rank page_from_rank domain_from_rank page_from_external_links
        page_from_internal_links page_from_size page_from_status_code links_count group_count
        url_to_status_code url_to_spam_score"""
    )},
    **{name: TIME for name in _words("first_seen prev_seen last_seen")},
    **{name: ARRAY for name in _words("domain_from_platform_type attributes indirect_link_path")},
}  # fmt: skip

_PAGE_FIELDS: Final = filter_fields(DomainPageSummary)

DOMAIN_PAGES_SUMMARY: Final = Endpoint(
    name="domain_pages_summary",
    path="/v3/backlinks/domain_pages_summary/live",
    request=DomainPagesSummaryRequest,
    item=DomainPageSummary,
    paging=Offset(max_limit=1000),
    checks={
        "target": target,
        "filters": filters(_PAGE_FIELDS),
        "order_by": order_by(_PAGE_FIELDS),
        "backlinks_filters": filters(BACKLINK_FILTER_FIELDS),
    },
)
