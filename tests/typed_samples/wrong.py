"""A user's program with mistakes mypy --strict must report, each where `# error:` says.

Read by tests/test_typed_calls.py, which requires exactly these errors: a misspelt field, a
wrong type or choice, a missing or extra target, a field the item lacks.
"""

from __future__ import annotations

from dfs_async import DataForSEO


async def mistakes(dfs: DataForSEO) -> None:
    await dfs.backlinks.anchors("x.com", limt=5)  # error: call-arg
    await dfs.backlinks.anchors("x.com", limit="5")  # error: arg-type
    await dfs.backlinks.anchors("x.com", rank_scale="one_million")  # error: arg-type
    await dfs.backlinks.anchors()  # error: call-arg
    await dfs.backlinks.anchors(["a.com", "b.com"])  # error: arg-type
    await dfs.backlinks.bulk_ranks(["a.com"], limit=5)  # error: call-arg
    backlinks = dfs.backlinks.backlinks
    await backlinks("x.com", custom_mode={"field": "anchr", "value": 3})  # error: arg-type
    await dfs.backlinks.index("x.com")  # error: call-arg
    await dfs.backlinks.id_list(limit=5)  # error: call-arg
    page = await dfs.backlinks.anchors("x.com")
    print(page.items[0].url)  # error: attr-defined
    print(dfs.backlinks.anchorz)  # error: attr-defined
    async with dfs.backlinks.anchors.stream(["x.com"], limt=5) as records:  # error: call-arg
        async for record in records:
            print(record.item.anchr)  # error: attr-defined


def a_stream_of_a_utility(dfs: DataForSEO) -> None:
    dfs.backlinks.index.stream(["x.com"])  # error: arg-type
