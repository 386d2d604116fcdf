"""The mail catcher of `make run` and the benchmarks (dev/mailcatcher.py) numbers each message it
keeps: after the numbers already in its folder, never over a file another catcher wrote, and
without listing the folder again for every message (that made N messages cost N²)."""

from __future__ import annotations

import io
from pathlib import Path

from dev.mailcatcher import MailFolder


def test_messages_are_numbered_after_those_already_kept(tmp_path: Path) -> None:
    (tmp_path / "000007.eml").write_bytes(b"kept before a restart")
    (tmp_path / "notes.txt").write_bytes(b"not a message")
    folder = MailFolder(tmp_path, io.StringIO())

    first, second = folder.keep(b"one"), folder.keep(b"two")

    assert (first.name, second.name) == ("000008.eml", "000009.eml")
    assert (first.read_bytes(), second.read_bytes()) == (b"one", b"two")


def test_a_number_another_catcher_took_is_skipped(tmp_path: Path) -> None:
    folder = MailFolder(tmp_path, io.StringIO())
    assert folder.keep(b"one").name == "000001.eml"
    (tmp_path / "000002.eml").write_bytes(b"another catcher's")

    assert folder.keep(b"two").name == "000003.eml"
    assert (tmp_path / "000002.eml").read_bytes() == b"another catcher's"


def test_the_folder_is_listed_once_not_per_message(tmp_path: Path) -> None:
    folder = MailFolder(tmp_path, io.StringIO())
    assert folder.keep(b"one").name == "000001.eml"
    # Written behind the catcher's back: a catcher listing its folder for every message would
    # go on from 6; this one goes on from its own count.
    (tmp_path / "000005.eml").write_bytes(b"another catcher's")

    names = [folder.keep(b"m").name for _ in range(5)]

    assert names == ["000002.eml", "000003.eml", "000004.eml", "000006.eml", "000007.eml"]
