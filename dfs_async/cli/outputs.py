"""The output formats: one record per item, `target` first, then every field of the item.

The columns are derived from the item's msgspec Struct (`DomainPageSummary`), never listed by
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
  the API's datetimes timestamp[us, UTC]: a datetime field is one the model gives a parsed
  `<field>_datetime` accessor for; JSONL and CSV keep the API's text),
  written in row groups of ROWS_PER_GROUP rows, so memory stays bounded whatever the size.
  Parquet cannot be appended to or truncated, so a run writes its records to a JSONL staging
  file (the format resume knows how to truncate) and converts it at the end; see audit.py.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import msgspec

from dfs_async.models import DomainPageSummary, parse_api_datetime

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]

FORMATS: Final = ("jsonl", "csv", "parquet")
EXTENSIONS: Final = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
ROWS_PER_GROUP: Final = 50_000

ITEM_TYPE: Final = DomainPageSummary


def _kinds(item_type: type[msgspec.Struct]) -> dict[str, str]:
    """Each field of the item and its kind: int, float, bool, str, datetime or map."""
    kinds: dict[str, str] = {}
    for f in msgspec.inspect.type_info(item_type).fields:  # type: ignore[attr-defined]
        info = f.type
        if isinstance(info, msgspec.inspect.UnionType):
            info = next(t for t in info.types if not isinstance(t, msgspec.inspect.NoneType))
        if isinstance(info, msgspec.inspect.DictType):
            kinds[f.name] = "map"
        elif isinstance(info, msgspec.inspect.BoolType):
            kinds[f.name] = "bool"
        elif isinstance(info, msgspec.inspect.IntType):
            kinds[f.name] = "int"
        elif isinstance(info, msgspec.inspect.FloatType):
            kinds[f.name] = "float"
        elif hasattr(item_type, f"{f.name}_datetime"):  # the model parses it: a datetime
            kinds[f.name] = "datetime"
        else:
            kinds[f.name] = "str"
    return kinds


FIELD_KINDS: Final = _kinds(ITEM_TYPE)
COLUMNS: Final = ("target", *FIELD_KINDS)
MAP_FIELDS: Final = frozenset(name for name, kind in FIELD_KINDS.items() if kind == "map")
DATETIME_FIELDS: Final = frozenset(n for n, kind in FIELD_KINDS.items() if kind == "datetime")


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
    """`{"target": ..., <every item field>}` a line; the Struct encodes itself, fields in order."""

    def header(self) -> bytes:
        return b""

    def encode(self, target: str, item: Any) -> bytes:
        body = _json.encode(item)
        rest = b"," + body[1:] if len(body) > 2 else b"}"
        return b'{"target":' + _json.encode(target) + rest + b"\n"


class CsvEncoder:
    """A header row, then one row per record; maps as compact JSON cells (see module doc)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def _row(self, row: list[Any]) -> bytes:
        self._writer.writerow(row)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")

    def header(self) -> bytes:
        return self._row(list(COLUMNS))

    def encode(self, target: str, item: Any) -> bytes:
        row: list[Any] = [target]
        for name in FIELD_KINDS:
            value = getattr(item, name)
            if value is None:
                row.append("")
            elif name in MAP_FIELDS:
                row.append(_json.encode(value).decode())
            else:
                row.append(value)
        return self._row(row)


def encoder_for(fmt: str) -> Encoder:
    """The encoder that writes `fmt`'s file (parquet runs write JSONL, then convert)."""
    return CsvEncoder() if fmt == "csv" else JsonlEncoder()


def check_parquet() -> str | None:
    """None when pyarrow is importable, else the message telling how to get it."""
    try:
        import pyarrow.parquet  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return "parquet output needs pyarrow: pip install 'dfs-async[parquet]'"
    return None


def parquet_schema() -> pa.Schema:
    """The typed schema, derived from the item Struct."""
    import pyarrow as pa

    types = {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "str": pa.string(),
        "datetime": pa.timestamp("us", tz="UTC"),
        "map": pa.map_(pa.string(), pa.int64()),
    }
    fields = [pa.field("target", pa.string(), nullable=False)]
    fields += [pa.field(name, types[kind]) for name, kind in FIELD_KINDS.items()]
    return pa.schema(fields)


def _row_groups(source: Path, rows: int) -> Iterator[list[dict[str, Any]]]:
    decoder = msgspec.json.Decoder(dict[str, Any])
    group: list[dict[str, Any]] = []
    with source.open("rb") as f:
        for line in f:
            group.append(decoder.decode(line))
            if len(group) >= rows:
                yield group
                group = []
    if group:
        yield group


def _column(group: list[dict[str, Any]], name: str) -> list[Any]:
    values = [r.get(name) for r in group]
    return [parse_api_datetime(v) for v in values] if name in DATETIME_FIELDS else values


def jsonl_to_parquet(source: Path, dest: Path, rows_per_group: int = ROWS_PER_GROUP) -> int:
    """Convert a JSONL records file to parquet, a row group at a time; the number of rows.

    The parquet file is written beside `dest` and renamed over it when complete, so `dest`
    is either the previous file or the whole new one, never half of one.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    tmp = dest.with_name(dest.name + ".tmp")
    count = 0
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for group in _row_groups(source, rows_per_group):
            columns = [pa.array(_column(group, f.name), type=f.type) for f in schema]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            count += len(group)
        if count == 0:
            writer.write_table(schema.empty_table())
    os.replace(tmp, dest)
    return count
