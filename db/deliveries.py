"""The delivery records: who a notice goes to and how each recipient was reached
(`notice_deliveries`, summed up on the notice's row), and the national-status updates pushed to
the portal (`portal_updates`). Written by the activities that send them (`activities.delivery`)
and by `db.rebuild` from their receipts.

Who a notice goes to is read when it is sent, so a corrected address takes effect on the next
retry: an agency by its `webhook_url` if it has one, else its `email` (the catalogue,
`agencies`); the applicant by the e-mail address of the dossier's applicant (`dossiers.applicant`).
Each recipient has a delivery id the receiver de-duplicates on, the same on every retry
(`delivery_ids`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Any, Literal

import structlog
from pydantic import BaseModel
from sqlalchemy import bindparam
from sqlalchemy import update as sql_update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import (
    AgencyRecord,
    DossierRecord,
    NoticeDeliveryRecord,
    NoticeRecord,
    PortalUpdateRecord,
)
from db.notices import deliveries_of
from domain.catalogue import EMAIL
from domain.national_status import PortalUpdate
from domain.notices import APPLICANT

log = structlog.get_logger(__name__)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # recorded, no attempt finished yet
    FAILED_ATTEMPT = "failed_attempt"  # a recipient is still to be reached: being retried
    DELIVERED = "delivered"  # every recipient with a channel has it: never sent again
    NO_CHANNEL = "no_channel"  # nobody it names has an e-mail address or a webhook


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class PortalStatus(StrEnum):
    PENDING = "pending"
    FAILED_ATTEMPT = "failed_attempt"  # the target refused or was away: being retried
    PUSHED = "pushed"  # the target has it: never pushed again
    NOT_CONFIGURED = "not_configured"  # no target: recorded only


class DeliveryReceipt(BaseModel):
    """Where notice `key` stands after a `deliver_notice` that did not raise (`delivered` or
    `no_channel`). `sent`: the delivery ids this call sent; empty when an earlier call had
    delivered it already."""

    key: str
    status: DeliveryStatus
    channel: str | None  # the channels used: email, webhook or email+webhook
    attempts: int
    delivered_at: datetime | None
    sent: list[str]


class PortalReceipt(BaseModel):
    """Where a national-status update stands after a `push_national_status` that did not raise."""

    dossier: str
    seq: int
    delivery_id: str
    status: PortalStatus
    attempts: int
    pushed_at: datetime | None


def delivery_receipt(record: NoticeRecord, sent: list[str]) -> DeliveryReceipt:
    """The receipt of the notice `record` sums up; `sent`: the delivery ids just sent."""
    return DeliveryReceipt(
        key=record.key,
        status=DeliveryStatus(record.delivery_status),
        channel=record.delivery_channel,
        attempts=record.delivery_attempts,
        delivered_at=record.delivered_at,
        sent=sent,
    )


def portal_receipt(row: PortalUpdateRecord) -> PortalReceipt:
    return PortalReceipt(
        dossier=row.dossier,
        seq=row.seq,
        delivery_id=PortalUpdate.model_validate(row, from_attributes=True).delivery_id,
        status=PortalStatus(row.status),
        attempts=row.attempts,
        pushed_at=row.pushed_at,
    )


# --- who a notice goes to ----------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """One recipient of a notice, with its channel as configured now (None: no channel, and
    `problem` says why)."""

    code: str  # an agency code, or APPLICANT
    role: Literal["to", "cc"]
    name: str
    channel: Channel | None
    address: str | None  # the e-mail address, or the webhook's URL
    problem: str | None = None


def delivery_ids(key: str, recipients: list[Recipient]) -> dict[str, str]:
    """Each recipient's delivery id, what the receiver de-duplicates on: the notice's key for
    the `to` recipient (and the e-mail carrying it), `<key>#cc:<AGENCY>` for a copy to an
    agency's webhook, `<key>#cc` for an e-mail that carries copies only."""
    mail_has_to = any(r.role == "to" and r.channel is Channel.EMAIL for r in recipients)
    ids = {}
    for r in recipients:
        if r.role == "to":
            ids[r.code] = key
        elif r.channel is Channel.EMAIL:
            ids[r.code] = key if mail_has_to else f"{key}#cc"
        else:
            ids[r.code] = f"{key}#cc:{r.code}"
    return ids


