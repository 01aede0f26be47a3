"""The output formats: one record per item, `target` first, then every field of the item.

The columns are derived from the endpoint's item Struct (`columns(item)`), never listed by
hand, so a field added to the model appears in every format.

- **jsonl**: one JSON object a line, encoded by msgspec; maps stay objects, nulls stay null.
- **csv**: RFC 4180 (`csv` module, CRLF), a header row, one column per field. A null is an
  empty cell. Each map (`referring_links_tld`, `referring_links_types`, ...) is **one cell
  holding the map as compact JSON** (`{"anchor":12,"image":3}`), an empty cell when null.
  Why not one column per key (`referring_links_types.anchor`)? The key sets are open: TLDs,
  countries, link attributes and semantic locations have no closed list, and every map is
  cut to the top `internal_list_limit` keys, so columns derived from the data would change
  from run to run (and between two files of the same audit), while a fixed list of "known"
  keys would silently drop the others. One JSON cell per map keeps the column set identical
  for every run, every filter and every API version that keeps the fields, loses nothing,
  and is one `json.loads` (or DuckDB's `->>`) away from any key.
- **parquet**: a typed schema (integers int64, strings string, maps map<string, int64>,
  the API's datetimes timestamp[us, UTC] (the fields `models.fields` knows as datetimes; JSONL
  and CSV keep the API's text), dates date32 (ISO `2026-01-31` in JSONL and CSV), lists
  and nested objects as JSON text),
  written in row groups of ROWS_PER_GROUP rows, so memory stays bounded whatever the size.
  Parquet cannot be appended to or truncated, so a run writes its records to a JSONL staging
  file (the format resume knows how to truncate) and converts it at the end; see endpoint.py.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import msgspec

from dfs_async.models import parse_api_datetime
from dfs_async.models.fields import Kind, kinds_of

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]

FORMATS: Final = ("jsonl", "csv", "parquet")
EXTENSIONS: Final = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
ROWS_PER_GROUP: Final = 50_000


@dataclass(frozen=True)
class Columns:
    """The columns of an item type's records: `target`, then each field, by kind."""

    kinds: dict[str, Kind]  # the item's fields (no `target`)

    @property
    def names(self) -> tuple[str, ...]:
        return ("target", *self.kinds)

    @functools.cached_property
    def maps(self) -> frozenset[str]:
        return frozenset(n for n, kind in self.kinds.items() if kind == "map")

    @functools.cached_property
    def datetimes(self) -> frozenset[str]:
        return frozenset(n for n, kind in self.kinds.items() if kind == "time")

    @functools.cached_property
    def json_cells(self) -> frozenset[str]:
        """Fields a CSV cell holds as compact JSON: maps, lists, nested objects."""
        return frozenset(n for n, k in self.kinds.items() if k in ("map", "list", "object"))


@functools.cache
def columns(item: type[msgspec.Struct]) -> Columns:
    """The columns of `item`'s records, derived from its Struct (never listed by hand); an
    item's own `target` field (the bulk endpoints') is the record's `target` column."""
    return Columns({k: v for k, v in kinds_of(item).items() if k != "target"})


def format_for(path: str | None, explicit: str | None) -> str | None:
    """The format asked for, else the one the output's extension names (None: unknown)."""
    if explicit is not None:
        return explicit
    if path is None or path == "-":
        return "jsonl"
    return EXTENSIONS.get(Path(path).suffix.lower())


class Encoder(Protocol):
    """Turns records into the bytes of one output format."""

    def header(self) -> bytes: ...

    def encode(self, target: str, item: Any) -> bytes: ...


_json = msgspec.json.Encoder()


class JsonlEncoder:
    """`{"target": ..., <every item field>}` a line; the Struct encodes itself, fields in order
    (an item with a `target` of its own is written field by field, the record's target first)."""

    def __init__(self, item: type[msgspec.Struct]) -> None:
        self._fields = tuple(columns(item).kinds)
        self._own_target = "target" in kinds_of(item)

    def header(self) -> bytes:
        return b""

    def encode(self, target: str, item: Any) -> bytes:
        if self._own_target:
            row = {"target": target, **{name: getattr(item, name) for name in self._fields}}
            return _json.encode(row) + b"\n"
        body = _json.encode(item)
        rest = b"," + body[1:] if len(body) > 2 else b"}"
        return b'{"target":' + _json.encode(target) + rest + b"\n"


