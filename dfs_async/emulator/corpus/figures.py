"""The API's defaults read from the request Structs, rank scaling, the series' domain counts
and the backlinks token.

- `domain_counts`: the referring domain counts of a point of a series (`history`, the
  timeseries), estimated from the referring domains on the growth curve with the target's
  shares (the series have no list of links to count).
- The `search_after_token` of `backlinks`: `base64url("t1:<next position>:<fingerprint>:<mac>")`
  where the fingerprint is a keyed hash (key: the seed) of every other field of the request
  (tag, limit and offset included) and the mac a keyed hash of the rest: it survives a restart
  with the same seed, and a tampered token, or one sent with another field changed, is
  refused (ValidationError on `search_after_token`, 40501). The mac is keyed by the token
  `epoch` too: a new epoch (`Emulator.expire_tokens`) refuses every token made before, as
  the API refuses a token whose search it no longer holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from dfs_async.emulator.corpus.links import Profile
from dfs_async.errors import ValidationError
from dfs_async.models.fields import fields_of

RANK_FIELDS = ("rank", "page_from_rank", "domain_from_rank", "main_domain_rank")


def option(task: Mapping[str, Any], request: type[msgspec.Struct], name: str) -> Any:
    """A task's field, or the API's default for it (the request's `Meta.extra`)."""
    if name in task:
        return task[name]
    for info in fields_of(request):
        if info.name == name:
            return info.extra["default"] if isinstance(info.extra, dict) else None
    raise KeyError(name)


def domain_counts(profile: Profile, domains: int) -> dict[str, Any]:
    ips = min(domains, max(1, int(domains * profile.ip_share))) if domains else 0
    nofollow = int(domains * profile.nofollow)
    return {
        "referring_domains": domains,
        "referring_domains_nofollow": nofollow,
        "referring_main_domains": domains,
        "referring_main_domains_nofollow": nofollow,
        "referring_ips": ips,
        "referring_subnets": min(ips, max(1, int(ips * 0.8))) if ips else 0,
    }


def scale(item: Any, one_hundred: bool) -> Any:
    """The item with its rank fields on the one_hundred scale (when asked)."""
    if not one_hundred:
        return item
    changes = {}
    for name in RANK_FIELDS:
        value = getattr(item, name, None)
        if value is not None:
            changes[name] = round(value / 10)
    return msgspec.structs.replace(item, **changes) if changes else item


def scale_value(value: int, one_hundred: bool) -> int:
    return round(value / 10) if one_hundred else value


# -- the backlinks token -------------------------------------------------------------------


def _key(seed: int) -> bytes:
    return f"dfs-emulator-token:{seed}".encode()


def fingerprint(seed: int, task: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in task.items() if k != "search_after_token"}
    data = msgspec.json.encode(rest, order="sorted")
    return hashlib.blake2b(data, key=_key(seed), digest_size=8).hexdigest()


def _mac(seed: int, epoch: int, raw: str) -> str:
    key = _key(seed) + f":mac:{epoch}".encode()
    return hashlib.blake2b(raw.encode(), key=key, digest_size=8).hexdigest()


def make_token(seed: int, position: int, print_: str, epoch: int = 0) -> str:
    raw = f"t1:{position}:{print_}"
    mac = _mac(seed, epoch, raw)
    return base64.urlsafe_b64encode(f"{raw}:{mac}".encode()).decode().rstrip("=")


def read_token(seed: int, token: str, print_: str, epoch: int = 0) -> int:
    """The position a token resumes at; ValidationError unless it is this request's, made
    in this `epoch`."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        version, position, got, mac = text.split(":")
        pos = int(position)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("search_after_token", "not a token of this API") from None
    want = _mac(seed, epoch, f"{version}:{position}:{got}")
    if version != "t1" or mac != want or pos < 0:
        raise ValidationError("search_after_token", "not a token of this API")
    if got != print_:
        raise ValidationError(
            "search_after_token", "every other field must be identical to the token's request"
        )
    return pos
