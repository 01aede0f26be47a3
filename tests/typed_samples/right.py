"""A user's program that mypy --strict must pass: every call typed as the runtime answers.

Read by tests/test_typed_calls.py (never run: it needs an account); `assert_type` fails the
check unless the type is exactly the one written.
"""

from __future__ import annotations

from typing import assert_type

from dfs_async import (
    DataForSEO,
    Failure,
    Field,
    Page,
    PageDone,
    PageProgress,
    Record,
    TargetDone,
)
from dfs_async.client import EndpointCall, RecordStream
from dfs_async.models import (
    Anchor,
    BulkRank,
    CustomMode,
    DomainIntersection,
    HistoryResult,
    Index,
    ListedTask,
    PagedResult,
    Summary,
    TimeseriesResult,
    TimeseriesSummary,
)


async def one_request_each(dfs: DataForSEO) -> None:
    assert_type(await dfs.backlinks.anchors("x.com"), Page[Anchor])
    page = await dfs.backlinks.anchors(
        "x.com",
        limit=5,
        offset=10,
        order_by=["backlinks,desc"],
        filters=Field("anchor").like("%shoes%"),
        backlinks_filters=[["dofollow", "=", True]],
        rank_scale="one_hundred",
        include_subdomains=None,
    )
    assert_type(page.items[0].anchor, str | None)
    assert_type(await dfs.backlinks.summary("x.com", tag="mine"), Summary | None)
    assert_type(await dfs.backlinks.history("x.com", date_from="2020-01-01"), HistoryResult | None)
    series = await dfs.backlinks.timeseries_summary("x.com", group_range="week")
    assert_type(series, TimeseriesResult[TimeseriesSummary] | None)
    assert_type(await dfs.backlinks.bulk_ranks("a.com"), PagedResult[BulkRank] | None)
    assert_type(await dfs.backlinks.bulk_ranks(["a.com", "b.com"]), PagedResult[BulkRank] | None)
    for query in ("a.com,b.com", ["a.com", "b.com"], {"1": "a.com", "2": "b.com"}):
        intersection = await dfs.backlinks.domain_intersection(query, intersection_mode="partial")
        assert_type(intersection, Page[DomainIntersection])
    await dfs.backlinks.backlinks("x.com", custom_mode={"field": "anchor", "value": 3})
    await dfs.backlinks.backlinks("x.com", custom_mode=CustomMode(field="anchor", value=3))
    assert_type(await dfs.backlinks.index(), list[Index])
    tasks = await dfs.backlinks.id_list(
        datetime_from="2024-01-01 00:00:00 +00:00", datetime_to="now"
    )
    assert_type(tasks, list[ListedTask])
    call: EndpointCall = dfs.backlinks.anchors  # a typed call is an EndpointCall
    assert call.endpoint.name == "anchors"


async def streams(dfs: DataForSEO, resume: dict[str, PageProgress]) -> None:
    stream = dfs.backlinks.anchors.stream(["x.com"], max_items=10, limit=100, resume=resume)
    assert_type(stream, RecordStream[Anchor])
    async with stream as records:
        assert_type(records, RecordStream[Anchor])
        async for record in records:
            assert_type(record, Record[Anchor])
            assert_type(record.item.anchor, str | None)
        async for event in records.events():
            assert_type(event, Record[Anchor] | PageDone | TargetDone | Failure)
    async with dfs.backlinks.bulk_ranks.stream(["a.com", "b.com"]) as ranks:
        assert_type([record.item.rank async for record in ranks], list[int | None])
