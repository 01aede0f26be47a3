"""Durations as people write them on a command line: `90`, `90s`, `30m`, `12h`, `7d`."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["DAY", "parse_duration"]

DAY: Final = 86400.0  # seconds
_UNITS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": DAY}
_DURATION: Final = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds: a number alone is seconds; `s`, `m`, `h`, `d` after it (`1.5h`) name the
    unit. Raises ValueError with a one-line message for anything else, or for zero."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(
            f"not a duration: {text!r} (seconds, or a number with s, m, h or d: "
            "90, 90s, 30m, 12h, 7d)"
        )
    seconds = float(match[1]) * _UNITS[match[2].lower()]
    if seconds <= 0:
        raise ValueError(f"a duration must be more than 0 (got {text!r})")
    return seconds
