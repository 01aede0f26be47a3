"""Reproducible draws: every value of the corpus is a function of (seed, what it describes).

`stable_seed` (blake2b over the parts) seeds what is drawn once per host; `mix` (splitmix64)
spreads an integer key into 64 well-mixed bits, cheap enough to draw per link or per page, so
any record is made on its own, in any order, the same in every process.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Final

MASK: Final = (1 << 64) - 1
GOLDEN: Final = 0x9E3779B97F4A7C15
NOW: Final = 1_751_241_600  # 2025-06-30 00:00 UTC: the corpus's data has no clock
DAY: Final = 86_400


def mix(x: int) -> int:
    """splitmix64: a well-spread 64-bit number from any integer."""
    x = (x + GOLDEN) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def frac(h: int, shift: int) -> float:
    """A float in [0, 1) from 16 bits of `h` (several draws from one `mix`)."""
    return ((h >> shift) & 0xFFFF) / 65_536.0


def stable_seed(*parts: object) -> int:
    """A seed from values, the same in every process (unlike `hash`)."""
    text = "\x00".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def api_time(ts: float) -> str:
    """The API's datetime format for a UTC timestamp (whole seconds)."""
    day, second = divmod(int(ts), DAY)
    date = _DATES.get(day)
    if date is None:
        if len(_DATES) > 100_000:
            _DATES.clear()
        date = _DATES[day] = time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{date} {hour:02d}:{minute:02d}:{second:02d} +00:00"


_DATES: dict[int, str] = {}  # day number -> its date, formatted once


def spread(n: int, salt: int) -> tuple[int, int]:
    """(a, b) such that i -> (a * i + b) % n is a well-spread permutation of range(n)."""
    if n <= 1:
        return 1, 0
    a = int(n * 0.6180339887498949) | 1
    while math.gcd(a, n) != 1:
        a += 1
    return a, salt % n