class CsvEncoder:
    """A header row, then one row per record; maps as compact JSON cells (see module doc)."""

    def __init__(self, item: type[msgspec.Struct]) -> None:
        self._columns = columns(item)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def _row(self, row: list[Any]) -> bytes:
        self._writer.writerow(row)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")

    def header(self) -> bytes:
        return self._row(list(self._columns.names))

    def encode(self, target: str, item: Any) -> bytes:
        row: list[Any] = [target]
        json_cells = self._columns.json_cells
        for name in self._columns.kinds:
            value = getattr(item, name)
            if value is None:
                row.append("")
            elif name in json_cells:
                row.append(_json.encode(value).decode())
            else:
                row.append(value)
        return self._row(row)


def encoder_for(fmt: str, item: type[msgspec.Struct]) -> Encoder:
    """The encoder that writes `fmt`'s file of `item` records (parquet runs write JSONL,
    then convert)."""
    return CsvEncoder(item) if fmt == "csv" else JsonlEncoder(item)


def check_parquet() -> str | None:
    """None when pyarrow is importable, else the message telling how to get it."""
    try:
        import pyarrow.parquet  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return "parquet output needs pyarrow: pip install 'dfs-async[parquet]'"
    return None


def parquet_schema(item: type[msgspec.Struct]) -> pa.Schema:
    """The typed schema, derived from the item Struct."""
    import pyarrow as pa

    types = {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "str": pa.string(),
        "time": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
        "map": pa.map_(pa.string(), pa.int64()),
        "list": pa.string(),
        "object": pa.string(),
    }
    fields = [pa.field("target", pa.string(), nullable=False)]
    fields += [pa.field(name, types[kind]) for name, kind in columns(item).kinds.items()]
    return pa.schema(fields)


def _records(source: Path) -> Iterator[dict[str, Any]]:
    decoder = msgspec.json.Decoder(dict[str, Any])
    with source.open("rb") as f:
        for line in f:
            yield decoder.decode(line)


def _column(group: list[dict[str, Any]], name: str, kind: str) -> list[Any]:
    values = [r.get(name) for r in group]
    if kind == "time":
        return [parse_api_datetime(v) for v in values]
    if kind == "date":  # a date, or its ISO text (read back from JSONL)
        return [date.fromisoformat(v) if isinstance(v, str) else v for v in values]
    if kind in ("list", "object"):
        return [None if v is None else _json.encode(v).decode() for v in values]
    return values


def jsonl_to_parquet(
    source: Path, dest: Path, item: type[msgspec.Struct], rows_per_group: int = ROWS_PER_GROUP
) -> int:
    """Convert a JSONL records file to parquet (`write_parquet`); the number of rows."""
    return write_parquet(_records(source), dest, item, rows_per_group)


def write_parquet(
    records: Iterable[dict[str, Any]],
    dest: Path,
    item: type[msgspec.Struct],
    rows_per_group: int = ROWS_PER_GROUP,
) -> int:
    """Write records (`{"target": ..., <item fields>}`) as parquet, a row group at a time;
    the number of rows.

    The parquet file is written beside `dest` and renamed over it when complete, so `dest`
    is either the previous file or the whole new one, never half of one.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema(item)
    kinds: dict[str, str] = {"target": "str", **columns(item).kinds}
    tmp = dest.with_name(dest.name + ".tmp")
    count = 0
    records = iter(records)
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        while group := list(itertools.islice(records, rows_per_group)):
            arrays = [pa.array(_column(group, f.name, kinds[f.name]), type=f.type) for f in schema]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            count += len(group)
        if count == 0:
            writer.write_table(schema.empty_table())
    os.replace(tmp, dest)
    return count


def write_table(
    dest: Path, fmt: str, item: type[msgspec.Struct], rows: Iterable[tuple[str, Any]]
) -> int:
    """Write whole `(target, item)` rows to `dest` in `fmt`, beside it first and renamed
    over it when complete (never half a table); the number of rows."""
    if fmt == "parquet":
        fields = columns(item).kinds
        records = ({"target": t, **{f: getattr(r, f) for f in fields}} for t, r in rows)
        return write_parquet(records, dest, item)
    encoder = encoder_for(fmt, item)
    tmp = dest.with_name(dest.name + ".tmp")
    count = 0
    with tmp.open("wb") as out:
        out.write(encoder.header())
        for target, row in rows:
            out.write(encoder.encode(target, row))
            count += 1
    os.replace(tmp, dest)
    return count
