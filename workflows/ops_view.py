"""What ops staff read in the Temporal Web UI without opening a payload: the one-line summary of
the workflow list and the Markdown of the detail page. Rebuilt from the state at every change, so
a replay after eviction shows the same."""

from __future__ import annotations

import re
from datetime import datetime

from domain.dossier import Consultation, Dossier
from domain.localtime import when_zoned
from domain.projection import ReadModelFailure

REASON_CHARS = 300  # of an SOS reason (up to 2,000 characters): the rest is on the dossier page
NAME_CHARS = 100
# Markdown's and HTML's active characters; `:` and `.` too, or the UI would link a bare URL.
_MARKDOWN = re.compile(r"[\\`*_{}\[\]()<>#+\-.!|~&:]")


def static_summary(code: str, procedure_name: str) -> str:
    """One line, at most 200 bytes (the Web UI's limit)."""
    line = f"{code} · {procedure_name}"
    encoded = line.encode()
    return line if len(encoded) <= 200 else encoded[:197].decode(errors="ignore") + "…"


def current_details(d: Dossier, now: datetime, failure: ReadModelFailure | None = None) -> str:
    """The detail page's "Current Details": flat lists and paragraphs only, as the Web UI's
    Markdown renderer shows tables without cell spacing and flattens nested lists; every time
    says its zone, as the page's own times are UTC."""
    due = when_zoned(d.due_at) if d.due_at else "—"
    if d.reading is not None and not d.reading.running and d.due_at:
        due += ", clock stopped"
    facts = [f"- **Due:** {due}{' · **LATE**' if d.late else ''}"]
    awaiting = d.awaiting()
    upcoming = [
        (r.at, f"reminder {r.level} to {c.agency}")
        for c in awaiting
        if (r := c.next_reminder()) is not None
    ]
    alarm = d.next_clock_alarm()
    if alarm is not None:
        upcoming.append((alarm.at, alarm.kind.replace("_", " ")))
    if upcoming:
        at, what = min(upcoming)
        facts.append(f"- **Next:** {what} at {when_zoned(at)}")
    if d.withdrawal and d.withdrawal.confirmed_at is None:
        facts.append("- **Withdrawal** pending the head's confirmation (R6)")
    refused = [e for e in d.events if e.kind == "refused"]
    if refused:
        facts.append(f"- **Refused attempts:** {sum(e.detail.get('repeated', 1) for e in refused)}")
    parts = [
        f"**{d.status.value}** · lead agency **{d.lead_agency}** · procedure `{d.procedure.code}`",
        "\n".join(facts),
    ]
    if awaiting:
        listed = "\n".join(_awaited(c, now) for c in awaiting)
        parts += [f"**Awaiting opinions** ({len(awaiting)})", listed]
    sos = next((e for e in reversed(d.events) if e.kind.startswith("sos_")), None)
    if sos is not None:
        who = _plain(d.people.get(sos.actor, ""))
        by = f"{who} (`{_code(sos.actor)}`)" if who else f"`{_code(sos.actor)}`"
        reason = _plain(str(sos.detail.get("reason", "")), REASON_CHARS)
        parts.append(
            f"**Last SOS: {sos.kind.removeprefix('sos_')}** by {by} at {when_zoned(sos.at)}"
            f" · reason: {reason or '—'}"
        )
    if failure is not None:
        parts.append(
            f"**READ MODEL BEHIND** since {when_zoned(failure.at)} (has events through "
            f"{failure.since}): the database refused the write: `{_code(failure.error[:200])}`. "
            "Retried every 10 minutes, or now with the `retry_read_model` signal."
        )
    return "\n\n".join(parts)


def _awaited(c: Consultation, now: datetime) -> str:
    n = len(c.reminders)
    reminders = f"{n} reminder{'s' if n > 1 else ''} sent" if n else "no reminder yet"
    overdue = "**overdue**" if c.is_overdue(now) else "on time"
    return f"- **{c.agency}** · deadline {when_zoned(c.deadline)} · {overdue} · {reminders}"


def _plain(text: str, limit: int = NAME_CHARS) -> str:
    """What a person typed, as one line of plain text in Markdown: whitespace folded, cut at
    `limit` characters, and every character that Markdown or HTML would act on escaped, so a
    reason cannot add a link, a heading or a list to what ops staff read (the Web UI's renderer
    takes CommonMark's backslash escapes)."""
    folded = " ".join(text.split())
    if len(folded) > limit:
        folded = folded[: limit - 1] + "…"
    return _MARKDOWN.sub(r"\\\g<0>", folded)


def _code(text: str) -> str:
    """Text inside a code span: no backtick, which would end it."""
    return text.replace("`", "'")
