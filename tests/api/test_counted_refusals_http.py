"""Issue 8 over HTTP, on SQLite and PostgreSQL: an officer pressing the same refused SOS again
and again leaves one `refused` event that counts his attempts (`repeated`, `last_at`), and the
SOS audit still counts each attempt (R9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.localtime import local_date
from tests.api.http_helpers import act, assert_problem, consult, dossier, receive, refused
from tests.fixtures.api import Api

STOP = {"action": "stop", "reason": "Chờ ý kiến phòng cháy chữa cháy"}


async def test_r9_identical_refused_attempts_are_counted_on_one_event_and_audited(
    api: Api,
) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "CAT")
    for _ in range(3):
        assert_problem(await act(api, code, "sos", STOP), 409, "sos_rejected_awaiting_replies")

    events = refused(await dossier(api, code), "sos")
    assert len(events) == 1
    assert events[0]["detail"]["repeated"] == 3 and events[0]["detail"]["last_at"]

    today = local_date(datetime.now(UTC)).isoformat()
    tomorrow = local_date(datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = await api.get(
        "/api/v1/reports/sos-audit", "vpubnd.inspector", **{"from": today, "to": tomorrow}
    )
    assert response.status_code == 200, response.text
    audit = response.json()
    mine = [r for r in audit["rejected"] if r["dossier"] == code]
    assert [(r["repeated"], r["code"]) for r in mine] == [(3, "sos_rejected_awaiting_replies")]
    sxd_stops = [
        row for row in audit["by_agency"] if (row["agency"], row["action"]) == ("SXD", "stop")
    ]
    assert [row["rejected"] for row in sxd_stops] == [3]  # each attempt, not each event
