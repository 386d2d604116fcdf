"""The pages' words: one gettext catalogue whose message ids are the Vietnamese text, so the
pages read in Vietnamese with no catalogue at all and an English version is a translation
(`web/locale/en/LC_MESSAGES/messages.po`), never a rewrite.

`make messages` extracts every `_()` of the templates and of `web/` into `web/locale/messages.pot`
and merges it into each language's `.po`; the `.po` is read as it is at start-up (no compiled
`.mo` to keep in step). Dates read `dd/mm/yyyy` and times are Vietnam's (UTC+7)."""

from __future__ import annotations

import gettext
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from domain.localtime import VN

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
SOURCE_LANGUAGE = "vi"


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; `_()` translates it where shown."""
    return message


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language`; Vietnamese is the message ids themselves."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as file:
        catalog = read_po(file, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def day(value: date | datetime | None) -> str:
    """`06/12/2026`: a date, or the day of an instant in Vietnam."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(VN).date()
    return f"{value:%d/%m/%Y}"


def moment(value: datetime | None) -> str:
    """`16:05 06/12/2026`: an instant in Vietnam's time."""
    if value is None:
        return ""
    local = value.astimezone(VN)
    return f"{local:%H:%M %d/%m/%Y}"
