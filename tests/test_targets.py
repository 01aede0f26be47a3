"""Targets: what a person writes becomes what the API takes, with its meaning kept, or a clear
error. A URL is a page and a host a domain: different data, a different cost."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dfs_async import DomainOf, InvalidTarget, domain_of, normalize_target
from dfs_async.endpoints import BY_NAME, ENDPOINTS, one_domain
from dfs_async.errors import ValidationError
from dfs_async.targets import (
    _NORMAL_DOMAIN,
    _normalize,
    is_api_target,
    is_page,
    normalize_targets,
    target_host,
)
from tests.official import example_targets


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("forbes.com", "forbes.com"),
        ("  Forbes.COM \n", "forbes.com"),
        ("www.forbes.com", "forbes.com"),
        ("forbes.com.", "forbes.com"),
        ("blog.forbes.com", "blog.forbes.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        # a URL is a page, the home page too: only its spelling is fixed
        ("https://forbes.com/", "https://forbes.com/"),
        ("https://forbes.com", "https://forbes.com/"),
        ("HTTPS://WWW.Forbes.com/", "https://www.forbes.com/"),
        ("https://forbes.com.", "https://forbes.com/"),
        ("https://forbes.com?x=1", "https://forbes.com/?x=1"),
        ("http://blog.forbes.com/", "http://blog.forbes.com/"),
        ("https://www.forbes.com/sites/a?b=1", "https://www.forbes.com/sites/a?b=1"),
        ("HTTP://Forbes.com/Path/Case", "http://forbes.com/Path/Case"),
        ("https://bücher.de/seite", "https://xn--bcher-kva.de/seite"),
        ("https://www.apple.com/iphone/*", "https://www.apple.com/iphone/*"),
    ],
)
def test_the_spelling_is_fixed_and_the_meaning_kept(raw: str, expected: str) -> None:
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
        ("www.1.2.3.4", "IP address"),  # not a host name once its `www.` is dropped
        ("http://[::1]/", "IP address"),
        ("https:///x", "domain name"),
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


def test_what_the_api_takes_as_sent() -> None:
    assert is_api_target("https://forbes.com/") and is_api_target("forbes.com")
    assert is_api_target("www.trustpilot.com")  # the API's own example sends it
    for spelled in ("https://forbes.com", "Forbes.com", "HTTPS://forbes.com/", " forbes.com"):
        assert not is_api_target(spelled)  # the library sends its API form, never these
    assert not is_api_target("https://www.forbes.com")  # a page: its `www.` is kept


def test_every_target_the_official_documentation_shows_is_taken_as_written() -> None:
    targets = example_targets()
    assert {"http://planet.postgresql.org/", "www.trustpilot.com", "forbes.com"} <= set(targets)
    for target in targets:
        assert is_api_target(target), target
        normal = normalize_target(target)
        assert is_page(normal) == is_page(target)
        assert normal == target or target == "www." + normal  # a bare host's www., as asked


def test_the_home_page_and_its_domain_are_two_targets() -> None:
    keys = normalize_targets(["https://forbes.com/", "forbes.com", "https://forbes.com"])
    assert keys == ["https://forbes.com/", "forbes.com", "https://forbes.com/"]


def test_the_domain_of_a_target() -> None:
    assert domain_of("Forbes.com") == DomainOf("forbes.com", from_url=False)
    assert domain_of("https://www.Forbes.com/about") == DomainOf("forbes.com", from_url=True)
    assert domain_of("http://blog.forbes.com/") == ("blog.forbes.com", True)
    with pytest.raises(InvalidTarget, match="absolute URL"):
        domain_of("forbes.com/about")


def test_host_of_a_target() -> None:
    assert target_host("blog.forbes.com") == "blog.forbes.com"
    assert target_host("https://www.forbes.com/a/b") == "www.forbes.com"


DOMAIN_ONLY = ("domain_pages", "history", "timeseries_summary", "timeseries_new_lost_summary")


def test_the_endpoints_that_take_a_domain_only_are_those_the_schema_says() -> None:
    from tests.official import components

    def takes_pages(endpoint_name: str) -> bool:
        schema = components()[f"Backlinks{_camel(endpoint_name)}LiveRequestInfo"]
        fields = schema["properties"]
        text = (fields.get("target") or fields.get("targets"))["description"]
        return "page" in text.split("\n")[0]

    assert {e.name for e in ENDPOINTS if not takes_pages(e.name)} == set(DOMAIN_ONLY)
    assert {e.name for e in ENDPOINTS if e.unit is one_domain} == set(DOMAIN_ONLY)


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


@pytest.mark.parametrize("name", DOMAIN_ONLY)
def test_a_page_given_where_a_domain_is_asked_is_refused_naming_its_domain(name: str) -> None:
    endpoint = BY_NAME[name]
    assert endpoint.unit("WWW.Forbes.com") == ("forbes.com", {"target": "forbes.com"})
    with pytest.raises(InvalidTarget) as info:
        endpoint.unit("https://www.forbes.com/")
    assert "takes a domain or subdomain" in info.value.rule
    assert "the page's domain is forbes.com" in info.value.rule
    with pytest.raises(ValidationError, match=r"the page's domain is forbes\.com"):
        endpoint.check_task({"target": "https://forbes.com/about"})  # the emulator's 40501


# -- properties ------------------------------------------------------------------------------

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
urls = st.builds(
    lambda scheme, host, rest: f"{scheme}://{host}{rest}",
    st.sampled_from(["http", "https", "HTTPS", "Http", "ftp"]),
    st.one_of(domains, near_normal),
    st.sampled_from(["", "/", "/a/B", "/x?y=1", "?q=1", "#f", "/*", ":80/", "//x"]),
)
anything = st.one_of(
    domains, near_normal, ipv4, urls, st.text(alphabet=_LABEL_CHARS + ".:/?# ", max_size=80)
)


def outcome(normalize: object, raw: object) -> tuple[str, str]:
    try:
        return "ok", normalize(raw)  # type: ignore[operator]
    except InvalidTarget as exc:
        return "refused", str(exc)


@given(anything)
@example("https://forbes.com/")
@example("www.www.com")
@example("https://Bücher.de")
def test_normalising_is_idempotent_and_keeps_the_kind(raw: str) -> None:
    try:
        normal = normalize_target(raw)
    except InvalidTarget:
        return
    assert normalize_target(normal) == normal
    assert is_api_target(normal)
    assert is_page(normal) == ("://" in raw)  # never a URL into a domain, nor back


@given(anything)
@example("https://www.forbes.com/about")
def test_the_domain_of_a_target_is_the_domain_of_its_host(raw: str) -> None:
    try:
        normal = normalize_target(raw)
    except InvalidTarget:
        with pytest.raises(InvalidTarget):
            domain_of(raw)
        return
    domain, from_url = domain_of(raw)
    assert from_url == is_page(normal)
    assert not is_page(domain) and normalize_target(domain) == domain
    assert domain == normalize_target(target_host(normal))
    assert domain_of(normal) == (domain, from_url)


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
            urls,
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
