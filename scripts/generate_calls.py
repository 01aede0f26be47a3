"""Write the typed calls of every endpoint, from the specs (`ENDPOINTS`, `UTILITIES`).

    python scripts/generate_calls.py          # rewrite them
    python scripts/generate_calls.py --check  # exit 1, naming the files, if they are stale

Two outputs: `dfs_async/endpoints/signatures.py` (per endpoint, its request fields as a
TypedDict and the typed signatures of its awaited call and its stream) and, between the
markers at the end of `dfs_async/client.py`, per endpoint a class that puts those signatures
on `EndpointCall`, and the `Backlinks` namespace of them. The signatures copy `EndpointCall`'s
own (its parameters, defaults and `**fields`) and refine three things: the unit of work (the
table `UNITS`), the fields (the request Struct's) and what comes back (the paging kind's
`answer_type`, and `RecordStream[item]`). tests/test_typed_calls.py fails when the outputs
are not what this makes of the current specs.
"""

from __future__ import annotations

import argparse
import collections.abc
import inspect
import keyword
import subprocess
import sys
import textwrap
import types
import typing
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args, get_origin, get_type_hints

import msgspec

import dfs_async.models
from dfs_async.endpoints import ENDPOINTS, UTILITIES, Endpoint
from dfs_async.endpoints.checks import bulk_target, no_unit, one_domain, one_target, target_set
from dfs_async.filters import Expr
from dfs_async.models.fields import FieldInfo, fields_of

try:
    from dfs_async.client import EndpointCall
except Exception as exc:  # the generated calls may name what the specs no longer have
    raise SystemExit(
        f"dfs_async.client does not import ({exc!r}): if the generated typed calls at its end"
        " are at fault, delete them (keep the two marker lines) and run this again"
    ) from None

ROOT = Path(__file__).resolve().parent.parent
SIGNATURES = ROOT / "dfs_async" / "endpoints" / "signatures.py"
CLIENT = ROOT / "dfs_async" / "client.py"
BEGIN = "# -- the typed calls, generated from the specs by scripts/generate_calls.py --"
END = "# -- end of the generated typed calls --"
LINE_LENGTH = 100  # pyproject's [tool.ruff]
REGION_COMMENT = """\
# Do not edit. Per endpoint, an `EndpointCall` with the typed signatures of
# `endpoints/signatures.py` (its fields, its answer, its records) for type checkers: they
# refine EndpointCall's, hence `type: ignore[misc]`. Nothing of it runs per call."""


class UnitTypes(NamedTuple):
    """How a unit of work is typed: what an awaited call takes, what a stream's targets hold."""

    call: Any
    stream: Any


Query = str | Sequence[str] | Mapping[str, str]
UNITS: dict[Callable[..., Any], UnitTypes | None] = {
    one_target: UnitTypes(call=str, stream=str),
    one_domain: UnitTypes(call=str, stream=str),  # a page URL is refused before sending
    bulk_target: UnitTypes(call=str | Sequence[str], stream=str),  # one request of many
    target_set: UnitTypes(call=Query, stream=Query),  # "a.com,b.com", a list or {"1": ...}
    no_unit: None,  # utilities: no target, no stream
}


# -- types as source text -----------------------------------------------------------------


class Imports:
    """The names the generated source uses, and where each comes from (one object a name)."""

    def __init__(self) -> None:
        self._by_name: dict[str, tuple[str, object]] = {}

    def name(self, obj: Any, module: str | None = None, name: str | None = None) -> str:
        name = name or obj.__name__
        module = module or obj.__module__
        seen = self._by_name.setdefault(name, (module, obj))
        if seen[1] is not obj:
            raise SystemExit(f"two objects named {name}: in {seen[0]} and {module}")
        return name

    def lines(self) -> list[str]:
        by_module: dict[str, list[str]] = {}
        for name, (module, _) in self._by_name.items():
            if module != "builtins":
                by_module.setdefault(module, []).append(name)
        return [f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(by_module.items())]


