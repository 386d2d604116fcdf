"""The pages' message catalogue (issue 9: every string in one catalogue, an English version a
translation): what the code and templates say is what web/locale/messages.pot holds, and each
translation has every message (`make messages` keeps both in step)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from settings import REPO_ROOT
from web.i18n import LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE


def _ids(path: Path) -> set[str]:
    with path.open("rb") as file:
        return {str(message.id) for message in read_po(file) if message.id}


def test_the_template_holds_every_message_of_the_pages(tmp_path: Path) -> None:
    extracted = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable, "-m", "babel.messages.frontend", "extract",
            "-F", "web/babel.cfg", "-k", "N_", "--no-location", "--sort-output",
            "-o", str(extracted), ".",
        ],
        cwd=REPO_ROOT, check=True, capture_output=True,
    )  # fmt: skip
    said, kept = _ids(extracted), _ids(LOCALE_DIR / "messages.pot")
    assert said - kept == set(), "run `make messages`: messages missing from the catalogue"
    assert kept - said == set(), "run `make messages`: the catalogue holds messages no one says"
    assert len(said) > 100


def test_each_translation_has_every_message() -> None:
    template = _ids(LOCALE_DIR / "messages.pot")
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        translated = _ids(LOCALE_DIR / language / "LC_MESSAGES" / "messages.po")
        assert template - translated == set(), f"run `make messages` ({language})"


_PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([^()]*\)s")


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def test_translations_keep_every_placeholder() -> None:
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
            catalog = read_po(file)
        for message in catalog:
            if not message.id:
                continue
            ids = [message.id] if isinstance(message.id, str) else list(message.id)
            string = message.string or ()
            strings = [string] if isinstance(string, str) else list(string)
            expected = set().union(*(_placeholders(str(i)) for i in ids))
            for text in strings:
                if text:
                    assert _placeholders(text) == expected, (language, message.id, text)
