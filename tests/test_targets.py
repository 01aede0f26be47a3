"""Targets: what a person writes becomes what the API takes, or a clear error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dfs_async import InvalidTarget, normalize_target
from dfs_async.targets import (
    _NORMAL_DOMAIN,
    _normalize,
    is_api_target,
    normalize_targets,
    target_host,
)


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


# -- the fast path for already-normal domains agrees with the full rules ------------------

_LABEL_CHARS = "abcxyzAZ0189-ü_"
labels = st.text(alphabet=_LABEL_CHARS, max_size=66)
domains = st.builds(
    lambda prefix, parts, dot: prefix + ".".join(parts) + dot,
    st.sampled_from(["", "", "www.", "WWW.", "ww.", "-", "."]),
    st.lists(labels, min_size=1, max_size=5),
    st.sampled_from(["", "", "", "."]),
)
near_normal = st.from_regex(_NORMAL_DOMAIN, fullmatch=True)
ipv4 = st.lists(st.integers(0, 999).map(str), min_size=3, max_size=5).map(".".join)


def outcome(normalize: object, raw: object) -> tuple[str, str]:
    try:
        return "ok", normalize(raw)  # type: ignore[operator]
    except InvalidTarget as exc:
        return "refused", str(exc)


@given(st.one_of(domains, near_normal, ipv4, st.text(alphabet=_LABEL_CHARS + ".:/ ", max_size=80)))
@example("www.com")
@example("a.b")
@example("1.2.3.4")
@example("1.2.3.com")
@example("x" * 63 + ".com")
@example("a" * 30 + "." + "b" * 32)
@example("xn--bcher-kva.de")
@example("a--b.c-d.e")
def test_the_fast_path_agrees_with_the_full_rules(raw: str) -> None:
    assert outcome(normalize_target, raw) == outcome(_normalize, raw)


@given(
    st.lists(
        st.one_of(
            near_normal,
            near_normal,
            domains,
            near_normal.map(lambda d: d + "\n" + d),
            st.text(alphabet=_LABEL_CHARS + ".\n", max_size=70),
        ),
        max_size=8,
    )
)
# Generation only: a loaded CI machine once took 1.2 s for two inputs (too_slow).
@settings(suppress_health_check=[HealthCheck.too_slow])
@example(["a.com", "b.org"])
@example(["a.com\nb.com", "c.com"])
@example(["a.com\n", "b.com"])
def test_many_at_once_agree_with_one_by_one(raws: list[str]) -> None:
    many = [
        ("ok", k) if isinstance(k, str) else ("refused", str(k)) for k in normalize_targets(raws)
    ]
    assert many == [outcome(normalize_target, raw) for raw in raws]


def test_the_fast_path_returns_a_plain_str_for_a_str_subclass() -> None:
    class Name(str):
        pass

    assert type(normalize_target(Name("forbes.com"))) is str
    raw = "".join(["blog.", "forbes.com"])
    assert normalize_target(raw) is raw  # already normal: the fast path, nothing rebuilt