def render(tp: Any, imports: Imports) -> str:
    """`tp` as source text (Annotated metadata dropped), its names added to `imports`."""
    if tp is Any:
        return imports.name(Any, "typing")
    if tp is None or tp is type(None):
        return "None"
    origin, args = get_origin(tp), get_args(tp)
    if origin is typing.Annotated:
        return render(args[0], imports)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(render(arg, imports) for arg in args)
    if origin is Literal:
        return f"{imports.name(Literal, 'typing')}[{', '.join(map(repr, args))}]"
    if origin is collections.abc.Callable:
        params, returns = args
        shown = ", ".join(render(p, imports) for p in params)
        return f"{imports.name(Callable)}[[{shown}], {render(returns, imports)}]"
    if origin is not None:
        return f"{render(origin, imports)}[{', '.join(render(arg, imports) for arg in args)}]"
    if isinstance(tp, type):
        return imports.name(tp)
    raise SystemExit(f"cannot write the type {tp!r}")


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def docstring(text: str, indent: str) -> str:
    """`text` as a docstring at `indent`, wrapped to the project's line length."""
    text = " ".join(text.split())
    if '"""' in text or text.endswith('"') or "\\" in text:
        raise SystemExit(f"cannot quote {text!r} as a docstring")
    lines = textwrap.wrap(f'"""{text}"""', LINE_LENGTH - len(indent), break_on_hyphens=False)
    return "\n".join(indent + line for line in lines)


def first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n", 1)[0]


# -- the request fields as keyword arguments ----------------------------------------------


def describe(info: FieldInfo) -> str:
    """A field's help, bounds and API default, as one sentence."""
    rules = []
    if info.ge is not None and info.le is not None:
        rules.append(f"{info.ge} to {info.le}")
    elif info.ge is not None:
        rules.append(f"at least {info.ge}")
    unit = "characters" if info.kind in ("str", "time") else "entries"
    if info.min_length is not None and info.max_length is not None:
        rules.append(f"{info.min_length} to {info.max_length} {unit}")
    elif info.max_length is not None:
        rules.append(f"at most {info.max_length} {unit}")
    if isinstance(info.extra, dict) and "default" in info.extra:
        rules.append(f"the API's default: {info.extra['default']!r}")
    sentences = [info.description or info.name, "; ".join(rules)]
    return " ".join(
        f"{s[0].upper()}{s[1:]}{'' if s.endswith('.') else '.'}" for s in sentences if s
    )


class TypedDicts:
    """The TypedDicts of request Structs (and of the Structs their fields nest), in order."""

    def __init__(self, imports: Imports) -> None:
        self.imports = imports
        self.blocks: list[str] = []
        self._made: dict[type[msgspec.Struct], str] = {}

    def of(self, struct: type[msgspec.Struct], name: str, leave_out: Iterable[str] = ()) -> str:
        """The TypedDict `name` of `struct`'s fields but `leave_out`; "" when none is left."""
        if struct in self._made:
            return self._made[struct]
        hints = get_type_hints(struct)
        left_out = set(leave_out)
        infos = [info for info in fields_of(struct) if info.name not in left_out]
        lines = []
        for info in infos:
            if not info.name.isidentifier() or keyword.iskeyword(info.name):
                raise SystemExit(f"{struct.__name__}.{info.name}: not a keyword argument")
            shown = self.field_type(hints[info.name])
            if info.required:
                shown = f"{self.imports.name(typing.Required, 'typing')}[{shown}]"
            lines += [f"    {info.name}: {shown}", docstring(describe(info), "    ")]
        self._made[struct] = name if lines else ""
        if lines:
            doc = f"The fields of `{struct.__name__}`, as keyword arguments."
            typed_dict = self.imports.name(typing.TypedDict, "typing")
            head = [f"class {name}({typed_dict}, total=False):", docstring(doc, "    "), ""]
            self.blocks.append("\n".join(head + lines))
        return self._made[struct]

    def field_type(self, tp: Any) -> str:
        """A request field's type, widened to what the call accepts: a filter `Expr` for a
        filter expression (`list[Any]`), a dict of its fields for a nested Struct."""
        members = get_args(tp) if get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
        shown = []
        for member in members:
            if get_origin(member) is list and get_args(member) == (Any,):
                shown.append(self.imports.name(Expr))  # a call turns it into its list
            elif isinstance(member, type) and issubclass(member, msgspec.Struct):
                shown.append(self.of(member, f"{member.__name__}Fields"))
            shown.append(render(member, self.imports))
        return " | ".join(shown)