def _agency_recipient(
    code: str, role: Literal["to", "cc"], agency: AgencyRecord | None
) -> Recipient:
    if agency is None:
        return Recipient(code, role, code, None, None, "not an agency of the catalogue")
    if agency.webhook_url:
        return Recipient(code, role, agency.name, Channel.WEBHOOK, agency.webhook_url)
    if agency.email:
        return Recipient(code, role, agency.name, Channel.EMAIL, agency.email)
    return Recipient(
        code, role, agency.name, None, None, "no email or webhook_url in the catalogue"
    )


def _applicant_recipient(
    role: Literal["to", "cc"], applicant: Mapping[str, Any] | None
) -> Recipient:
    """`applicant`: the dossier's (`dossiers.applicant`); None when the dossier is not there."""
    if applicant is None:
        return Recipient(APPLICANT, role, APPLICANT, None, None, "dossier not in the read model")
    name = str(applicant.get("name") or "Người nộp hồ sơ")
    email = str(applicant.get("email") or "").strip()
    if not email:
        return Recipient(APPLICANT, role, name, None, None, "the applicant gave no e-mail address")
    if not EMAIL.fullmatch(email):
        problem = f"the applicant's e-mail {email!r} is not an address"
        return Recipient(APPLICANT, role, name, None, None, problem)
    return Recipient(APPLICANT, role, name, Channel.EMAIL, email)


async def recipients(session: AsyncSession, notice: NoticeRecord) -> list[Recipient]:
    """The notice's `to`, then its `cc` agencies (each once, never the `to` again), each with its
    channel as the catalogue and the read model have it now."""
    return (await recipients_of(session, [notice]))[notice.key]


async def recipients_of(
    session: AsyncSession, notices: list[NoticeRecord]
) -> dict[str, list[Recipient]]:
    """`recipients` of each of `notices`, by notice key: the agencies of all of them in one
    query, and their dossiers' applicants in one more when any goes to the applicant."""
    addressed: dict[str, list[tuple[str, Literal["to", "cc"]]]] = {}
    for notice in notices:
        named: list[tuple[str, Literal["to", "cc"]]] = [(notice.to, "to")]
        named += [(code, "cc") for code in dict.fromkeys(notice.cc) if code != notice.to]
        addressed[notice.key] = named
    codes = sorted({code for named in addressed.values() for code, _ in named if code != APPLICANT})
    agencies: dict[str, AgencyRecord] = {}
    if codes:
        of_agencies = select(AgencyRecord).where(col(AgencyRecord.code).in_(codes))
        agencies = {a.code: a for a in (await session.exec(of_agencies)).all()}
    of_applicant = sorted(
        {n.dossier for n in notices if any(code == APPLICANT for code, _ in addressed[n.key])}
    )
    applicants: dict[str, Mapping[str, Any]] = {}
    if of_applicant:
        of_dossiers = select(DossierRecord.code, DossierRecord.applicant).where(
            col(DossierRecord.code).in_(of_applicant)
        )
        applicants = {code: applicant for code, applicant in (await session.exec(of_dossiers))}
    return {
        notice.key: [
            _applicant_recipient(role, applicants.get(notice.dossier))
            if code == APPLICANT
            else _agency_recipient(code, role, agencies.get(code))
            for code, role in addressed[notice.key]
        ]
        for notice in notices
    }


# --- a notice's deliveries ---------------------------------------------------------------------


async def find_notices(session: AsyncSession, keys: list[str]) -> dict[str, NoticeRecord]:
    """The outbox's notices of `keys`, fresh from the database, by key: one query. A key no
    notice has is missing from the answer."""
    if not keys:
        return {}
    query = select(NoticeRecord).where(col(NoticeRecord.key).in_(keys))
    rows = (await session.exec(query.execution_options(populate_existing=True))).all()
    return {row.key: row for row in rows}


