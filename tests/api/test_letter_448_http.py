"""Letter 448/UBND-HCC's scenario end to end through HTTP only: the lead agency consults two
agencies, its SOS stop is refused while either is awaited, on time or late (R4), the late one
answers with a cause (R7), then stop, resume, result and handover (R5); the timeline holds all of
it in order (R9, R12)."""

from __future__ import annotations

from tests.api.http_helpers import (
    act,
    assert_problem,
    consult,
    dossier,
    eventually,
    notices,
    receive,
    refused,
    reply,
    sleep_until,
    when,
)
from tests.fixtures.api import Api

STOP = {"action": "stop", "reason": "Chờ ý kiến phòng cháy chữa cháy"}
# The timers' own lines (reminders, due-date changes) may fall anywhere between the officers'.
SYSTEM_KINDS = {"reminder_1", "reminder_2", "due_changed"}


async def test_letter_448_scenario_end_to_end_over_http(api: Api) -> None:
    received = await receive(api)
    code = received["code"]
    asked = await consult(api, code, "SNNMT", "CAT", in_seconds=3)
    deadline = asked[0]["deadline"]

    # R4: no stop while both are awaited; the refusal names both with their deadline.
    first = assert_problem(await act(api, code, "sos", STOP), 409, "sos_rejected_awaiting_replies")
    assert [(a["agency"], a["overdue"]) for a in first["awaiting"]] == [
        ("SNNMT", False),
        ("CAT", False),
    ]
    assert all(when(a["deadline"]) == when(deadline) for a in first["awaiting"])

    await reply(api, code, "SNNMT", "snnmt.officer")
    second = assert_problem(await act(api, code, "sos", STOP), 409, "sos_rejected_awaiting_replies")
    assert [a["agency"] for a in second["awaiting"]] == ["CAT"]

    # Late or not, an awaited opinion blocks the stop.
    await sleep_until(deadline)
    third = assert_problem(await act(api, code, "sos", STOP), 409, "sos_rejected_awaiting_replies")
    assert [(a["agency"], a["overdue"]) for a in third["awaiting"]] == [("CAT", True)]
    await eventually(  # R3: the late agency is reminded before it answers
        lambda: notices(api, dossier=code, kind="reminder_1"),
        lambda sent: len(sent) == 1,
        within=10,
        what="reminder_1",
    )

    late = await reply(api, code, "CAT", "cat.officer", late_reason="Chờ kiểm tra hiện trường")
    replies = {c["agency"]: c for c in late["consultations"]}
    assert replies["SNNMT"]["status"] == "answered"
    assert (replies["CAT"]["status"], replies["CAT"]["late_reason"]) == (
        "answered_late",
        "Chờ kiểm tra hiện trường",
    )

    stopped = await act(api, code, "sos", STOP)
    assert (stopped.status_code, stopped.json()["status"]) == (200, "stopped")
    resumed = await act(api, code, "resume", {"reason": "Đã đủ ý kiến"})
    assert (resumed.status_code, resumed.json()["status"]) == (200, "processing")
    result = {"outcome": "approved", "document_no": "45/GPXD", "summary": "Cấp phép xây dựng"}
    ready = await act(api, code, "result", result)
    assert (ready.status_code, ready.json()["status"]) == (200, "result_ready")
    handed = await act(api, code, "handover", {"received_by": "Lê Văn Cường"})
    assert (handed.status_code, handed.json()["status"]) == (200, "completed")

    completed = await dossier(api, code, "vpubnd.inspector")
    assert completed == handed.json()
    assert completed["completed_at"] is not None
    events = completed["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [when(e["at"]) for e in events] == sorted(when(e["at"]) for e in events)
    actions = [
        (e["kind"], e["actor"], e["detail"].get("agency"))
        for e in events
        if e["kind"] not in SYSTEM_KINDS
    ]
    assert actions == [
        ("received", "sxd.officer", None),
        ("consultation_requested", "sxd.officer", "SNNMT"),
        ("consultation_requested", "sxd.officer", "CAT"),
        ("refused", "sxd.officer", None),
        ("consultation_answered", "snnmt.officer", "SNNMT"),
        ("refused", "sxd.officer", None),
        ("refused", "sxd.officer", None),
        ("consultation_answered", "cat.officer", "CAT"),
        ("sos_stop", "sxd.officer", None),
        ("resume", "sxd.officer", None),
        ("result", "sxd.officer", None),
        ("handover", "sxd.officer", None),
    ]
    assert [[a["agency"] for a in e["detail"]["awaiting"]] for e in refused(completed, "sos")] == [
        ["SNNMT", "CAT"],
        ["CAT"],
        ["CAT"],
    ]
    answered_late = [e for e in events if e["kind"] == "consultation_answered"][-1]
    assert answered_late["detail"]["late"] is True
    reminder = [e for e in events if e["kind"] == "reminder_1"]
    assert [(e["actor"], e["detail"]["agency"]) for e in reminder] == [("system", "CAT")]

    sent = [(n["kind"], n["to"]) for n in await notices(api, dossier=code)]
    assert sent[:2] == [("consultation_request", "SNNMT"), ("consultation_request", "CAT")]
    assert ("reminder_1", "CAT") in sent
    assert ("reminder_1", "SNNMT") not in sent
    assert sent[-2:] == [("stop_notice", "applicant"), ("result_ready", "applicant")]