# -- the signatures -------------------------------------------------------------------------


def parameters(
    method: Callable[..., Any],
    imports: Imports,
    *,
    first: str | None,
    fields: str,
) -> str:
    """`method`'s parameters as source, its first (the unit of work) typed `first` (left out
    when None) and its `**fields` unpacking the TypedDict `fields` (left out when "")."""
    hints = get_type_hints(method)
    shown = ["self"]
    keyword_only = False
    params = list(inspect.signature(method).parameters.values())[1:]
    for index, param in enumerate(params):
        kind = param.kind
        if index == 0:
            if first is not None:
                shown.append(f"{param.name}: {first}")
            continue
        if kind is param.VAR_KEYWORD:
            if fields:
                unpacked = f"{imports.name(typing.Unpack, 'typing')}[{fields}]"
                shown.append(f"**{param.name}: {unpacked}")
            continue
        if kind is param.VAR_POSITIONAL or kind is param.POSITIONAL_ONLY:
            raise SystemExit(f"{method.__qualname__}: no rule yet for {param}")
        if kind is param.KEYWORD_ONLY and not keyword_only:
            keyword_only = True
            shown.append("*")
        text = f"{param.name}: {render(hints[param.name], imports)}"
        if param.default is not param.empty:
            if not isinstance(param.default, int | float | str | None):
                raise SystemExit(f"{method.__qualname__}: cannot write the default of {param}")
            text += f" = {param.default!r}"
        shown.append(text)
    return ", ".join(shown)


def typed_class(endpoint: Endpoint, typed_dicts: TypedDicts, imports: Imports) -> str:
    """`Typed<Name>`: the signatures of the endpoint's awaited call and of its stream."""
    units = UNITS.get(endpoint.unit, ...)
    if units is ...:
        raise SystemExit(f"{endpoint.name}: add its unit {endpoint.unit.__name__} to UNITS")
    leave_out = endpoint.stand_in  # the unit's task fields: the first argument, not a field
    fields = typed_dicts.of(endpoint.request, f"{camel(endpoint.name)}Fields", leave_out)
    answer = render(endpoint.answer_type, imports)
    call = parameters(
        EndpointCall.__call__,
        imports,
        first=None if units is None else render(units.call, imports),
        fields=fields,
    )
    asynchronous = "async " if inspect.iscoroutinefunction(EndpointCall.__call__) else ""
    body = [f"        {asynchronous}def __call__({call}) -> {answer}: ...", ""]
    if units is None:
        never, no_return = imports.name(typing.Never, "typing"), imports.name(typing.NoReturn)
        body += [
            f"        def stream(self, targets: {never}, /) -> {no_return}:",
            docstring("Not for this endpoint: it takes no target. Await the call.", " " * 12),
        ]
    else:
        element = render(units.stream, imports)
        iterable, aiterable = imports.name(Iterable), imports.name(AsyncIterable)
        targets = f"{iterable}[{element}] | {aiterable}[{element}]"
        stream = parameters(EndpointCall.stream, imports, first=targets, fields=fields)
        body.append(f"        def stream({stream}) -> S: ...")
    doc = f"`dfs.backlinks.{endpoint.name}` to type checkers"
    if units is None:
        head = [f"class Typed{camel(endpoint.name)}:", docstring(f"{doc}.", "    ")]
    else:
        generic = imports.name(typing.Generic, "typing")
        head = [
            f"class Typed{camel(endpoint.name)}({generic}[S]):",
            docstring(f"{doc}; `S` is its stream's type.", "    "),
        ]
    checking = imports.name(typing.TYPE_CHECKING, "typing", "TYPE_CHECKING")
    return "\n".join([*head, "", f"    if {checking}:", "", *body])


