"""Targets: what a person writes becomes what the API takes, or a clear error."""

from __future__ import annotations

import pytest

from dfs_async import InvalidTarget, normalize_target
from dfs_async.targets import is_api_target, target_host


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("forbes.com", "forbes.com"),
        ("  Forbes.COM \n", "forbes.com"),
        ("www.forbes.com", "forbes.com"),
        ("forbes.com.", "forbes.com"),
        ("blog.forbes.com", "blog.forbes.com"),
        ("https://www.forbes.com", "forbes.com"),
        ("HTTPS://WWW.Forbes.com/", "forbes.com"),
        ("http://blog.forbes.com/", "blog.forbes.com"),
        ("https://www.forbes.com/sites/a?b=1", "https://www.forbes.com/sites/a?b=1"),
        ("HTTP://Forbes.com/Path/Case", "http://forbes.com/Path/Case"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("https://bücher.de/seite", "https://xn--bcher-kva.de/seite"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ],
)
def test_normalises_what_people_write(raw: str, expected: str) -> None:
    assert normalize_target(raw) == expected
    assert is_api_target(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("for bes.com", "white space"),
        ("forbes.com/blog", "absolute URL"),
        ("ftp://forbes.com/x", "http:// and https://"),
        ("forbes.com:8080", "port"),
        ("https://forbes.com:8080/x", "port"),
        ("https://user:pw@forbes.com/x", "user"),
        ("127.0.0.1", "IP address"),
        ("localhost", "domain name"),
        ("-bad-.com", "domain name"),
        ("a..com", "domain name"),
        ("x" * 64 + ".com", "domain name"),
    ],
)
def test_rejects_with_the_rule(raw: str, reason: str) -> None:
    with pytest.raises(InvalidTarget) as info:
        normalize_target(raw)
    assert reason in str(info.value)
    assert info.value.field == "target"


def test_api_form_is_strict() -> None:
    assert not is_api_target("www.forbes.com")
    assert not is_api_target("https://forbes.com/")
    assert not is_api_target("Forbes.com")


def test_host_of_a_target() -> None:
    assert target_host("blog.forbes.com") == "blog.forbes.com"
    assert target_host("https://www.forbes.com/a/b") == "www.forbes.com"
