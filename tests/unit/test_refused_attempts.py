"""Issue 8: what a refused attempt keeps is bounded and safe to store, identical attempts are
counted rather than stored again, and no stream of attempts grows a dossier without bound
(`domain.excerpts`, `Dossier.record_refused`). Pure: table by table, in microseconds."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from domain import rules
from domain.commands import Action, InvalidRequest, SosAction
from domain.dossier import (
    REFUSALS_KEPT,
    REFUSALS_KEPT_PER_ACTOR,
    REFUSED_EVENTS_MAX,
    Dossier,
)
from domain.excerpts import FIELD_KEPT, TEXT_KEPT, bounded, clean
from tests.unit.builders import ENV, FIRE, LATER, LEAD, consulting, officer, sos_command

UNSAFE = "\x00\x01\x1b\x7f\x85\ud800"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Hồ sơ\tđủ\n", "Hồ sơ\tđủ\n"),  # Vietnamese, tab and newline are text
        ("x\x00y", "x\\u0000y"),
        (UNSAFE, "\\u0000\\u0001\\u001b\\u007f\\u0085\\ud800"),
        ("a" * 2000, "a" * TEXT_KEPT + "…"),
    ],
)
def test_clean_escapes_what_a_database_refuses_and_cuts(text: str, kept: str) -> None:
    assert clean(text) == kept
    kept.encode("utf-8")  # no lone surrogate left: every driver encodes it


def test_bounded_keeps_the_shape_and_cuts_every_part() -> None:
    huge = {"reason": "r" * 10_000, "missing_documents": ["d"] * 50, "nested": {"a": [[[[1]]]]}}
    kept = bounded(huge)
    assert len(kept["reason"]) == FIELD_KEPT + 1
    assert kept["missing_documents"] == ["d"] * 10 + ["…+40"]
    assert len(json.dumps(bounded({"x" * 10_000: UNSAFE * 10_000}))) < 4 * FIELD_KEPT


def refuse(d: Dossier, reason: str, by: str = "can-bo.sxd", agency: str = LEAD, at=LATER):  # type: ignore[no-untyped-def]
    cmd = sos_command(SosAction.STOP, reason=reason, by=officer(agency, user=by))
    refusal = rules.admission(d, cmd) or rules.decide_sos(d, cmd, at)
    assert refusal is not None
    return d.record_refusal(cmd, Action.SOS.value, refusal, at, "update")


def refused(d: Dossier) -> list:  # type: ignore[type-arg]
    return [e for e in d.events if e.kind == "refused"]


def test_item1_a_nul_in_a_refused_request_is_kept_escaped() -> None:
    event = refuse(consulting(), "x\x00y")
    assert event.detail["request"]["reason"] == "x\\u0000y"
    assert "\x00" not in json.dumps(event.model_dump(mode="json"), ensure_ascii=False)


def test_identical_attempts_are_counted_on_one_event() -> None:
    d = consulting()
    first = refuse(d, "Chờ")
    again = refuse(d, "Chờ", at=LATER + timedelta(minutes=5))
    assert again is first and len(refused(d)) == 1
    assert first.detail["repeated"] == 2
    assert first.detail["last_at"] == (LATER + timedelta(minutes=5)).isoformat()
    assert refuse(d, "Chờ", by="can-bo-2") is not first  # another officer: his own event
    assert refuse(d, "Khác") is not first  # another request


def test_item2_distinct_attempts_past_the_caps_keep_the_state_bounded() -> None:
    d = consulting()
    for n in range(REFUSALS_KEPT_PER_ACTOR + 5):  # one officer
        refuse(d, f"{n} " + "x" * 100_000)
    assert len(refused(d)) == REFUSALS_KEPT_PER_ACTOR
    assert refused(d)[-1].detail["not_kept"] == 5
    for n in range(5_000):  # many officers of many agencies, each request distinct
        refuse(d, f"{n} " + "y" * 100_000, by=f"u{n}", agency=f"A{n % 400}")
    kept = refused(d)
    assert REFUSALS_KEPT <= len(kept) <= REFUSED_EVENTS_MAX
    assert sum(e.detail.get("repeated", 1) for e in kept) == REFUSALS_KEPT_PER_ACTOR + 5 + 5_000
    assert any(e.detail.get("request_kept") is False for e in kept)
    assert len(d.model_dump_json()) < 1_000_000  # far below Temporal's 2 MB payload limit


def test_unbounded_recording_is_what_runs_from_before_keep_doing() -> None:
    d = consulting()
    cmd = sos_command(SosAction.STOP, reason="x" * 5000)
    refusal = rules.decide_sos(d, cmd, LATER)
    assert refusal is not None
    for _ in range(2):
        d.record_refusal(cmd, Action.SOS.value, refusal, LATER, "update", bounded=False)
    assert [len(e.detail["request"]["reason"]) for e in refused(d)] == [5000, 5000]


def test_an_unreadable_request_keeps_an_excerpt_of_its_body_and_errors() -> None:
    d = consulting(FIRE, ENV)
    request = InvalidRequest(
        actor=officer(),
        action=Action.SOS,
        code="validation_error",
        errors=[f"e{n}" for n in range(50)],
        body="{\x00" + "b" * 5000,
    )
    event = d.record_invalid_request(request, LATER)
    assert event.detail["request"]["body"].startswith("{\\u0000")
    assert len(event.detail["request"]["body"]) == TEXT_KEPT + 1
    assert len(event.detail["errors"]) == 10