def signatures_module() -> str:
    imports = Imports()
    typed_dicts = TypedDicts(imports)
    classes = [typed_class(e, typed_dicts, imports) for e in (*ENDPOINTS, *UTILITIES)]
    type_var = imports.name(typing.TypeVar, "typing")
    head = '''"""The typed signatures of every endpoint's calls, generated from the specs by
`scripts/generate_calls.py`: do not edit (tests/test_typed_calls.py fails when it is stale).

Per endpoint: `<Name>Fields`, its request fields as keyword arguments (a TypedDict: each
field's type from the request Struct; its help, bounds and the API's default in its
docstring), and `Typed<Name>`, the signatures of its awaited call and of its stream, which
`client.py` puts on `EndpointCall` (`<Name>Call`). They exist for type checkers only (the
calls are `EndpointCall`'s). This module sits below the client, so a stream's type comes in
as the parameter `S` (`RecordStream[item]`).
"""
'''
    parts = [
        head,
        "from __future__ import annotations",
        "\n".join(imports.lines()),
        f'S = {type_var}("S")  # the stream of a `Typed<Name>`: `RecordStream[item]`',
        *typed_dicts.blocks,
        *classes,
    ]
    return "\n\n\n".join(parts) + "\n"


def client_region() -> str:
    """The typed classes of client.py, and the `Backlinks` namespace of them."""
    classes, attributes = [], []
    for endpoint in (*ENDPOINTS, *UTILITIES):
        item = endpoint.item
        if getattr(dfs_async.models, item.__name__, None) is not item:
            raise SystemExit(f"{endpoint.name}: export its item {item.__name__} from models")
        name = camel(endpoint.name)
        typed = f"signatures.Typed{name}"
        if UNITS[endpoint.unit] is not None:  # streamed: its signatures' `S`
            typed += f"[RecordStream[models.{item.__name__}]]"
        doc = first_line(endpoint.request.__doc__ if endpoint.fields else item.__doc__)
        classes.append(
            f"class {name}Call(  # type: ignore[misc]\n    {typed}, EndpointCall\n):\n"
            + docstring(doc, "    ")
        )
        attributes.append(
            f'        self.{endpoint.name} = {name}Call(client, BY_NAME["{endpoint.name}"])'
        )
    backlinks = "\n".join(
        [
            "class Backlinks:",
            docstring("The `backlinks` endpoints of the API: a typed `EndpointCall` each.", "    "),
            "",
            "    def __init__(self, client: DataForSEO) -> None:",
            *attributes,
        ]
    )
    return "\n\n\n".join([BEGIN + "\n" + REGION_COMMENT, *classes, backlinks, END])


# -- writing --------------------------------------------------------------------------------


def formatted(source: str, path: Path) -> str:
    """`source` as ruff leaves it (imports sorted, formatted): the project's style."""
    for command in (["check", "--select", "I", "--fix", "--quiet"], ["format"]):
        source = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(path), "-"],
            input=source,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
    return source


def with_region(client: str, region: str) -> str:
    before, begin, rest = client.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not begin or not end:
        raise SystemExit(f"{CLIENT}: the markers of the generated typed calls are missing")
    return before + region + after


def outputs() -> dict[Path, str]:
    """Each generated file's text as the current specs make it."""
    return {
        SIGNATURES: formatted(signatures_module(), SIGNATURES),
        CLIENT: formatted(with_region(CLIENT.read_text(), client_region()), CLIENT),
    }


def stale() -> list[Path]:
    """The generated files that differ from what the current specs make."""
    return [path for path, text in outputs().items() if not _holds(path, text)]


def _holds(path: Path, text: str) -> bool:
    return path.exists() and path.read_text() == text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only tell whether they are stale")
    check = parser.parse_args().check
    if check:
        paths = stale()
        for path in paths:
            print(f"{path.relative_to(ROOT)} is stale: run python scripts/generate_calls.py")
        return 1 if paths else 0
    for path, text in outputs().items():
        if not _holds(path, text):
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
