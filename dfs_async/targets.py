"""What a target is, and how one written by a person becomes one the API takes.

The API reads a target two ways, and the two mean different data at a different cost: a
domain or subdomain, written *without* scheme and `www.` (`forbes.com`: every link to any of
its pages), or a page, an absolute `http(s)://` URL (`https://forbes.com/`: the links to that
one URL, here the home page). `normalize_target` fixes a target's spelling and never its
meaning: a URL stays a page and a host stays a domain.

- surrounding white space is dropped; white space inside is an error;
- a host (bare, or a URL's) is lowercased, loses a trailing dot and becomes punycode if
  internationalised (`bücher.de` -> `xn--bcher-kva.de`);
- a bare host also loses a leading `www.`, as the API asks (`www.forbes.com` -> `forbes.com`,
  but `www.com` is a domain of its own);
  a URL keeps its host's `www.`: `https://www.forbes.com/` and `https://forbes.com/` are two
  pages;
- a URL's scheme is lowercased and an empty path is `/` (`HTTPS://Forbes.com` ->
  `https://forbes.com/`); the rest of a URL (path, query, fragment) is kept as written;
- a host with a path but no scheme (`forbes.com/blog`), another scheme, a port, a user part,
  an IP address or a name that is not a valid DNS name is an error, never a guess that costs
  a request.

Some endpoints take a domain only (`domain_pages`, `history`, the timeseries: their spec's
unit of work is `endpoints.one_domain`); given a page they refuse it before any request, and
the error names the page's domain, which is what to ask for instead. Reading a URL as its
site is a choice only a caller can make: `domain_of` gives a target's domain and whether it
was a URL (a command whose input is documented as domains says when it read one).

`is_api_target` is what the API takes as sent (the emulator's check): the API form, and also
a bare host with `www.`, which the API's own documentation sends (`www.trustpilot.com`).

A targets file (`read_targets`, the command line's reader too) is UTF-8 text, one target a
line: blank lines and lines starting with `#` are skipped, and so is anything after ` #` on
a line (white space then `#`: a target never holds white space, so this cannot cut a URL's
fragment); CRLF line ends and a byte order mark are fine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from dfs_async.errors import InvalidTarget

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IPV4 = re.compile(r"^\d+(\.\d+){3}$")
_INLINE_COMMENT = re.compile(r"\s+#.*$")
# An already-normal domain, the common case: two or more labels of lowercase ASCII letters and
# digits, hyphens only inside a label, not starting with `www.` and not ending in a digit (so
# no IPv4 address). One of at most 63 characters (so no label is too long) is its own API form:
# the full rules return it unchanged (tests/test_targets.py checks that the two paths agree),
# so `normalize_target` returns it after this one match (possessive: nothing to backtrack).
_NORMAL_DOMAIN = re.compile(
    r"(?!www\.)[a-z0-9]++(?:-++[a-z0-9]++)*+(?:\.[a-z0-9]++(?:-++[a-z0-9]++)*+)++(?<![0-9])"
)
# Lines of already-normal domains: many targets checked in one match (`normalize_targets`).
_NORMAL_LINES = re.compile(f"(?:{_NORMAL_DOMAIN.pattern}\n)*+{_NORMAL_DOMAIN.pattern}")


class DomainOf(NamedTuple):
    """A target read as a domain (`domain_of`)."""

    domain: str  # the domain's API form
    from_url: bool  # the target was a page URL, read as its host's domain


def read_targets(path: str | os.PathLike[str]) -> list[str]:
    """The targets of a targets file, as written (the stream normalises them); see the module
    docstring for the format. ValueError for a file that is not UTF-8 text."""
    return parse_targets(Path(path).read_bytes())


def parse_targets(data: bytes) -> list[str]:
    """The targets of a targets file's bytes (`read_targets`)."""
    if b"\0" in data:
        raise ValueError("is not a text file (it holds binary data)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"is not UTF-8 text (byte {exc.start})") from None
    targets = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            targets.append(_INLINE_COMMENT.sub("", line))
    return targets


def normalize_target(raw: str) -> str:
    """The API form of a target, with its meaning kept (a URL stays a page, a host a domain);
    raises InvalidTarget with the rule it breaks."""
    if type(raw) is str and len(raw) <= 63 and _NORMAL_DOMAIN.fullmatch(raw) is not None:
        return raw  # already normal (see _NORMAL_DOMAIN)
    return _normalize(raw)


def normalize_targets(raws: Sequence[Any]) -> list[str | InvalidTarget]:
    """`normalize_target` of each of `raws`: the API form, or the InvalidTarget it raises.

    Already-normal domains (a bulk stream reads a pack's worth of targets at once) are
    checked together, in one match of their lines: the same pattern as one by one, and none
    holds a line break (as many lines as targets); if any may not be, each is checked alone.
    """
    if (
        raws
        and set(map(type, raws)) == {str}
        and max(map(len, raws)) <= 63
        and _NORMAL_LINES.fullmatch(joined := "\n".join(raws)) is not None
        and joined.count("\n") == len(raws) - 1
    ):
        return list(raws)
    targets: list[str | InvalidTarget] = []
    for raw in raws:
        try:
            targets.append(normalize_target(raw))
        except InvalidTarget as exc:
            targets.append(exc)
    return targets


def domain_of(raw: str) -> DomainOf:
    """A target's domain, and whether the target was a page URL: `Forbes.com` ->
    `("forbes.com", False)`, `https://www.forbes.com/about` -> `("forbes.com", True)` (the
    bare host's rule: no `www.`). Raises InvalidTarget as `normalize_target` does."""
    target = normalize_target(raw)
    if not is_page(target):
        return DomainOf(target, False)
    return DomainOf(_host(raw, target_host(target)), True)


def is_page(target: str) -> bool:
    """Whether an API-form target is a page (an absolute URL), not a domain."""
    return "://" in target


def is_api_target(target: str) -> bool:
    """True when the API takes `target` as it is (what the emulator accepts): its API form,
    or a bare host with `www.` (the API's own examples send `www.trustpilot.com`)."""
    try:
        normal = normalize_target(target)
    except InvalidTarget:
        return False
    return target == normal or (not is_page(target) and target == "www." + normal)


def target_host(target: str) -> str:
    """The host of an API-form target: itself for a domain, the URL's host for a page."""
    return urlsplit(target).netloc if is_page(target) else target


def _normalize(raw: str) -> str:
    """`normalize_target` by the full rules (the module docstring)."""
    if not isinstance(raw, str):
        raise InvalidTarget(repr(raw), "a target must be a string")
    text = raw.strip()
    if not text:
        raise InvalidTarget(raw, "a target must not be empty")
    if any(ch.isspace() for ch in text):
        raise InvalidTarget(raw, "a target must not contain white space")
    if "://" not in text:
        if "/" in text or "?" in text or "#" in text:
            raise InvalidTarget(raw, "a page must be an absolute URL with http:// or https://")
        return _host(raw, text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidTarget(raw, "only http:// and https:// URLs are targets")
    if parts.username is not None or parts.password is not None:
        raise InvalidTarget(raw, "a URL target must not carry a user or password")
    host = _host(raw, parts.netloc, keep_www=True)
    rest = text[text.index("://") + 3 + len(parts.netloc) :]
    return f"{scheme}://{host}{rest if rest.startswith('/') else '/' + rest}"


def _host(raw: str, text: str, *, keep_www: bool = False) -> str:
    host = text.lower().rstrip(".")
    if _IPV4.match(host) or host.startswith("["):
        raise InvalidTarget(raw, "an IP address is not a target")
    if ":" in host:
        raise InvalidTarget(raw, "a target must not carry a port")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidTarget(raw, "not a valid domain name") from None
    if not keep_www and host.startswith("www.") and host.count(".") > 1:
        host = host[4:]  # `www.com` itself is a domain: two labels are left at least
        if _IPV4.match(host):  # `www.1.2.3.4` is no host name either
            raise InvalidTarget(raw, "an IP address is not a target")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidTarget(raw, "not a valid domain name (like example.com)")
    return host
