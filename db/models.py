"""Tables of motcua's database, all in the one `SQLModel.metadata` that Alembic compares against.

Every table of the service belongs in this module (the read model of dossiers, consultations,
events, agencies and procedures joins the notice outbox here), so that importing it registers the
complete schema.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Index, String, Text, false, func, text
from sqlalchemy import true as sa_true
from sqlalchemy.types import TypeEngine
from sqlmodel import Field, SQLModel

from db.types import JSONList, UTCDateTime

# A JSON object (an applicant, an event's detail): the same JSON / JSONB type as `JSONList`,
# named for what it holds. JSONB on PostgreSQL lets reports search it (`detail->>'code'`).
JSONObject: TypeEngine[Any] = JSONList

# Named constraints and indexes: Alembic can only alter or drop what has a name, and SQLite's
# batch mode must recreate them under the same name. Set before any table is declared.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class NoticeRecord(SQLModel, table=True):
    """A notice written to the outbox: one row per business `key`, whatever the retries (R3, R12).

    Fields are those of `domain.notices.Notice`, plus the row's `id` (the order notices were
    recorded in, and the pagination cursor), `recorded_at` (the database's clock) and how its
    delivery went (`delivery_*`, written by `activities.delivery`).
    """

    __tablename__ = "notices"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: str = Field(index=True)
    dossier: str = Field(index=True)
    # `TO` is reserved in SQL: the column is `recipient`, the attribute and API field `to`.
    to: str = Field(sa_column=Column("recipient", String, key="to", nullable=False, index=True))
    cc: list[str] = Field(default_factory=list, sa_type=JSONList)
    sent_at: datetime = Field(sa_type=UTCDateTime)
    subject: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    recorded_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        sa_column_kwargs={"server_default": func.current_timestamp()},
        nullable=False,
    )
    # Its delivery to people (activities.delivery), summed up over its recipients (the detail,
    # one row per recipient, is in `notice_deliveries`): pending | failed_attempt (retrying) |
    # delivered | no_channel (nobody it names has an e-mail address or a webhook).
    # The dossier's version the settlement that wrote it was at (v8): a reset of the read model
    # after a lost workflow task removes the undelivered notices beyond what its workflow holds.
    settlement_version: int | None = None
    delivery_status: str = Field(
        default="pending",
        index=True,
        sa_column_kwargs={"server_default": text("'pending'")},
    )
    delivery_channel: str | None = None  # the channels used: email, webhook or email+webhook
    delivery_attempts: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivery_error: str | None = Field(default=None, sa_type=Text)  # the last attempt's


class NoticeDeliveryRecord(SQLModel, table=True):
    """How a notice reached one of its recipients (its `to` or one agency of its `cc`).

    `delivery_id` is what the receiver de-duplicates on, the same across retries: the notice's
    key for the `to` recipient and for the e-mail that carries it, `<key>#cc:<agency>` for a
    copy sent to an agency's webhook, `<key>#cc` for an e-mail that carries copies only.
    Recipients on one e-mail share its delivery id.
    """

    __tablename__ = "notice_deliveries"

    notice_key: str = Field(primary_key=True, foreign_key="notices.key")
    recipient: str = Field(primary_key=True)  # an agency code, or "applicant"
    role: str  # to | cc
    delivery_id: str
    channel: str | None = None  # email | webhook; None: no channel (status no_channel)
    address: str | None = Field(default=None, sa_type=Text)  # the e-mail address or the URL
    status: str  # pending | failed_attempt | delivered | no_channel
    attempts: int = 0
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_type=Text)


class PortalUpdateRecord(SQLModel, table=True):
    """A change of a dossier's national status (`domain.national_status.PortalUpdate`) and its
    push to the national portal: recorded once per (dossier, seq), pushed once.

    `status`: pending | failed_attempt (retrying) | pushed | not_configured (no portal target:
    recorded only; pushed if the update comes again once a target is configured).
    """

    __tablename__ = "portal_updates"

    dossier: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    code: int
    label: str = Field(sa_type=Text)
    at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(index=True)
    attempts: int = 0
    pushed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_type=Text)


# --- the catalogue ------------------------------------------------------------------------------


class AgencyRecord(SQLModel, table=True):
    """An agency of the catalogue (`domain.catalogue.Agency`), seeded from `data/catalogue.toml`
    and edited by admins. Never deleted: dossiers, tokens and reports name agencies by code."""

    __tablename__ = "agencies"

    code: str = Field(primary_key=True)
    name: str = Field(sa_type=Text)
    kind: str
    # The prefix of the agency's dossier codes: two agencies with one prefix would hand out the
    # same code on the same day.
    unit_id: str = Field(unique=True)
    email: str | None = None  # where its notices go when it has no webhook
    webhook_url: str | None = Field(default=None, sa_type=Text)
    one_stop_desk: str | None = Field(default=None, sa_type=Text)
    # False for an agency that no longer exists (the districts, from 1 July 2025): kept for the
    # dossiers that name it, refused for new ones (migration 0009).
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})
    inactive_since: str | None = None  # ISO date
    inactive_by: str | None = Field(default=None, sa_type=Text)


class ProcedureRecord(SQLModel, table=True):
    """A procedure of the catalogue (`domain.dossier.Procedure`). Never deleted: dossiers keep
    its code; each keeps its own copy of the procedure as at receipt."""

    __tablename__ = "procedures"

    code: str = Field(primary_key=True)
    name: str = Field(sa_type=Text)
    lead_agency: str = Field(foreign_key="agencies.code")
    processing_days: int
    max_consultation_days: int
    required_documents: list[str] = Field(default_factory=list, sa_type=JSONList)


# --- the read model of dossiers, written by the `project_dossier` activity ------------------


class DossierRecord(SQLModel, table=True):
    """A dossier as its workflow last projected it (`domain.dossier.DossierDocument`): what the
    API lists and searches. The workflow stays the source of truth while it runs.

    `version` is the seq of the latest event the row reflects: a projection writes the row only
    if it is newer, so retried or late projections never bring an older state back.
    """

    __tablename__ = "dossiers"
    # Lists are newest first with a keyset on (received_at, code): one index serves both the
    # order and the cursor, and a filter on received_at alone. A lead agency's dossiers by
    # receipt serve its lists and reports; the reports on closed dossiers (R9, the R11
    # categories) take a period of closing times.
    __table_args__ = (
        Index("ix_dossiers_received_at_code", "received_at", "code"),
        Index("ix_dossiers_lead_agency_received_at", "lead_agency", "received_at"),
        Index("ix_dossiers_closed_at", "closed_at"),
        # A desk's dossiers by receipt: its "received here" list and the reports by desk.
        Index("ix_dossiers_receiving_desk_received_at", "receiving_desk", "received_at"),
        # The officers' inbox (`db.inbox`): an agency's open dossiers due first, keyset on
        # (due_at, code); the same for evaluators reading every agency; the withdrawals that
        # wait for a head (R6). Partial: closed dossiers, the great majority, are not in them.
        Index(
            "ix_dossiers_open_lead_agency_due_at",
            "lead_agency",
            "due_at",
            "code",
            "late",  # so that the counts of the groups read the index alone
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
        Index(
            "ix_dossiers_open_due_at",
            "due_at",
            "code",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
        Index(
            "ix_dossiers_pending_withdrawal_lead_agency",
            "lead_agency",
            postgresql_where=text("withdrawal = 'pending_confirmation'"),
            sqlite_where=text("withdrawal = 'pending_confirmation'"),
        ),
    )

    code: str = Field(primary_key=True)
    procedure_code: str
    procedure_name: str = Field(sa_type=Text)
    lead_agency: str
    # The one-stop desk that received it (Decree 118/2025), the lead agency when it did itself:
    # every projection writes it, migration 0010 filled the rows before it.
    receiving_desk: str | None = None
    applicant: dict[str, Any] = Field(sa_type=JSONObject)  # name, phone, email, id_number, address
    # The applicant's phone without spaces, for the citizens' look-up (`find_for_public`).
    applicant_phone: str | None = Field(default=None, index=True)
    # The applicant's name folded for the inbox's search (`read_model.search_key`: lower case,
    # no diacritics), since SQLite's lower() folds ASCII only.
    applicant_search: str | None = Field(default=None, sa_type=Text)
    status: str = Field(index=True)
    national_status: int  # the code on the national portal's list (domain.national_status)
    received_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late: bool = False
    withdrawal: str | None = None  # pending_confirmation | confirmed
    abnormal_close: str | None = None  # R5: how it was ended from outside the rules
    version: int
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # The names of those who acted on it, by user id (DossierDocument.people), for the forms.
    people: dict[str, str] = Field(
        default_factory=dict, sa_type=JSONObject, sa_column_kwargs={"server_default": "{}"}
    )
    # What the report totals (`db.report_totals`) have taken of it: its closing (once closed),
    # and its events up to this seq.
    counted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    events_counted: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    # The time of the workflow task whose write the row last took (`db.settlement`, v8): a
    # write from an older task, one the server never had, is refused. None: written unfenced.
    fence: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConsultationRecord(SQLModel, table=True):
    """A consultation of a dossier (`domain.dossier.ConsultationView`), by its number.

    `status` is as of the latest projection: `overdue` shows once a projection after the
    deadline (reminder 1 is one) has been written. The reminders are kept as a list for the
    document and flattened into `reminder_1_at` / `reminder_2_at` for the reports (R3, R8).
    """

    __tablename__ = "consultations"
    # The delay report (R8) takes a period of requests, per agency or for all of them; its
    # live part, only the consultations not yet in the totals (those still open).
    __table_args__ = (
        Index("ix_consultations_agency_requested_at", "agency", "requested_at"),
        Index("ix_consultations_requested_at", "requested_at"),
        # The consulted agency's inbox (`db.inbox`): its awaited consultations, overdue first.
        Index(
            "ix_consultations_awaited_agency_deadline",
            "agency",
            "deadline",
            "dossier",
            "number",
            postgresql_where=text("status IN ('awaiting', 'overdue')"),
            sqlite_where=text("status IN ('awaiting', 'overdue')"),
        ),
        Index(
            "ix_consultations_uncounted_requested_at",
            "requested_at",
            postgresql_where=text("NOT counted"),
            sqlite_where=text("NOT counted"),
        ),
    )

    dossier: str = Field(primary_key=True, foreign_key="dossiers.code")
    number: int = Field(primary_key=True)
    agency: str
    content: str = Field(sa_type=Text)
    deadline: datetime = Field(sa_type=UTCDateTime)
    status: str
    requested_at: datetime = Field(sa_type=UTCDateTime)
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opinion: str | None = Field(default=None, sa_type=Text)
    late_reason: str | None = Field(default=None, sa_type=Text)
    reminders: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONList)
    reminder_1_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminder_2_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Whether the report totals have taken it: once answered or cancelled (final), never again.
    counted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class EventRecord(SQLModel, table=True):
    """One line of a dossier's timeline (`domain.dossier.Event`, R12), by its seq: written once,
    never changed, so a retried projection cannot duplicate it."""

    __tablename__ = "events"
    # The audit reports (R9, R13) take one kind of event over a period.
    __table_args__ = (Index("ix_events_kind_at", "kind", "at"),)

    dossier: str = Field(primary_key=True, foreign_key="dossiers.code")
    seq: int = Field(primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    kind: str
    actor: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONObject)


# --- the working-day calendar of the reports ----------------------------------------------------


class CalendarDayRecord(SQLModel, table=True):
    """One local day of the working-day calendar (R11), for counting working days in SQL.

    `working_index` is the number of working days from a fixed origin up to and including
    `day`, so the working days d with a < d <= b number `index(b) - index(a)`: the delay between
    two instants is one subtraction of two looked-up rows, the same count as
    `domain.calendar.WorkingCalendar.working_days_between`. Written by `db.calendar_days` from
    the calendar the worker uses (holidays.VN and the province's overrides).
    """

    __tablename__ = "calendar_days"

    day: date = Field(primary_key=True)
    working: bool
    working_index: int


# --- the report totals (db.report_totals) ---------------------------------------------------------


class ConsultationTotal(SQLModel, table=True):
    """The final consultations (answered or cancelled) of one consulted agency requested on one
    local day, summed for the delay report (R8); the open ones are counted live."""

    __tablename__ = "consultation_totals"

    agency: str = Field(primary_key=True)
    day: date = Field(primary_key=True)
    consultations: int = 0
    answered_on_time: int = 0
    answered_late: int = 0
    cancelled: int = 0
    reminders_1: int = 0
    reminders_2: int = 0
    delay_working_days_total: int = 0  # of the late answers
    delay_working_days_max: int = 0
    late_without_cause: int = 0


class ClosedDossierTotal(SQLModel, table=True):
    """The dossiers of one lead agency and procedure, received at one desk, closed on one local
    day, in the R11 categories (early / on time / late) and the audit's counts of closes against
    the rules (R5, R6). `receiving_desk` is the lead agency for those it received itself
    (migration 0010); the reports by lead agency add up every desk's rows."""

    __tablename__ = "closed_dossier_totals"

    lead_agency: str = Field(primary_key=True)
    receiving_desk: str = Field(primary_key=True)
    procedure_code: str = Field(primary_key=True)
    day: date = Field(primary_key=True)
    procedure_name: str = Field(sa_type=Text)
    closed: int = 0
    completed: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    stopped: int = 0
    supplemented: int = 0
    returned: int = 0
    withdrawn: int = 0
    abnormal: int = 0
    apologised: int = 0
    without_result: int = 0  # completed without a `result` event (R5)
    withdrawn_unconfirmed: int = 0  # withdrawn without `withdrawal_confirmed` (R6)


class SosTotal(SQLModel, table=True):
    """SOS actions of one agency and kind on one local day (R9): accepted (events of the
    dossiers it leads) and refused (attempts by its staff; `?` where the refusal names none)."""

    __tablename__ = "sos_totals"

    agency: str = Field(primary_key=True)
    action: str = Field(primary_key=True)
    day: date = Field(primary_key=True)
    accepted: int = 0
    rejected: int = 0


# --- what the API keeps for itself ---------------------------------------------------------


class DossierCodeCounter(SQLModel, table=True):
    """The last sequence number handed out per receiving unit and local day (`db.dossier_codes`:
    Circular 03/2025/TT-VPCP, docs/legal-frame.md)."""

    __tablename__ = "dossier_code_counters"

    unit_id: str = Field(primary_key=True)
    day: str = Field(primary_key=True, max_length=6)  # YYMMDD in Vietnam's local time
    last: int


class IdempotencyRecord(SQLModel, table=True):
    """An `Idempotency-Key` of one user: on `POST /dossiers`, the dossier it created, so that a
    retried request returns that dossier instead of receiving a second one; on an action, the
    key as `<code>/<action>/<key>`. `fingerprint` is the request's (`db.idempotency`): the key
    stands for that request only (None: claimed before revision 0006)."""

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    dossier: str
    fingerprint: str | None = None
    created_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        sa_column_kwargs={"server_default": func.current_timestamp()},
        nullable=False,
    )


# --- what ops staff watch -------------------------------------------------------------------


class SweepRunRecord(SQLModel, table=True):
    """The last run of a periodic sweep (the ended-runs sweep, R5): when it finished and what it
    did, so that a sweep that stopped running is seen (`db.ops_figures`, an alert)."""

    __tablename__ = "sweep_runs"

    name: str = Field(primary_key=True)
    finished_at: datetime = Field(sa_type=UTCDateTime)
    listed: int  # the ended runs it read from Temporal's visibility
    closed: int  # the dossiers it closed in the read model
