"""Notices (thông báo) the service sends: what they are and what they say, in Vietnamese.

A notice is composed here, from dossier facts, and written to the outbox by an activity under its
business `key`, so that a retried activity never sends it twice (R3, R12).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

APPLICANT = "applicant"  # the `to` of a notice addressed to the applicant rather than an agency


class NoticeKind(StrEnum):
    CONSULTATION_REQUEST = "consultation_request"
    REMINDER_1 = "reminder_1"
    REMINDER_2 = "reminder_2"
    CONSULTATION_CANCELLED = "consultation_cancelled"
    SUPPLEMENT_REQUEST = "supplement_request"
    STOP_NOTICE = "stop_notice"
    RETURN_NOTICE = "return_notice"
    WITHDRAWAL_NOTICE = "withdrawal_notice"
    APOLOGY = "apology"
    RESULT_READY = "result_ready"
    APOLOGY_DUE = "apology_due"  # to the lead agency, a working day before the due date (R13)


class Notice(BaseModel):
    """One notice to one recipient. `key` is its business identity: the same key is one notice."""

    key: str
    kind: NoticeKind
    dossier: str
    to: str  # an agency code, or APPLICANT
    cc: list[str] = Field(default_factory=list)
    sent_at: datetime
    subject: str
    body: str
