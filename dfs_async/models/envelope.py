"""The response envelope every endpoint shares: envelope -> tasks -> results.

Every field is optional and nullable because the API says so and because fields drift;
unknown fields are ignored by msgspec's default, so a new field never breaks decoding.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

R = TypeVar("R")
I = TypeVar("I")  # noqa: E741 - the conventional name for an item type


class PagedResult(msgspec.Struct, Generic[I], gc=False):
    """One result of a paged endpoint: a page of `items` out of `total_count`."""

    target: str | None = None
    total_count: int | None = None
    items_count: int | None = None
    items: list[I] | None = None


class Task(msgspec.Struct, Generic[R], gc=False):
    """One task's outcome. `data` echoes the posted task (values are any JSON)."""

    id: str | None = None
    status_code: int | None = None
    status_message: str | None = None
    time: str | None = None
    cost: float | None = None
    result_count: int | None = None
    path: list[str | None] | None = None
    data: dict[str, Any] | None = None
    result: list[R] | None = None


class Envelope(msgspec.Struct, Generic[R], gc=False):
    """A whole response body."""

    version: str | None = None
    status_code: int | None = None
    status_message: str | None = None
    time: str | None = None
    cost: float | None = None
    tasks_count: int | None = None
    tasks_error: int | None = None
    tasks: list[Task[R]] | None = None