async def _notice(session: AsyncSession, key: str) -> NoticeRecord:
    record = (await find_notices(session, [key])).get(key)
    if record is None:
        raise LookupError(f"no notice has key {key!r}")
    return record


@dataclass(frozen=True)
class Outbound:
    """A notice of the outbox as a dispatch finds it: its row; unless it was delivered already,
    who it is addressed to now and which of them an earlier attempt reached."""

    record: NoticeRecord
    addressed: list[Recipient]
    reached: set[str]


async def outbound(session: AsyncSession, keys: list[str]) -> dict[str, Outbound]:
    """The notices of `keys` to dispatch, by key (a key no notice has is missing): at most four
    queries whatever their number (the notices, their agencies, their dossiers when one goes to
    the applicant, their delivery rows); a delivered notice's recipients are not looked up."""
    records = await find_notices(session, keys)
    undelivered = [
        r for r in records.values() if r.delivery_status != DeliveryStatus.DELIVERED.value
    ]
    addressed = await recipients_of(session, undelivered)
    rows = await deliveries_of(session, [r.key for r in undelivered])
    return {
        key: Outbound(
            record,
            addressed.get(key, []),
            {
                row.recipient
                for row in rows.get(key, [])
                if row.status == DeliveryStatus.DELIVERED.value
            },
        )
        for key, record in records.items()
    }


@dataclass(frozen=True)
class DeliveryAttempt:
    """One attempt at notice `key`: the recipients `addressed`, those an earlier attempt had
    `reached` (left as they are), each one's delivery id, and this attempt's outcome by
    recipient code (`errors`: None when reached, else why not)."""

    key: str
    addressed: list[Recipient]
    reached: set[str]
    ids: dict[str, str]
    errors: dict[str, str | None]


async def record_deliveries(
    session: AsyncSession, attempts: list[DeliveryAttempt]
) -> dict[str, NoticeRecord]:
    """Write, in the session's transaction, each attempt's outcome per recipient, then its
    notice's summary of all of them: `delivered` once every recipient with a channel has it,
    `no_channel` when nobody has one, else `failed_attempt`. The notices as written, by key.

    At most five statements whatever the number of notices and recipients: the notices and their
    rows read fresh, then one executemany per kind of write (new rows, rows of a retry, the
    summaries), where the ORM's flush would write one UPDATE per set of changed columns."""
    keys = [a.key for a in attempts]
    records = await find_notices(session, keys)
    rows_of = await deliveries_of(session, keys)
    # Detached, so that the changes below are written by the statements at the end only.
    for loaded in [*records.values(), *(row for rows in rows_of.values() for row in rows)]:
        session.expunge(loaded)
    now = datetime.now(UTC)
    inserted: list[NoticeDeliveryRecord] = []
    updated: list[NoticeDeliveryRecord] = []
    for attempt in attempts:
        record = records.get(attempt.key)
        if record is None:
            raise LookupError(f"no notice has key {attempt.key!r}")
        rows = {row.recipient: row for row in rows_of[attempt.key]}
        for r in attempt.addressed:
            if r.code in attempt.reached:
                continue
            row = rows.get(r.code)
            if row is None:
                row = rows[r.code] = NoticeDeliveryRecord(
                    notice_key=attempt.key,
                    recipient=r.code,
                    role=r.role,
                    delivery_id=attempt.ids[r.code],
                    status=DeliveryStatus.PENDING.value,
                )
                inserted.append(row)
            else:
                updated.append(row)
            row.role, row.delivery_id = r.role, attempt.ids[r.code]
            row.channel, row.address = (r.channel.value if r.channel else None), r.address
            if r.channel is None:
                row.status, row.error = DeliveryStatus.NO_CHANNEL.value, r.problem
            else:
                row.attempts += 1
                row.error = attempt.errors[r.code]
                row.status = (
                    DeliveryStatus.FAILED_ATTEMPT if row.error else DeliveryStatus.DELIVERED
                ).value
                row.delivered_at = None if row.error else now
        _sum_up(record, attempt, list(rows.values()))
    connection = await session.connection()
    if inserted:
        await connection.execute(_DELIVERIES.insert(), [_delivery_values(r) for r in inserted])
    if updated:
        await connection.execute(_UPDATE_DELIVERY, [_delivery_changes(r) for r in updated])
    await connection.execute(
        _UPDATE_SUMMARY,
        [
            {"notice_key": r.key, **{c: getattr(r, c) for c in _SUMMARY_COLUMNS}}
            for r in (records[a.key] for a in attempts)
        ],
    )
    return records


