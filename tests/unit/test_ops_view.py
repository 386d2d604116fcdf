"""workflows.ops_view.current_details: what ops staff read in the Web UI's "Current Details" (issue
11). Flat Markdown lists and paragraphs (the UI shows tables without cell spacing and flattens
nested lists), Vietnam times that say their zone (the page's own times are UTC), and who pressed
the last SOS and why, with what they typed unable to add Markdown of its own."""

from __future__ import annotations

from domain.commands import SosAction
from tests.unit.builders import (
    DEADLINE,
    ENV,
    FIRE,
    LATER,
    LEAD,
    OVERDUE,
    apply,
    consult,
    dossier,
    officer,
    remind,
    resume_command,
    sos_command,
)
from workflows.ops_view import REASON_CHARS, current_details


def test_awaited_agencies_are_a_list_with_zoned_deadlines_not_a_table() -> None:
    d = dossier()
    consult(d, [FIRE, ENV])
    remind(d, 1)

    details = current_details(d, OVERDUE)

    assert "|" not in details  # no Markdown table
    assert "\n  " not in details  # no nested list
    assert details.startswith(f"**consulting** · lead agency **{LEAD}** · procedure `1.009972`")
    assert "- **Due:** 17:00 24/03/2025 (UTC+7)" in details
    assert "**Awaiting opinions** (2)" in details
    assert (
        f"- **{FIRE}** · deadline 17:00 06/03/2025 (UTC+7) · **overdue** · 1 reminder sent"
        in details
    )
    assert f"- **{ENV}** · deadline 17:00 06/03/2025 (UTC+7) · **overdue** · no reminder yet" in (
        details
    )
    assert f"- **Next:** reminder 1 to {ENV} at 17:00 06/03/2025 (UTC+7)" in details
    assert "ngày" not in details  # one way of writing times: the zoned one


def test_a_stopped_dossier_says_who_stopped_it_when_and_why() -> None:
    stopper = officer(user="sxd.officer")
    stopper.name = "Nguyễn Văn An"
    d = dossier()
    d.note_person(stopper)  # as the workflow does before applying an action
    apply(d, sos_command(SosAction.STOP, reason="Chờ  kết quả\nxác minh đất", by=stopper), LATER)

    details = current_details(d, LATER)

    assert details.startswith("**stopped**")
    assert "- **Due:** 17:00 24/03/2025 (UTC+7), clock stopped" in details
    assert (
        "**Last SOS: stop** by Nguyễn Văn An (`sxd.officer`) at 09:00 04/03/2025 (UTC+7)"
        " · reason: Chờ kết quả xác minh đất"
    ) in details


def test_the_last_sos_stays_after_a_resume_and_its_reason_cannot_add_markdown() -> None:
    typed = "Xem [đây](http://x.invalid) # **gấp** <b>x</b> `y` " + "a" * 2000
    d = dossier()
    apply(d, sos_command(SosAction.STOP, reason=typed, by=officer(user="sxd.other")), LATER)
    apply(d, resume_command(), DEADLINE)

    details = current_details(d, DEADLINE)

    assert details.startswith("**processing**")
    sos = next(part for part in details.split("\n\n") if part.startswith("**Last SOS: stop**"))
    assert "by `sxd.other` at" in sos  # a name the workflow did not note: the user id alone
    reason = sos.split(" · reason: ", 1)[1]
    assert r"Xem \[đây\]\(http\://x\.invalid\) \# \*\*gấp\*\* \<b\>x\</b\> \`y\`" in reason
    assert reason.endswith("a…") and len(reason.replace("\\", "")) == REASON_CHARS
