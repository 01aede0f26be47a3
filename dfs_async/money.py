"""Money as a person reads it: every repr and message shows USD through `money`."""

from __future__ import annotations

__all__ = ["money"]


def money(usd: float) -> str:
    """`$0.3408`, `$1.20`, `$0.02003`: 5 decimals (the price's precision, $0.00003 an item)
    without float noise, trailing zeros dropped down to the cents."""
    whole, _, cents = f"{usd:.5f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"
