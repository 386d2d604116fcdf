"""Notices (API.md, "Notices"), for `GET /api/v1/notices`: what the service sent, to whom, and how
its delivery went, in sum and per recipient (`activities.delivery` writes both).

Who sees which notices is decided by `domain.rules.sees_every_notice`: evaluators, inspectors
and admins see all; others the notices addressed or copied to their agency, and those to the
applicants of the dossiers their agency leads (sent in its name).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from db import notices as queries
from db.deliveries import Channel, DeliveryStatus
from db.models import NoticeDeliveryRecord, NoticeRecord
from db.pages import Page, beyond
from domain import rules
from domain.commands import Actor
from domain.notices import NoticeKind


class RecipientDelivery(BaseModel):
    """How the notice reached one recipient: its `to` or one agency of its `cc`."""

    recipient: str = Field(description="an agency code, or `applicant`")
    role: Literal["to", "cc"]
    channel: Channel | None = Field(description="none: the recipient has no channel")
    status: DeliveryStatus
    attempts: int = Field(description="attempts to reach this recipient")
    delivered_at: datetime | None
    last_error: str | None = Field(
        description="why the last attempt failed, or why the recipient has no channel"
    )


class NoticeDelivery(BaseModel):
    """The notice's delivery summed up over its recipients."""

    status: DeliveryStatus = Field(
        description="pending (no attempt finished yet), failed_attempt (a recipient is still to "
        "be reached: being retried), delivered (every recipient with a channel has it), "
        "no_channel (nobody it names has an e-mail address or a webhook)"
    )
    channel: str | None = Field(description="the channels used: email, webhook or email+webhook")
    attempts: int = Field(description="attempts that sent to at least one recipient")
    delivered_at: datetime | None
    last_error: str | None = Field(
        description="the last attempt's failures, or why recipients have no channel"
    )
    recipients: list[RecipientDelivery] = Field(description="`to` first, then `cc` in order")


class NoticeOut(BaseModel):
    id: int
    kind: NoticeKind
    dossier: str
    to: str
    cc: list[str]
    sent_at: datetime
    subject: str
    body: str
    delivery: NoticeDelivery


class NoticePage(BaseModel):
    items: list[NoticeOut]
    next_cursor: str | None


async def list_notices(
    session: AsyncSession,
    actor: Actor,
    *,
    dossier: str | None,
    agency: str | None,
    kind: NoticeKind | None,
    limit: int,
    after_id: int | None,
) -> tuple[list[NoticeOut], bool]:
    """At most `limit` notices `actor` may see, those after `after_id`, with their delivery;
    and whether more follow."""
    led_by = None
    if not rules.sees_every_notice(actor):
        agency = led_by = actor.agency  # whatever was asked: one's own agency's notices only
    rows = await queries.list_notices(
        session,
        dossier=dossier,
        agency=agency,
        led_by=led_by,
        kind=kind.value if kind else None,
        limit=beyond(limit),
        after_id=after_id,
    )
    page = Page.of(rows, limit)
    deliveries = await queries.deliveries_of(session, [row.key for row in page.rows])
    return [_notice_out(row, deliveries[row.key]) for row in page.rows], page.more


def _notice_out(row: NoticeRecord, recipients: list[NoticeDeliveryRecord]) -> NoticeOut:
    order = {code: i for i, code in enumerate([row.to, *row.cc])}
    recipients = sorted(recipients, key=lambda r: (r.role != "to", order.get(r.recipient, 0)))
    delivery = NoticeDelivery(
        status=DeliveryStatus(row.delivery_status),
        channel=row.delivery_channel,
        attempts=row.delivery_attempts,
        delivered_at=row.delivered_at,
        last_error=row.delivery_error,
        recipients=[
            RecipientDelivery(
                recipient=r.recipient,
                role="to" if r.role == "to" else "cc",
                channel=Channel(r.channel) if r.channel else None,
                status=DeliveryStatus(r.status),
                attempts=r.attempts,
                delivered_at=r.delivered_at,
                last_error=r.error,
            )
            for r in recipients
        ],
    )
    fields = row.model_dump(include=set(NoticeOut.model_fields) - {"delivery"})
    return NoticeOut(**fields, delivery=delivery)
