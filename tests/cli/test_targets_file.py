"""Reading targets files: what is tolerated, what is a failed target, what is a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfs_async.cli import UsageError
from dfs_async.cli.targets_file import read_targets


def test_comments_blanks_crlf_bom_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    text = (
        "\ufeff# header comment\r\n"
        "Forbes.com\r\n"
        "\r\n"
        "   \r\n"
        "https://www.forbes.com/   # a page (the home page), not the domain\r\n"
        "HTTPS://WWW.Forbes.com   # the same page\r\n"
        "blog.example.com\r\n"
        "https://www.python.org/about/#team\r\n"
        "www.FORBES.com.\r\n"
    )
    path.write_bytes(text.encode("utf-8"))
    targets = read_targets(str(path), ["extra.org", "forbes.com"])
    assert targets.valid == [
        "forbes.com",
        "https://www.forbes.com/",
        "blog.example.com",
        "https://www.python.org/about/#team",  # a fragment is not a comment
        "extra.org",
    ]
    assert targets.duplicates == ["HTTPS://WWW.Forbes.com", "www.FORBES.com.", "forbes.com"]
    assert targets.invalid == []


def test_invalid_targets_are_kept_aside_not_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("good.com\nnot a domain\nftp://x.com\nforbes.com/blog\nnot a domain\n")
    targets = read_targets(str(path), [])
    assert targets.valid == ["good.com"]
    assert [raw for raw, _ in targets.invalid] == ["not a domain", "ftp://x.com", "forbes.com/blog"]
    assert all(rule for _, rule in targets.invalid)
    assert targets.duplicates == ["not a domain"]
    assert len(targets) == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"# only comments\n\n   \n", "no targets in"),
        (b"", "no targets in"),
        (b"forbes.com\n\x00\x01\x02", "not a text file"),
        (b"caf\xe9.com\n", "not UTF-8"),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        read_targets(str(path), [])


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        read_targets(str(tmp_path / "nope.txt"), [])
    with pytest.raises(UsageError, match="is a directory"):
        read_targets(str(tmp_path), [])


def test_no_source_at_all() -> None:
    with pytest.raises(UsageError, match="no targets"):
        read_targets(None, [])
    assert read_targets(None, ["  Example.COM "]).valid == ["example.com"]
