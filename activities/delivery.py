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

Since v7 a workflow dispatches everything one change brings with one activity, `dispatch_change`
(`ChangeDispatch`: the notices' keys and the national-status update, if any), which does what the
two activities below do for each; runs from before v7 keep calling them one by one.

`push_national_status(update)` records each change of a dossier's national status in
`portal_updates` (by dossier and seq) and pushes it once to the portal target the settings
choose: a signed JSON webhook at `MOTCUA_PORTAL_URL`, or, without one, nothing (recorded only,
`not_configured`). Another target plugs in through `PortalTarget`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Protocol

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import mail
from activities.mail import Mailbox, MailFailed, SmtpServer
from activities.webhooks import WebhookFailed, WebhookSender, json_body
from db.deliveries import (
    Channel,
    DeliveryAttempt,
    DeliveryReceipt,
    DeliveryStatus,
    PortalReceipt,
    PortalStatus,
    Recipient,
    delivery_ids,
    delivery_receipt,
    outbound,
    portal_receipt,
    record_deliveries,
    record_portal_outcome,
    record_portal_update,
)
from db.engine import write_transaction
from db.models import NoticeRecord, PortalUpdateRecord
from domain.catalogue import WEBHOOK_URL
from domain.national_status import PortalUpdate
from domain.notices import Notice
from settings import Settings

log = structlog.get_logger(__name__)


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


# --- the activities ----------------------------------------------------------------------------


class ChangeDispatch(BaseModel):
    """Input of `dispatch_change`: what one change of a dossier sends, once its settlement put the
    notices in the outbox: the notices' keys, and the national-status update if the change
    brought one."""

    notices: list[str] = []
    portal: PortalUpdate | None = None


class DispatchReceipt(BaseModel):
    """What `dispatch_change` achieved: each notice's delivery receipt, and the portal's (what
    `db.rebuild` restores from the history)."""

    deliveries: list[DeliveryReceipt]
    portal: PortalReceipt | None


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
        self._mailer = mail.MailSender(
            SmtpServer(
                host=settings.smtp_host,
                port=settings.smtp_port,
                starttls=settings.smtp_starttls,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
            )
        )
        self._webhooks = WebhookSender(settings.webhook_secret)
        self._portal = portal if portal is not None else portal_target(settings, self._webhooks)

    async def close(self) -> None:
        """Close what is kept open between sends (the SMTP connections): the worker stopping."""
        await self._mailer.close()

    # --- dispatch_change, deliver_notice ------------------------------------------------------

    @activity.defn(name="dispatch_change")
    async def dispatch_change(self, dispatch: ChangeDispatch) -> DispatchReceipt:
        """Everything one change of a dossier dispatches (v7): its notices, each to whoever has not
        got it yet, and its national-status update, at once. Raises ApplicationError
        `change_dispatch_failed` (retried) while any of them did not land, after each one's outcome
        is recorded; a retry sends only what is still missing (the delivered notices and a
        pushed update are not sent again)."""
        outcomes = await self._dispatch(dispatch.notices, dispatch.portal)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, ApplicationError):
                raise outcome  # not a delivery's own failure: as the single activities did
        failures = [o for o in outcomes if isinstance(o, ApplicationError)]
        if failures:
            raise ApplicationError(
                "; ".join(str(f) for f in failures),
                type="change_dispatch_failed",
                # a notice missing from the outbox is a bug no retry mends
                non_retryable=all(f.non_retryable for f in failures),
            )
        return DispatchReceipt(
            deliveries=[o for o in outcomes if isinstance(o, DeliveryReceipt)],
            portal=next((o for o in outcomes if isinstance(o, PortalReceipt)), None),
        )

    @activity.defn(name="deliver_notice")
    async def deliver_notice(self, key: str) -> DeliveryReceipt:
        """Send the outbox's notice `key` to whoever has not got it yet (module docstring); one
        activity per notice in runs from before v7. Raises ApplicationError
        `notice_delivery_failed` (retried) while a recipient could not be reached, and
        `notice_not_found` (not retried) when no notice has that key."""
        [outcome] = await self._dispatch([key], None)
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, DeliveryReceipt)
        return outcome

    async def _dispatch(
        self, keys: list[str], update: PortalUpdate | None
    ) -> list[DeliveryReceipt | PortalReceipt | BaseException]:
        """Send notices `keys` and the national-status `update`, each to whoever has not got it
        yet; by notice in the order of `keys`, then the update's, a receipt or what its single
        activity raises. Two transactions whatever their number, each a few statements: one
        reads what to send and records the update, one records every outcome once all sends
        are done (a worker dying between the two sends them again on the retry, under the same
        delivery ids, as a worker dying between a send and its record always did)."""
        unique = list(dict.fromkeys(keys))
        async with write_transaction(self._sessions) as session:
            found = await outbound(session, unique)
            row = await record_portal_update(session, update) if update is not None else None
        outcomes: dict[str, DeliveryReceipt | BaseException] = {}
        attempts: list[DeliveryAttempt] = []  # their `errors` filled in once sent
        sends: list[Awaitable[object]] = []
        for key in unique:
            if key not in found:
                # The workflow records a notice before asking for its delivery: a missing one is
                # a bug, which no retry mends.
                outcomes[key] = ApplicationError(
                    f"no notice has key {key!r}", type="notice_not_found", non_retryable=True
                )
                continue
            record, addressed, reached = found[key].record, found[key].addressed, found[key].reached
            if record.delivery_status == DeliveryStatus.DELIVERED.value:
                log.info("notice_already_delivered", key=key, dossier=record.dossier)
                outcomes[key] = delivery_receipt(record, sent=[])
                continue
            notice = Notice.model_validate(record, from_attributes=True)
            ids = delivery_ids(key, addressed)
            todo = [r for r in addressed if r.channel is not None and r.code not in reached]
            attempts.append(DeliveryAttempt(key, addressed, reached, ids, {}))
            sends.append(self._send(notice, addressed, todo, ids))
        stored = None
        if row is not None and row.status != PortalStatus.PUSHED.value:
            stored = PortalUpdate.model_validate(row, from_attributes=True)
            sends.append(self._push_to_portal(stored))
        sent = await asyncio.gather(*sends, return_exceptions=True)
        done = []
        for attempt, errors in zip(attempts, sent[: len(attempts)], strict=True):
            if isinstance(errors, BaseException):
                outcomes[attempt.key] = errors  # not recorded, as the single activity did
            else:
                assert isinstance(errors, dict)
                attempt.errors.update(errors)
                done.append(attempt)
        pushed = sent[-1] if stored is not None else None
        if done or isinstance(pushed, PortalPush):
            async with write_transaction(self._sessions) as session:
                records = await record_deliveries(session, done) if done else {}
                if isinstance(pushed, PortalPush):
                    assert stored is not None
                    row = await record_portal_outcome(session, stored, pushed.status, pushed.error)
            for attempt in done:
                outcomes[attempt.key] = _delivered(records[attempt.key], attempt)
        answer: list[DeliveryReceipt | PortalReceipt | BaseException] = [
            outcomes[key] for key in keys
        ]
        if row is not None:
            answer.append(_pushed(row, stored, pushed))
        return answer

    async def _push_to_portal(self, update: PortalUpdate) -> PortalPush:
        """Push `update` to the portal target: how it ended, to be recorded (a failure before
        Temporal retries the activity)."""
        try:
            pushed = await self._portal.push(update)
        except Exception as error:
            # Any target's failure.
            reason = str(error) if isinstance(error, WebhookFailed) else repr(error)
            return PortalPush(PortalStatus.FAILED_ATTEMPT, reason, error)
        return PortalPush(PortalStatus.PUSHED if pushed else PortalStatus.NOT_CONFIGURED)

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
            to=[_mailbox(r) for r in on_mail if r.role == "to"],
            cc=[_mailbox(r) for r in on_mail if r.role == "cc"],
            delivery_id=delivery_id,
            mail_from=self._mail_from,
        )
        envelope = list(dict.fromkeys(r.address for r in todo if r.address))
        try:
            refused = await self._mailer.send(message, self._mail_from, envelope)
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
        the portal target unless it was pushed already; one activity per update in runs from
        before v7. Raises ApplicationError `portal_push_failed` (retried) when the target could
        not take it."""
        [outcome] = await self._dispatch([], update)
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, PortalReceipt)
        return outcome


def _delivered(
    record: NoticeRecord, attempt: DeliveryAttempt
) -> DeliveryReceipt | ApplicationError:
    """The notice's receipt after `attempt` was recorded as `record`, or the ApplicationError
    that has Temporal retry it (`notice_delivery_failed`) while a recipient is still to be
    reached; logged either way."""
    sent = sorted({attempt.ids[code] for code, error in attempt.errors.items() if error is None})
    event = {
        "key": attempt.key,
        "dossier": record.dossier,
        "kind": record.kind,
        "status": record.delivery_status,
        "channel": record.delivery_channel,
        "sent": sent,
        "attempt": activity.info().attempt,
    }
    if record.delivery_status == DeliveryStatus.FAILED_ATTEMPT.value:
        log.warning("notice_delivery_failed", error=record.delivery_error, **event)
        return ApplicationError(
            f"notice {attempt.key}: not delivered to every recipient: {record.delivery_error}",
            type="notice_delivery_failed",
        )
    log.info(
        "notice_delivered"
        if record.delivery_status == DeliveryStatus.DELIVERED.value
        else "notice_without_channel",
        problems=record.delivery_error,
        **event,
    )
    return delivery_receipt(record, sent=sent)


@dataclass(frozen=True)
class PortalPush:
    """How a push to the portal target ended: the status to record, and why it failed."""

    status: PortalStatus
    error: str | None = None
    failure: Exception | None = None


def _pushed(
    row: PortalUpdateRecord, stored: PortalUpdate | None, pushed: object
) -> PortalReceipt | BaseException:
    """The update's receipt once `row` is recorded, or what has Temporal retry it: the
    ApplicationError `portal_push_failed`, or the exception of a push that never ended (not
    recorded). `stored`: the update pushed now (None: pushed before)."""
    if stored is None:
        return portal_receipt(row)
    if not isinstance(pushed, PortalPush):
        assert isinstance(pushed, BaseException)
        return pushed
    event = {
        "dossier": stored.dossier,
        "seq": stored.seq,
        "code": stored.code,
        "attempt": activity.info().attempt,
    }
    if pushed.status is PortalStatus.FAILED_ATTEMPT:
        log.warning("national_status_push_failed", error=pushed.error, **event)
        failure = ApplicationError(
            f"national status {stored.delivery_id}: {pushed.error}", type="portal_push_failed"
        )
        failure.__cause__ = pushed.failure
        return failure
    pushed_now = pushed.status is PortalStatus.PUSHED
    log.info("national_status_pushed" if pushed_now else "national_status_recorded", **event)
    return portal_receipt(row)


def _mailbox(recipient: Recipient) -> Mailbox:
    assert recipient.address is not None
    return Mailbox(recipient.name, recipient.address)
