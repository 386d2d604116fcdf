"""Bounded excerpts of what someone sent, safe to store anywhere: what a refused attempt keeps of
its request, or a failure of its message.

Whatever reaches a dossier (the API, a signal from the CLI, a future client) may be huge or hold
characters a database refuses (PostgreSQL stores no NUL in text or jsonb; no driver encodes a lone
surrogate). A refused attempt is kept for the audit, so what it keeps must itself never poison a
write nor grow the dossier's state without bound: control characters and lone surrogates are
written as visible escapes (`\\u0000`), strings are cut, lists shortened.
"""

from __future__ import annotations

import json
import re
from typing import Any

TEXT_KEPT = 1000  # characters of a body or message kept
FIELD_KEPT = 300  # characters of each string field of a request kept
ITEMS_KEPT = 10  # items of a list (or keys of a mapping) kept
DEPTH_KEPT = 4  # nesting kept; deeper values become their JSON excerpt
CUT = "…"

# C0 and C1 controls (tab and newline are harmless text), DEL, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(text: str, kept: int = TEXT_KEPT) -> str:
    """`text` with every unsafe character escaped, cut to `kept` characters (then `…`)."""
    escaped = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return escaped if len(escaped) <= kept else escaped[:kept] + CUT


def excerpt_of_bytes(data: bytes, kept: int = TEXT_KEPT) -> str:
    """What arrived as bytes (a payload, a body), as safe text."""
    return clean(data.decode("utf-8", errors="replace"), kept)


def bounded(value: Any, depth: int = DEPTH_KEPT, items: int = ITEMS_KEPT) -> Any:
    """A JSON value kept in its shape, each part bounded: strings cleaned and cut to
    `FIELD_KEPT`, lists and mappings to `ITEMS_KEPT` entries (with a count of what was left
    out), nesting to `DEPTH_KEPT`; `items` is raised for lists the dossier itself bounds (a
    refusal's facts, such as the agencies awaited). So a refused request's fields stay
    queryable (the SOS audit reads `request.action` and `request.reason`) and its size has a
    ceiling."""
    if isinstance(value, str):
        return clean(value, FIELD_KEPT)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth == 0:
        return clean(json.dumps(value, ensure_ascii=False, default=str), FIELD_KEPT)
    if isinstance(value, dict):
        pairs = list(value.items())
        kept = {clean(str(k), FIELD_KEPT): bounded(v, depth - 1, items) for k, v in pairs[:items]}
        if len(pairs) > items:
            kept[CUT] = len(pairs) - items
        return kept
    if isinstance(value, list | tuple):
        kept_items = [bounded(v, depth - 1, items) for v in value[:items]]
        if len(value) > items:
            kept_items.append(f"{CUT}+{len(value) - items}")
        return kept_items
    return clean(str(value), FIELD_KEPT)
