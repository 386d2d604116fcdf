"""Notices that reach people, and the national portal's status sync: the activities that take
what the workflow recorded and send it out (issue 4, README "Notices that reach people").

`deliver_notice(key)` sends one notice of the outbox to each recipient it names, through that
recipient's channel, read when it runs (so a corrected address takes effect on the next retry):

- an agency: its `webhook_url` if it has one, else its `email` (the catalogue, `agencies`);
- the applicant (`to == "applicant"`): the e-mail address of the dossier's applicant, from the
  read model (`dossiers.applicant`);
- `cc` agencies, the same way: those reached by e-mail are on the Cc of the one e-mail of the
  notice; one with a webhook gets a POST of its own, as a copy (`"role": "cc"`).

Each recipient has a row in `notice_deliveries` and a delivery id the receiver de-duplicates on,
the same on every retry: the notice's key for the `to` recipient (and the e-mail carrying it),
`<key>#cc:<AGENCY>` for a copy to an agency's webhook, `<key>#cc` for an e-mail that carries
copies only. A retry sends only to the recipients not reached yet; a notice delivered to all is
never sent again. Sending is at least once (a worker may die between a send and its record);
with the delivery id, the receiver sees it once.

The notice's row sums it up: `delivery_status` is `pending` until the first attempt, then
`failed_attempt` while a recipient is still to be reached (the activity raises, and Temporal
retries it with backoff), `delivered` once every recipient with a channel has it, `no_channel`
when nobody it names has one (nothing to retry: the activity returns).

`push_national_status(update)` records each change of a dossier's national status in
`portal_updates` (by dossier and seq) and pushes it once to the portal target the settings
choose: a signed JSON webhook at `MOTCUA_PORTAL_URL`, or, without one, nothing (recorded only,
`not_configured`). Another target plugs in through `PortalTarget`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from enum import StrEnum
from functools import cache
from typing import Any, Literal, Protocol

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import mail
from activities.mail import Mailbox, MailFailed, SmtpServer
from activities.webhooks import WebhookFailed, WebhookSender, json_body
from db.engine import dialect_insert
from db.models import (
    AgencyRecord,
    DossierRecord,
    NoticeDeliveryRecord,
    NoticeRecord,
    PortalUpdateRecord,
)
from domain.catalogue import EMAIL, WEBHOOK_URL
from domain.national_status import PortalUpdate
from domain.notices import APPLICANT, Notice
from settings import Settings

log = structlog.get_logger(__name__)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # recorded, no attempt finished yet
    FAILED_ATTEMPT = "failed_attempt"  # a recipient is still to be reached: being retried
    DELIVERED = "delivered"  # every recipient with a channel has it: never sent again
    NO_CHANNEL = "no_channel"  # nobody it names has an e-mail address or a webhook


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


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


class PortalStatus(StrEnum):
    PENDING = "pending"
    FAILED_ATTEMPT = "failed_attempt"  # the target refused or was away: being retried
    PUSHED = "pushed"  # the target has it: never pushed again
    NOT_CONFIGURED = "not_configured"  # no target: recorded only


class PortalReceipt(BaseModel):
    """Where a national-status update stands after a `push_national_status` that did not raise."""

    dossier: str
    seq: int
    delivery_id: str
    status: PortalStatus
    attempts: int
    pushed_at: datetime | None


# --- the portal's targets ----------------------------------------------------------------------


class PortalTarget(Protocol):
    """Where national-status updates go. Another target (the portal's own API, a message queue)
    is a class with this method, passed to `DeliveryActivities(..., portal=...)`."""

    async def push(self, update: PortalUpdate) -> bool:
        """True once the target has `update`; False when this target only records (no push).
        Raises when the target could not take it: the activity fails and is retried."""
        ...


class RecordOnly:
    """No portal configured: each update is kept in `portal_updates` (`not_configured`), so the
    history is there to push once a target is set."""

    async def push(self, update: PortalUpdate) -> bool:
        return False


class WebhookPortal:
    """The default target: the update as signed JSON (`activities.webhooks`), POSTed to `url`,
    with delivery id `<dossier>/status/<seq>`."""

    def __init__(self, url: str, sender: WebhookSender) -> None:
        self._url = url
        self._sender = sender

    async def push(self, update: PortalUpdate) -> bool:
        payload = {"delivery_id": update.delivery_id, **update.model_dump(mode="json")}
        await self._sender.post(self._url, update.delivery_id, json_body(payload))
        return True


def portal_target(settings: Settings, sender: WebhookSender) -> PortalTarget:
    """The target the settings choose: the webhook at `portal_url`, else record only.
    ValueError, so that the worker refuses to start, for a URL that is not https:// (or
    http:// to localhost) or one set without `webhook_secret` (its pushes would go unsigned)."""
    if not settings.portal_url:
        return RecordOnly()
    if not WEBHOOK_URL.fullmatch(settings.portal_url):
        raise ValueError(
            "MOTCUA_PORTAL_URL must be an https:// URL (http:// only to localhost), "
            f"got {settings.portal_url!r}"
        )
    if not sender.configured:
        raise ValueError(
            "MOTCUA_PORTAL_URL is set but MOTCUA_WEBHOOK_SECRET is not: the portal's updates "
            "would go unsigned"
        )
    return WebhookPortal(settings.portal_url, sender)


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

    def mailbox(self) -> Mailbox:
        assert self.address is not None
        return Mailbox(self.name, self.address)


def delivery_ids(key: str, recipients: list[Recipient]) -> dict[str, str]:
    """Each recipient's delivery id (module docstring): what the receiver de-duplicates on."""
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


def _applicant_recipient(role: Literal["to", "cc"], dossier: DossierRecord | None) -> Recipient:
    if dossier is None:
        return Recipient(APPLICANT, role, APPLICANT, None, None, "dossier not in the read model")
    name = str(dossier.applicant.get("name") or "Người nộp hồ sơ")
    email = str(dossier.applicant.get("email") or "").strip()
    if not email:
        return Recipient(APPLICANT, role, name, None, None, "the applicant gave no e-mail address")
    if not EMAIL.fullmatch(email):
        problem = f"the applicant's e-mail {email!r} is not an address"
        return Recipient(APPLICANT, role, name, None, None, problem)
    return Recipient(APPLICANT, role, name, Channel.EMAIL, email)


async def recipients(session: AsyncSession, notice: NoticeRecord) -> list[Recipient]:
    """The notice's `to`, then its `cc` agencies (each once, never the `to` again), each with its
    channel as the catalogue and the read model have it now."""
    addressed: list[tuple[str, Literal["to", "cc"]]] = [(notice.to, "to")]
    addressed += [(code, "cc") for code in dict.fromkeys(notice.cc) if code != notice.to]
    codes = [code for code, _ in addressed if code != APPLICANT]
    query = select(AgencyRecord).where(col(AgencyRecord.code).in_(codes))
    agencies = {a.code: a for a in (await session.exec(query)).all()}
    dossier = (
        await session.get(DossierRecord, notice.dossier)
        if any(code == APPLICANT for code, _ in addressed)
        else None
    )
    return [
        _applicant_recipient(role, dossier)
        if code == APPLICANT
        else _agency_recipient(code, role, agencies.get(code))
        for code, role in addressed
    ]


# --- the activities ----------------------------------------------------------------------------


class DeliveryActivities:
    """Sending notices and national-status updates, sharing the worker's database sessions.

    Built once per worker from `settings` (SMTP server, From address, webhook secret, portal
    URL); raises ValueError for settings that would send unsigned or weakly signed webhooks, so
    the worker refuses to start. `portal` replaces the target the settings would choose.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        portal: PortalTarget | None = None,
    ) -> None:
        if "@" not in parseaddr(settings.mail_from)[1]:
            raise ValueError(f"MOTCUA_MAIL_FROM must hold an address, got {settings.mail_from!r}")
        self._sessions = sessions
        self._mail_from = settings.mail_from
        self._smtp = SmtpServer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
        )
        self._webhooks = WebhookSender(settings.webhook_secret)
        self._portal = portal if portal is not None else portal_target(settings, self._webhooks)

    # --- deliver_notice ---------------------------------------------------------------------

    @activity.defn(name="deliver_notice")
    async def deliver_notice(self, key: str) -> DeliveryReceipt:
        """Send the outbox's notice `key` to whoever has not got it yet (module docstring).
        Raises ApplicationError `notice_delivery_failed` (retried) while a recipient could not
        be reached, and `notice_not_found` (not retried) when no notice has that key."""
        async with self._sessions() as session:
            record = await _notice(session, key)
            if record.delivery_status == DeliveryStatus.DELIVERED.value:
                log.info("notice_already_delivered", key=key, dossier=record.dossier)
                return _delivery_receipt(record, sent=[])
            addressed = await recipients(session, record)
            reached = {
                row.recipient
                for row in await _delivery_rows(session, key)
                if row.status == DeliveryStatus.DELIVERED.value
            }
        notice = Notice.model_validate(record, from_attributes=True)
        ids = delivery_ids(key, addressed)
        todo = [r for r in addressed if r.channel is not None and r.code not in reached]
        errors = await self._send(notice, addressed, todo, ids)
        async with self._sessions() as session, session.begin():
            record = await _record_delivery(session, key, addressed, reached, ids, errors)
        sent = sorted({ids[code] for code, error in errors.items() if error is None})
        event = {
            "key": key,
            "dossier": record.dossier,
            "kind": record.kind,
            "status": record.delivery_status,
            "channel": record.delivery_channel,
            "sent": sent,
            "attempt": activity.info().attempt,
        }
        if record.delivery_status == DeliveryStatus.FAILED_ATTEMPT.value:
            log.warning("notice_delivery_failed", error=record.delivery_error, **event)
            raise ApplicationError(
                f"notice {key}: not delivered to every recipient: {record.delivery_error}",
                type="notice_delivery_failed",
            )
        log.info(
            "notice_delivered"
            if record.delivery_status == DeliveryStatus.DELIVERED.value
            else "notice_without_channel",
            problems=record.delivery_error,
            **event,
        )
        return _delivery_receipt(record, sent=sent)

    async def _send(
        self,
        notice: Notice,
        addressed: list[Recipient],
        todo: list[Recipient],
        ids: dict[str, str],
    ) -> dict[str, str | None]:
        """Send to the `todo` recipients, the e-mail and the webhooks at once: by recipient
        code, None when it was reached, else why not."""
        by_mail = [r for r in todo if r.channel is Channel.EMAIL]
        sends = [self._post(notice, r, ids[r.code]) for r in todo if r.channel is Channel.WEBHOOK]
        if by_mail:
            sends.append(self._mail(notice, addressed, by_mail, ids[by_mail[0].code]))
        outcomes: dict[str, str | None] = {}
        for outcome in await asyncio.gather(*sends):
            outcomes |= outcome
        return outcomes

    async def _mail(
        self, notice: Notice, addressed: list[Recipient], todo: list[Recipient], delivery_id: str
    ) -> dict[str, str | None]:
        """The notice's one e-mail, showing every e-mail recipient in To and Cc, sent to those
        of them in `todo` only (the envelope): a retry reaches only who the last one missed."""
        on_mail = [r for r in addressed if r.channel is Channel.EMAIL]
        message = mail.compose(
            notice,
            to=[r.mailbox() for r in on_mail if r.role == "to"],
            cc=[r.mailbox() for r in on_mail if r.role == "cc"],
            delivery_id=delivery_id,
            mail_from=self._mail_from,
        )
        envelope = list(dict.fromkeys(r.address for r in todo if r.address))
        try:
            refused = await mail.send(self._smtp, message, self._mail_from, envelope)
        except MailFailed as error:
            return {r.code: str(error) for r in todo}
        return {
            r.code: (
                f"SMTP refused {r.address}: {refused[r.address]}" if r.address in refused else None
            )
            for r in todo
        }

    async def _post(
        self, notice: Notice, recipient: Recipient, delivery_id: str
    ) -> dict[str, str | None]:
        """The notice as JSON to the recipient's webhook (README for the payload)."""
        assert recipient.address is not None
        payload = {
            "delivery_id": delivery_id,
            "recipient": recipient.code,
            "role": recipient.role,
            "notice": notice.model_dump(mode="json"),
        }
        try:
            await self._webhooks.post(recipient.address, delivery_id, json_body(payload))
        except WebhookFailed as error:
            return {recipient.code: str(error)}
        return {recipient.code: None}

    # --- push_national_status ---------------------------------------------------------------

    @activity.defn(name="push_national_status")
    async def push_national_status(self, update: PortalUpdate) -> PortalReceipt:
        """Record `update` (once per dossier and seq: the first recorded wins) and push it to
        the portal target unless it was pushed already. Raises ApplicationError
        `portal_push_failed` (retried) when the target could not take it."""
        async with self._sessions() as session, session.begin():
            row = await _portal_row(session, update)
        if row.status == PortalStatus.PUSHED.value:
            return _portal_receipt(row)
        stored = PortalUpdate.model_validate(row, from_attributes=True)
        event = {
            "dossier": stored.dossier,
            "seq": stored.seq,
            "code": stored.code,
            "attempt": activity.info().attempt,
        }
        try:
            pushed = await self._portal.push(stored)
        except Exception as error:
            # Any target's failure, recorded before Temporal retries the activity.
            reason = str(error) if isinstance(error, WebhookFailed) else repr(error)
            row = await _portal_outcome(self._sessions, stored, PortalStatus.FAILED_ATTEMPT, reason)
            log.warning("national_status_push_failed", error=reason, **event)
            raise ApplicationError(
                f"national status {stored.delivery_id}: {reason}", type="portal_push_failed"
            ) from error
        status = PortalStatus.PUSHED if pushed else PortalStatus.NOT_CONFIGURED
        row = await _portal_outcome(self._sessions, stored, status)
        log.info("national_status_pushed" if pushed else "national_status_recorded", **event)
        return _portal_receipt(row)


# --- the rows ------------------------------------------------------------------------------


async def _notice(session: AsyncSession, key: str) -> NoticeRecord:
    query = select(NoticeRecord).where(NoticeRecord.key == key)
    record = (await session.exec(query.execution_options(populate_existing=True))).first()
    if record is None:
        # The workflow records a notice before asking for its delivery: a missing one is a bug,
        # which no retry mends.
        raise ApplicationError(
            f"no notice has key {key!r}", type="notice_not_found", non_retryable=True
        )
    return record


async def _delivery_rows(session: AsyncSession, key: str) -> list[NoticeDeliveryRecord]:
    query = select(NoticeDeliveryRecord).where(NoticeDeliveryRecord.notice_key == key)
    return list((await session.exec(query.execution_options(populate_existing=True))).all())


async def _record_delivery(
    session: AsyncSession,
    key: str,
    addressed: list[Recipient],
    reached: set[str],
    ids: dict[str, str],
    errors: dict[str, str | None],
) -> NoticeRecord:
    """Write this attempt's outcome per recipient, then the notice's summary of all of them."""
    now = datetime.now(UTC)
    rows = {row.recipient: row for row in await _delivery_rows(session, key)}
    for r in addressed:
        if r.code in reached:
            continue
        row = rows.setdefault(
            r.code,
            NoticeDeliveryRecord(
                notice_key=key,
                recipient=r.code,
                role=r.role,
                delivery_id=ids[r.code],
                status=DeliveryStatus.PENDING.value,
            ),
        )
        row.role, row.delivery_id = r.role, ids[r.code]
        row.channel, row.address = (r.channel.value if r.channel else None), r.address
        if r.channel is None:
            row.status, row.error = DeliveryStatus.NO_CHANNEL.value, r.problem
        else:
            row.attempts += 1
            row.error = errors[r.code]
            row.status = (
                DeliveryStatus.FAILED_ATTEMPT if row.error else DeliveryStatus.DELIVERED
            ).value
            row.delivered_at = None if row.error else now
        session.add(row)

    record = await _notice(session, key)
    with_channel = [row for row in rows.values() if row.channel is not None]
    if not with_channel:
        status = DeliveryStatus.NO_CHANNEL
    elif all(row.status == DeliveryStatus.DELIVERED.value for row in with_channel):
        status = DeliveryStatus.DELIVERED
    else:
        status = DeliveryStatus.FAILED_ATTEMPT
    record.delivery_status = status.value
    channels = {row.channel for row in with_channel if row.channel is not None}
    record.delivery_channel = "+".join(sorted(channels)) or None
    if any(r.code not in reached and r.channel is not None for r in addressed):
        record.delivery_attempts += 1
    delivered = [row.delivered_at for row in with_channel if row.delivered_at is not None]
    record.delivered_at = max(delivered) if status is DeliveryStatus.DELIVERED else None
    # The failures of this attempt, else why recipients have no channel: what ops look at.
    failures = [f"{code}: {error}" for code, error in errors.items() if error]
    problems = [f"{row.recipient}: {row.error}" for row in rows.values() if row.channel is None]
    record.delivery_error = "; ".join(failures or problems) or None
    session.add(record)
    return record


async def restore_delivery(session: AsyncSession, receipt: DeliveryReceipt) -> None:
    """Write, in the session's transaction, what a `deliver_notice` that completed achieved, from
    its receipt in the workflow's history (`db.rebuild`): the notice's summary as the receipt
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
    # As `_record_delivery` leaves a completed delivery: no failure, why some had no channel.
    problems = [f"{r.code}: {r.problem}" for r in addressed if r.channel is None]
    record.delivery_error = "; ".join(problems) or None
    session.add(record)


def _delivery_receipt(record: NoticeRecord, sent: list[str]) -> DeliveryReceipt:
    return DeliveryReceipt(
        key=record.key,
        status=DeliveryStatus(record.delivery_status),
        channel=record.delivery_channel,
        attempts=record.delivery_attempts,
        delivered_at=record.delivered_at,
        sent=sent,
    )


async def _portal_row(session: AsyncSession, update: PortalUpdate) -> PortalUpdateRecord:
    """The update's row, written now unless an earlier attempt (or a duplicate) wrote it."""
    connection = await session.connection()
    await connection.execute(
        _insert_portal_update(connection.dialect.name),
        {**update.model_dump(), "status": PortalStatus.PENDING.value, "attempts": 0},
    )
    row = await session.get(
        PortalUpdateRecord, (update.dossier, update.seq), populate_existing=True
    )
    assert row is not None
    if PortalUpdate.model_validate(row, from_attributes=True) != update:
        log.warning("national_status_seq_reused", dossier=update.dossier, seq=update.seq)
    return row


async def restore_portal_update(
    session: AsyncSession, update: PortalUpdate, receipt: PortalReceipt | None
) -> None:
    """Write, in the session's transaction, a national-status update found in a workflow's
    history (`db.rebuild`) and, once its `push_national_status` completed, how it ended
    (`receipt`); without one it stays pending, and the activity still running writes the rest."""
    row = await _portal_row(session, update)
    if receipt is None or row.status == PortalStatus.PUSHED.value:
        return
    row.status, row.attempts, row.pushed_at = (
        receipt.status.value,
        receipt.attempts,
        receipt.pushed_at,
    )
    row.error = None
    session.add(row)


async def _portal_outcome(
    sessions: async_sessionmaker[AsyncSession],
    update: PortalUpdate,
    status: PortalStatus,
    error: str | None = None,
) -> PortalUpdateRecord:
    async with sessions() as session, session.begin():
        row = await session.get(
            PortalUpdateRecord, (update.dossier, update.seq), populate_existing=True
        )
        assert row is not None
        if row.status == PortalStatus.PUSHED.value:
            return row  # an overlapping attempt got there first
        if status is not PortalStatus.NOT_CONFIGURED:
            row.attempts += 1
        row.status, row.error = status.value, error
        if status is PortalStatus.PUSHED:
            row.pushed_at = datetime.now(UTC)
        session.add(row)
    return row


def _portal_receipt(row: PortalUpdateRecord) -> PortalReceipt:
    return PortalReceipt(
        dossier=row.dossier,
        seq=row.seq,
        delivery_id=PortalUpdate.model_validate(row, from_attributes=True).delivery_id,
        status=PortalStatus(row.status),
        attempts=row.attempts,
        pushed_at=row.pushed_at,
    )


@cache
def _insert_portal_update(dialect: str) -> Any:
    """`INSERT … ON CONFLICT (dossier, seq) DO NOTHING`, built and compiled once."""
    table = PortalUpdateRecord.__table__  # type: ignore[attr-defined]
    return dialect_insert(dialect)(table).on_conflict_do_nothing(
        index_elements=[table.c.dossier, table.c.seq]
    )
