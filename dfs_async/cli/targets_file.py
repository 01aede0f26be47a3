"""Reading the targets of a run: a file (or stdin) plus `--target` options.

A targets file is read by the library's `parse_targets` (its format: dfs_async/targets.py):
UTF-8 text, one target a line, blank lines and `#` comments skipped. Each line goes through
the endpoint's unit of work (`normalize_target` for one target, the client's one rule):
duplicates after normalisation are dropped (the first one counts), and a target that breaks
the rule is kept aside as invalid, to be reported as a failed target, not as a usage error,
so that one typo in a file of ten thousand does not stop the other 9,999.

What *is* a usage error (UsageError, exit 2): a file that is missing, unreadable, a
directory, binary or not UTF-8, or that holds no target at all.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from dfs_async.cli.exits import UsageError
from dfs_async.endpoints import Unit, one_target
from dfs_async.errors import InvalidTarget
from dfs_async.targets import parse_targets


@dataclass
class Targets:
    """The targets of a run, in the order given."""

    valid: list[str] = field(default_factory=list)  # normalised, without duplicates
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (as written, the rule)
    duplicates: list[str] = field(default_factory=list)  # as written, dropped

    def __len__(self) -> int:
        return len(self.valid) + len(self.invalid)


def read_targets(source: str | None, extra: list[str], unit: Unit = one_target) -> Targets:
    """The targets of `source` (a path, `-` for stdin, or None) followed by `extra`; each
    line is one unit of work of the endpoint (`unit`: a target, or an intersection's
    targets separated by commas), keyed as the stream keys it."""
    lines = read_lines(source) if source is not None else []
    lines.extend(t.strip() for t in extra)
    if not lines:
        raise UsageError("no targets: give a TARGETS_FILE, '-' for stdin, or --target")
    targets = Targets()
    seen: set[str] = set()
    for raw in lines:
        try:
            key, _ = unit(raw)
        except InvalidTarget as exc:
            if raw in seen:
                targets.duplicates.append(raw)
                continue
            seen.add(raw)
            targets.invalid.append((raw, exc.rule))
            continue
        if key in seen:
            targets.duplicates.append(raw)
            continue
        seen.add(key)
        targets.valid.append(key)
    return targets


def read_lines(source: str) -> list[str]:
    """The targets of a targets file (`-`: stdin) as written (the library's reader,
    `parse_targets`); UsageError for a file that cannot be read or holds none."""
    name = "stdin" if source == "-" else source
    try:
        lines = parse_targets(_read_bytes(source))
    except ValueError as exc:
        raise UsageError(f"{name} {exc}") from None
    if not lines:
        raise UsageError(f"no targets in {name} (only blank lines and comments)")
    return lines


def _read_bytes(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    try:
        if path.is_dir():
            raise UsageError(f"targets file {source} is a directory")
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"targets file not found: {source}") from None
    except PermissionError:
        raise UsageError(f"targets file {source} cannot be read (permission denied)") from None
    except OSError as exc:
        raise UsageError(f"targets file {source} cannot be read: {exc.strerror}") from None
