"""What ops staff read in the Temporal Web UI without opening a payload: the one-line summary of
the workflow list and the Markdown of the detail page. Rebuilt from the state at every change, so
a replay after eviction shows the same."""

from __future__ import annotations

from datetime import datetime

from domain.dossier import Dossier
from domain.localtime import when
from domain.projection import ReadModelFailure


def static_summary(code: str, procedure_name: str) -> str:
    """One line, at most 200 bytes (the Web UI's limit)."""
    line = f"{code} · {procedure_name}"
    encoded = line.encode()
    return line if len(encoded) <= 200 else encoded[:197].decode(errors="ignore") + "…"


def current_details(d: Dossier, now: datetime, failure: ReadModelFailure | None = None) -> str:
    due = when(d.due_at) if d.due_at else "—"
    if d.reading is not None and not d.reading.running and d.due_at:
        due += " (clock stopped)"
    lines = [
        f"**{d.status.value}** · lead agency **{d.lead_agency}** · procedure `{d.procedure.code}`",
        "",
        f"- Due: {due}{' · **LATE**' if d.late else ''}",
    ]
    awaiting = d.awaiting()
    if awaiting:
        lines += ["", "| awaiting | deadline | overdue | reminders |", "|---|---|---|---|"]
        lines += [
            f"| {c.agency} | {when(c.deadline)} | {'yes' if c.is_overdue(now) else 'no'} "
            f"| {len(c.reminders)} |"
            for c in awaiting
        ]
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
        lines += ["", f"- Next: {what} at {when(at)}"]
    if d.withdrawal and d.withdrawal.confirmed_at is None:
        lines += ["", "- Withdrawal pending the head's confirmation (R6)"]
    refused = [e for e in d.events if e.kind == "refused"]
    if refused:
        attempts = sum(e.detail.get("repeated", 1) for e in refused)
        lines += [f"- Refused attempts: {attempts}"]
    if failure is not None:
        lines += [
            "",
            f"- **READ MODEL BEHIND** since {when(failure.at)} (has events through "
            f"{failure.since}): the database refused the write: `{failure.error[:200]}`. "
            "Retried every 10 minutes, or now with the `retry_read_model` signal.",
        ]
    return "\n".join(lines)
