"""The output formats: columns from the Struct, lossless round trips, typed parquet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from dfs_async.cli.outputs import CsvEncoder, JsonlEncoder, columns, format_for, jsonl_to_parquet
from dfs_async.emulator import Emulator, EmulatorConfig
from dfs_async.models import DomainPageSummary

COLUMNS = columns(DomainPageSummary).names
MAP_FIELDS = columns(DomainPageSummary).maps


def _items(n: int) -> list[DomainPageSummary]:
    corpus = Emulator(EmulatorConfig(seed=3, target_sizes={"example.com": n})).corpus
    total, items = corpus.query({"target": "example.com", "backlinks_status_type": "all"})
    assert total == n
    return items


def test_columns_are_the_struct_fields() -> None:
    assert ("target", *(f.name for f in msgspec.structs.fields(DomainPageSummary))) == COLUMNS
    assert "referring_links_types" in MAP_FIELDS and "url" not in MAP_FIELDS


def test_jsonl_round_trip_keeps_every_field_and_null() -> None:
    item = DomainPageSummary(url="https://a.com/x", rank=5, referring_links_types={"anchor": 2})
    line = JsonlEncoder(DomainPageSummary).encode("a.com", item)
    record = json.loads(line)
    assert tuple(record) == COLUMNS
    assert record["target"] == "a.com" and record["lost_date"] is None
    assert record["referring_links_types"] == {"anchor": 2}
    assert line.endswith(b"\n") and line.count(b"\n") == 1


def test_csv_maps_are_json_cells_and_nulls_empty() -> None:
    enc = CsvEncoder(DomainPageSummary)
    item = DomainPageSummary(url='https://a.com/"q",x', rank=7, referring_links_tld={"com": 3})
    text = (enc.header() + enc.encode("a.com", item)).decode()
    header, row = list(csv.reader(io.StringIO(text)))
    assert tuple(header) == COLUMNS
    cells = dict(zip(header, row, strict=True))
    assert cells["url"] == 'https://a.com/"q",x'
    assert json.loads(cells["referring_links_tld"]) == {"com": 3}
    assert cells["lost_date"] == "" and cells["referring_links_countries"] == ""


def test_parquet_is_typed_and_matches_the_items(tmp_path: Path) -> None:
    items = _items(120)
    enc = JsonlEncoder(DomainPageSummary)
    staging = tmp_path / "x.partial.jsonl"
    staging.write_bytes(b"".join(enc.encode("example.com", it) for it in items))
    dest = tmp_path / "x.parquet"
    assert jsonl_to_parquet(staging, dest, DomainPageSummary, rows_per_group=50) == 120
    meta = pq.ParquetFile(dest).metadata
    assert meta.num_row_groups == 3
    table = pq.read_table(dest)
    assert table.schema.field("rank").type == pa.int64()
    assert table.schema.field("url").type == pa.string()
    assert table.schema.field("referring_links_tld").type == pa.map_(pa.string(), pa.int64())
    for name in ("first_seen", "lost_date"):  # the API's datetimes are timestamps
        assert table.schema.field(name).type == pa.timestamp("us", tz="UTC")
    rows = table.to_pylist()
    for row, item in zip(rows, items, strict=True):
        expected = msgspec.to_builtins(item)
        for name in MAP_FIELDS:
            row[name] = None if row[name] is None else dict(row[name])
        expected["first_seen"] = item.first_seen_datetime
        expected["lost_date"] = item.lost_date_datetime
        assert row == {"target": "example.com", **expected}
    assert any(row["first_seen"] is not None for row in rows)


def test_parquet_of_nothing_has_the_schema(tmp_path: Path) -> None:
    staging = tmp_path / "empty.jsonl"
    staging.write_bytes(b"")
    assert jsonl_to_parquet(staging, tmp_path / "e.parquet", DomainPageSummary) == 0
    assert tuple(pq.read_table(tmp_path / "e.parquet").column_names) == COLUMNS


def test_format_from_extension() -> None:
    assert format_for("a.JSONL", None) == "jsonl"
    assert format_for("a.csv", None) == "csv"
    assert format_for("a.parquet", None) == "parquet"
    assert format_for("a.txt", None) is None
    assert format_for("a.txt", "csv") == "csv"
    assert format_for(None, None) == "jsonl"
