"""Talking to an emulator over a loopback socket with httpx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import msgspec

from dfs_async.emulator import EmulatorHandle
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY, ENDPOINTS

SUMMARY_PATH = DOMAIN_PAGES_SUMMARY.path


class Api:
    """An httpx client bound to one running emulator and its default account."""

    def __init__(self, handle: EmulatorHandle) -> None:
        self.handle = handle
        self.app = handle.app
        self.http = httpx.Client(base_url=handle.base_url, auth=handle.auth, timeout=30)

    def post(self, body: Any, **kwargs: Any) -> httpx.Response:
        content = body if isinstance(body, bytes) else msgspec.json.encode(body)
        return self.http.post(SUMMARY_PATH, content=content, **kwargs)

    def answer(self, *tasks: dict[str, Any]) -> dict[str, Any]:
        response = self.post(list(tasks))
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def task(self, **fields: Any) -> dict[str, Any]:
        task: dict[str, Any] = self.answer(fields)["tasks"][0]
        return task

    def result(self, **fields: Any) -> dict[str, Any]:
        task = self.task(**fields)
        assert task["status_code"] == 20000, task
        result: dict[str, Any] = task["result"][0]
        return result

    def items(self, **fields: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.result(**fields)["items"]
        return items

    def call(self, endpoint: str, **fields: Any) -> Any:
        """The result of one task of any endpoint (by name), which must succeed."""
        path = next(e.path for e in ENDPOINTS if e.name == endpoint)
        response = self.http.post(path, content=msgspec.json.encode([fields]))
        assert response.status_code == 200, response.text
        task = response.json()["tasks"][0]
        assert task["status_code"] == 20000, task
        return task["result"][0]

    def every(self, endpoint: str, **fields: Any) -> list[dict[str, Any]]:
        """Every item of a paged endpoint's task, page by page."""
        items: list[dict[str, Any]] = []
        while True:
            result = self.call(endpoint, **fields, limit=1000, offset=len(items))
            items += result["items"]
            if len(items) >= result["total_count"] or not result["items"]:
                assert len(items) == result["total_count"]
                return items


ApiFactory = Callable[..., Api]


def as_dicts(items: list[Any]) -> list[dict[str, Any]]:
    """Items as the JSON they are served as."""
    return [msgspec.to_builtins(item) for item in items]
