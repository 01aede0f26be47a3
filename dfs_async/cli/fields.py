"""A subcommand's request options, made from its endpoint's request Struct.

One option per request field but the unit of work's (`--internal-list-limit` for
`internal_list_limit`): its type, help, choices and the API's default are read from the
Struct (`models.fields`), and its value is judged by the endpoint's own checks, so a rule is
written once, in the model. Integers are parsed here but their bounds checked there;
booleans get `--x/--no-x`; a list of strings is a repeatable option; any other list, map or
object is JSON.
"""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from dfs_async.cli.exits import UsageError
from dfs_async.endpoints import Endpoint
from dfs_async.errors import ValidationError
from dfs_async.models.fields import FieldInfo, fields_of


def option(name: str) -> str:
    """The command line's spelling of a request field."""
    return "--" + name.replace("_", "-")


def _integer(text: str) -> int:
    """Any integer: the endpoint's rules, not argparse, judge the range."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _default(info: FieldInfo) -> Any:
    return info.extra.get("default") if isinstance(info.extra, dict) else None


def _help(info: FieldInfo, default: Any = None) -> str:
    words = info.description or info.name.replace("_", " ")
    if info.kind == "int" and info.ge is not None:
        words += f", {info.ge}..{info.le}" if info.le is not None else f", at least {info.ge}"
    api = _default(info)
    if default is not None:
        return f"{words} (default: {default})"
    if api is not None:
        shown = str(api).lower() if isinstance(api, bool) else api
        return f"{words} (default: the API's, {shown})"
    return f"{words} (default: the API's)"


def add_request_options(
    parser: argparse.ArgumentParser, endpoint: Endpoint, defaults: dict[str, Any]
) -> Any:
    """One option per request field of `endpoint` (the unit's fields left out), in a group
    that is returned; `defaults` are the command's own where they differ from the API's."""
    group = parser.add_argument_group("request fields (see the API's documentation)")
    unit = endpoint.stand_in
    for info in fields_of(endpoint.request):
        if info.name in unit:
            continue
        flag, default = option(info.name), defaults.get(info.name)
        help_text = _help(info, default).replace("%", "%%")
        if info.kind == "bool":
            group.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif info.kind == "int":
            group.add_argument(flag, type=_integer, default=default, metavar="N", help=help_text)
        elif info.kind in ("list", "map", "object"):
            repeat = info.item_kind == "str"  # order_by: a repeated option, else JSON
            group.add_argument(
                flag,
                action="append" if repeat else "store",
                metavar="TEXT" if repeat else "JSON",
                help=help_text + ("; repeat for more" if repeat else ""),
            )
        else:
            metavar = "|".join(map(str, info.choices)) if info.choices else None
            group.add_argument(flag, default=default, metavar=metavar, help=help_text)
    return group


def request_fields(args: argparse.Namespace, endpoint: Endpoint) -> dict[str, Any]:
    """The request fields asked for, checked by the endpoint's own rules (nulls dropped).

    UsageError names the option and the rule.
    """
    unit = endpoint.stand_in
    fields: dict[str, Any] = {}
    for info in fields_of(endpoint.request):
        if info.name in unit:
            continue
        value = getattr(args, info.name)
        if info.kind in ("list", "map", "object") and isinstance(value, str):
            value = _json(value, option(info.name))
        fields[info.name] = value
    try:
        return endpoint.check_fields(fields)
    except ValidationError as exc:
        raise UsageError(f"{option(exc.field)}: {exc.rule}") from None


def _json(text: str, flag: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise UsageError(f"{flag}: not valid JSON ({exc})") from None