def _sum_up(
    record: NoticeRecord, attempt: DeliveryAttempt, rows: list[NoticeDeliveryRecord]
) -> None:
    """The notice's summary of its rows after `attempt`, on `record`."""
    with_channel = [row for row in rows if row.channel is not None]
    if not with_channel:
        status = DeliveryStatus.NO_CHANNEL
    elif all(row.status == DeliveryStatus.DELIVERED.value for row in with_channel):
        status = DeliveryStatus.DELIVERED
    else:
        status = DeliveryStatus.FAILED_ATTEMPT
    record.delivery_status = status.value
    channels = {row.channel for row in with_channel if row.channel is not None}
    record.delivery_channel = "+".join(sorted(channels)) or None
    if any(r.code not in attempt.reached and r.channel is not None for r in attempt.addressed):
        record.delivery_attempts += 1
    delivered = [row.delivered_at for row in with_channel if row.delivered_at is not None]
    record.delivered_at = max(delivered) if status is DeliveryStatus.DELIVERED else None
    # The failures of this attempt, else why recipients have no channel: what ops look at.
    failures = [f"{code}: {error}" for code, error in attempt.errors.items() if error]
    problems = [f"{row.recipient}: {row.error}" for row in rows if row.channel is None]
    record.delivery_error = "; ".join(failures or problems) or None


_DELIVERIES = NoticeDeliveryRecord.__table__  # type: ignore[attr-defined]
_NOTICES = NoticeRecord.__table__  # type: ignore[attr-defined]
_UPDATE_DELIVERY = sql_update(_DELIVERIES).where(
    _DELIVERIES.c.notice_key == bindparam("b_notice_key"),
    _DELIVERIES.c.recipient == bindparam("b_recipient"),
)
_SUMMARY_COLUMNS = (
    "delivery_status",
    "delivery_channel",
    "delivery_attempts",
    "delivered_at",
    "delivery_error",
)
_UPDATE_SUMMARY = sql_update(_NOTICES).where(_NOTICES.c.key == bindparam("notice_key"))


def _delivery_values(row: NoticeDeliveryRecord) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in _DELIVERIES.columns}


def _delivery_changes(row: NoticeDeliveryRecord) -> dict[str, Any]:
    """The row's columns but its key, which `_UPDATE_DELIVERY` matches on."""
    changes = {c.key: getattr(row, c.key) for c in _DELIVERIES.columns if not c.primary_key}
    return changes | {"b_notice_key": row.notice_key, "b_recipient": row.recipient}


async def restore_delivery(session: AsyncSession, receipt: DeliveryReceipt) -> None:
    """Write, in the session's transaction, what a `deliver_notice` that completed achieved,
    from its receipt in the workflow's history (`db.rebuild`): the notice's summary as the receipt
    has it, and a row per recipient as the catalogue and the dossier name them now (an address
    changed since shows the new one). Exact for a notice delivered at its first attempt, the
    usual case; after retries, each recipient's count and time are the notice's."""
    record = await _notice(session, receipt.key)
    addressed = await recipients(session, record)
    ids = delivery_ids(receipt.key, addressed)
    for r in addressed:
        reached = r.channel is not None
        await session.merge(
            NoticeDeliveryRecord(
                notice_key=receipt.key,
                recipient=r.code,
                role=r.role,
                delivery_id=ids[r.code],
                channel=r.channel.value if r.channel else None,
                address=r.address,
                status=(DeliveryStatus.DELIVERED if reached else DeliveryStatus.NO_CHANNEL).value,
                attempts=receipt.attempts if reached else 0,
                delivered_at=receipt.delivered_at if reached else None,
                error=None if reached else r.problem,
            )
        )
    record.delivery_status = receipt.status.value
    record.delivery_channel = receipt.channel
    record.delivery_attempts = receipt.attempts
    record.delivered_at = receipt.delivered_at
    # As `record_deliveries` leaves a completed delivery: no failure, why some had no channel.
    problems = [f"{r.code}: {r.problem}" for r in addressed if r.channel is None]
    record.delivery_error = "; ".join(problems) or None
    session.add(record)


