"""What the SQL read model receives after every change of a dossier: its current fields and
consultations, and the events the read model has not seen yet. `version` is the sequence number
of the dossier's latest event, so a late or retried write of an older state changes nothing."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel

from domain.dossier import Dossier, DossierDocument
from domain.notices import Notice


class DossierProjection(BaseModel):
    version: int
    # all current fields and every consultation; `events` holds those with seq > `since`, and
    # those at or before it that changed since written (a refused attempt counted again)
    document: DossierDocument
    since: int
    abnormal_close: str | None = None


# The failure `type` of a settlement the database refused (the data, not the connection): no
# retry cures it, so the workflow records it and goes on (workflows/dossier.py).
READ_MODEL_REJECTED = "read_model_rejected"


class ReadModelFailure(BaseModel):
    """A dossier's read-model writes failing since `at`: the read model has its events through
    `since`; `error` is an excerpt of the database's answer."""

    at: datetime
    since: int
    error: str


class Settlement(BaseModel):
    """What one change of a dossier leaves to write, in one transaction: the read model's update
    (None when it has everything already) and the notices the change sends.

    Fenced (v8, written inside the workflow task that made the change): `fence` is that task's
    `workflow.now()` and `confirmed` the version the workflow holds as written. A write from an
    older task than the row's last is refused (`overtaken`: a task the server never had, done
    again since); a row beyond `confirmed` was written by such a lost task (`conflict`): the
    workflow then sends its whole document with `reset`, which replaces everything of the
    dossier the lost task wrote. Unfenced (`fence` None): an activity after the task's commit,
    or the rebuild from history, which write only what the history holds."""

    # the dossier's state as recorded, not new input: read without today's limits
    LIMITS_AS_RECORDED: ClassVar[bool] = True

    projection: DossierProjection | None = None
    notices: list[Notice] = []
    fence: datetime | None = None
    confirmed: int = 0
    reset: bool = False


class SettlementOutcome(StrEnum):
    """What a fenced settlement found (unfenced ones are always `written`)."""

    WRITTEN = "written"
    # the row was last written by a newer task: this one was lost, nothing written
    OVERTAKEN = "overtaken"
    # the row holds what a lost task wrote beyond `confirmed`: nothing written, reset asked
    CONFLICT = "conflict"
    # written inside a workflow task, not within its bound: the write goes on, and the workflow
    # writes the same settlement again by an activity after the task
    LATE = "late"


def projection(
    dossier: Dossier, now: datetime, since: int, revised: Collection[int] = ()
) -> DossierProjection:
    document = dossier.document(now)
    document.events = [e for e in document.events if e.seq > since or e.seq in revised]
    return DossierProjection(
        version=len(dossier.events),
        document=document,
        since=since,
        abnormal_close=dossier.abnormal_close,
    )


def document_projection(document: DossierDocument) -> DossierProjection:
    """The whole of `document` (as the workflow's query or result gives it) as one projection:
    every event, at the version of its latest. How it was ended from outside the rules, which a
    document does not carry, is read from its last `abnormal_close` event (R5)."""
    closes = [e.detail.get("how") for e in document.events if e.kind == "abnormal_close"]
    return DossierProjection(
        version=max((e.seq for e in document.events), default=0),
        document=document,
        since=0,
        abnormal_close=closes[-1] if closes else None,
    )
