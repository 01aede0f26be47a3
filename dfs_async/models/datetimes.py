"""The API's datetime format, `2019-11-15 12:57:46 +00:00`.

It is not RFC 3339 (a space before the offset), so msgspec cannot decode it as a datetime:
items keep the string, and this module parses and formats it.
"""

from __future__ import annotations

from datetime import datetime

API_FORMAT = "%Y-%m-%d %H:%M:%S %z"


def parse_api_datetime(value: str | None) -> datetime | None:
    """Parse the API's datetime string (None stays None)."""
    if value is None:
        return None
    return datetime.strptime(value, API_FORMAT)


def format_api_datetime(value: datetime) -> str:
    """Format an aware datetime the way the API writes it (`+00:00`, with a colon)."""
    text = value.strftime("%Y-%m-%d %H:%M:%S %z")
    return f"{text[:-2]}:{text[-2:]}"