# --- the national portal's updates -------------------------------------------------------------


async def record_portal_update(session: AsyncSession, update: PortalUpdate) -> PortalUpdateRecord:
    """The update's row, written now in the session's transaction unless an earlier attempt (or
    a duplicate) wrote it: once per dossier and seq, the first recorded wins. One statement when
    this call writes it (`RETURNING`), a second to read the row another wrote."""
    connection = await session.connection()
    values = {**update.model_dump(), "status": PortalStatus.PENDING.value, "attempts": 0}
    statement = _insert_portal_update(connection.dialect.name).values(values)
    row = (await session.exec(statement, execution_options=_FRESH)).scalars().first()
    if row is not None:
        return row
    row = await session.get(
        PortalUpdateRecord, (update.dossier, update.seq), populate_existing=True
    )
    assert row is not None
    if PortalUpdate.model_validate(row, from_attributes=True) != update:
        log.warning("national_status_seq_reused", dossier=update.dossier, seq=update.seq)
    return row


async def record_portal_outcome(
    session: AsyncSession, update: PortalUpdate, status: PortalStatus, error: str | None = None
) -> PortalUpdateRecord:
    """Write, in the session's transaction, how a push of `update` ended, unless an overlapping
    attempt pushed it already; the row as it stands. One statement (`UPDATE … WHERE status <>
    'pushed' RETURNING`), a second to read the row an overlapping attempt pushed."""
    changes: dict[str, Any] = {"status": status.value, "error": error}
    if status is not PortalStatus.NOT_CONFIGURED:
        changes["attempts"] = PortalUpdateRecord.attempts + 1
    if status is PortalStatus.PUSHED:
        changes["pushed_at"] = datetime.now(UTC)
    statement = (
        sql_update(PortalUpdateRecord)
        .where(
            col(PortalUpdateRecord.dossier) == update.dossier,
            col(PortalUpdateRecord.seq) == update.seq,
            col(PortalUpdateRecord.status) != PortalStatus.PUSHED.value,
        )
        .values(changes)
        .returning(PortalUpdateRecord)
    )
    row = (await session.exec(statement, execution_options=_FRESH)).scalars().first()
    if row is None:  # an overlapping attempt got there first
        row = await session.get(
            PortalUpdateRecord, (update.dossier, update.seq), populate_existing=True
        )
    assert row is not None
    return row


# Rows that a statement's RETURNING gives replace what the session holds of them.
_FRESH = {"populate_existing": True}


async def restore_portal_update(
    session: AsyncSession, update: PortalUpdate, receipt: PortalReceipt | None
) -> None:
    """Write, in the session's transaction, a national-status update found in a workflow's
    history (`db.rebuild`) and, once its `push_national_status` completed, how it ended
    (`receipt`); without one it stays pending, and the activity still running writes the rest."""
    row = await record_portal_update(session, update)
    if receipt is None or row.status == PortalStatus.PUSHED.value:
        return
    row.status, row.attempts, row.pushed_at = (
        receipt.status.value,
        receipt.attempts,
        receipt.pushed_at,
    )
    row.error = None
    session.add(row)


@cache
def _insert_portal_update(dialect: str) -> Any:
    """`INSERT … ON CONFLICT (dossier, seq) DO NOTHING RETURNING` the row as the ORM's
    (`PortalUpdateRecord`), built once."""
    return (
        dialect_insert(dialect)(PortalUpdateRecord)
        .on_conflict_do_nothing(index_elements=["dossier", "seq"])
        .returning(PortalUpdateRecord)
    )
