"""DossierWorkflow: one administrative-procedure dossier, from receipt to its close, enforcing
letter 448/UBND-HCC by itself.

The workflow orchestrates; it decides nothing. `domain.rules` says whether an action is accepted,
`domain.dossier` applies it, activities touch the world (the calendar, the notice outbox). Timers
run the reminder ladder per consultation (R3) and the dossier's own clock (R13).

Why a refused action is an *accepted* update that then fails: Temporal keeps no trace of an
update its validator rejects, and the audit must keep every refused SOS, result or handover (R9,
R12). So validators only turn away what cannot be held to account (no actor) or can no longer be
recorded (a closed dossier); every other refusal is decided in the handler, written to the
dossier's events, and returned to the caller as an `ApplicationError` whose `type` is the refusal
code. The history holds the attempt too (update accepted, then completed with that failure).
Validators also turn away a command past its `not_after`: the API has told its sender that
nothing was changed, and that must stay true.

What reaches the workflow from outside the API (a signal from the CLI, an update of another
client) is read with the same command models and limits; what cannot be read is recorded as a
refused attempt, bounded, never dropped, and a read-model write the database refuses is recorded
and retried, never allowed to freeze the dossier (issue 8).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.delivery import ChangeDispatch, DeliveryActivities
    from activities.notices import NoticeActivities
    from activities.planning import PlanningActivities, PlanRequest
    from activities.settlement import LOCAL_WRITE_BOUND, SettlementActivities, SettlementReceipt
    from domain import rules
    from domain.actions import ACTIONS, Fact
    from domain.clock import ClockLedger, ClockReading
    from domain.commands import (
        SYSTEM,
        Action,
        ApologyRequest,
        Command,
        ConsultationRequest,
        Handover,
        InvalidRequest,
        Reply,
        ResultRecord,
        ResumeRequest,
        SosRequest,
        SupplementDelivery,
        WithdrawalConfirmation,
        WithdrawalRequest,
    )
    from domain.dossier import (
        ConsultationPlan,
        DossierDocument,
        Event,
        receive,
        refused_detail,
    )
    from domain.excerpts import FIELD_KEPT, ITEMS_KEPT, clean
    from domain.limits import AS_RECORDED
    from domain.national_status import PortalUpdate, national_status, portal_update
    from domain.notices import Notice
    from domain.ops import OperatorNote, OperatorRequest, is_ops_identity
    from domain.projection import (
        READ_MODEL_REJECTED,
        ReadModelFailure,
        Settlement,
        SettlementOutcome,
        projection,
    )
    from domain.refusals import Code, Refusal, refuse
    from workflows import search_attributes as sa
    from workflows.contract import (
        ConsultationsRequested,
        DossierStart,
        WithdrawalPending,
    )
    from workflows.ops_view import current_details

WORKFLOW_NAME = "DossierWorkflow"

# Calendar look-ups are quick, pure computations: local activities, no task-queue round trip.
_CALENDAR_TIMEOUT = timedelta(seconds=10)
# Notices and the read model must land, however long the database is away: retried with
# backoff, never given up.
_OUTBOX_TIMEOUT = timedelta(seconds=30)
_OUTBOX_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))
# A fenced write inside its task (v8) answers within `LOCAL_WRITE_BOUND` (3 s; later, `late`,
# and the same write goes by an activity after the task), so that even two in one task (a
# conflict and its reset) stay under 80 % of the workflow task's 10 s timeout, past which the SDK
# completes the task with no command and goes on in a new one (a "heartbeat"; a query that came
# while the task waited for a worker does the same): a task so completed replays with the new
# task's `workflow.now()`, and `_note_written` then has the dossier written whole. The local
# activity's own timeout is only a backstop for a starved worker (a timed-out one fails replay:
# `activities.settlement`). The task timeout stays the SDK's: it is also how long a task started
# on a worker that dies waits for another, and what the API's accept window counts on (README,
# "A 503 changed nothing").
_LOCAL_SETTLE_TIMEOUT = LOCAL_WRITE_BOUND + timedelta(seconds=4)
_LOCAL_SETTLE_RETRY = RetryPolicy(maximum_attempts=1)
# Versions of the workflow's logic (workflow.patched), oldest first.
READ_MODEL_PATCH = "read-model-projection"
DELIVERY_PATCH = "notice-delivery"  # v3: notices sent by e-mail/webhook, national status pushed
APOLOGY_WORKING_DAY = "apology-working-day"  # v5: an apology's new date must be a working day
# v6 (issue 8): refused attempts kept bounded and repeats counted; every signal's input read by
# the workflow itself (an unreadable one recorded as refused), ops staff under an identity of
# their own; a read-model write the database refuses no longer retried forever; continue-as-new
# before the server's limit of updates per run.
BOUNDED_REFUSALS = "bounded-refusals"
SIGNAL_ACCOUNTING = "signal-accounting"
READ_MODEL_FAILURE = "read-model-failure"
UPDATES_PER_RUN = "updates-per-run"
# ... and the read model written only with what the history holds: each change's write is an
# activity, which runs once the workflow task that made the change is complete.
SETTLE_AFTER_COMMIT = "settle-after-commit"
# v7 (issue 12): one marker for all of the above. A new run records this one patch instead of
# each of them (a marker and a `TemporalChangeVersion` upsert each: 8 history events per
# lifecycle); runs from before v7 find no such marker and ask each patch as they always did
# (`_since`). Also v7: the notices and the portal update of one change dispatched by one activity.
LEAN_HISTORY = "lean-history"
_PATCHES_OF_LEAN_HISTORY = frozenset(
    {
        READ_MODEL_PATCH,
        DELIVERY_PATCH,
        APOLOGY_WORKING_DAY,
        BOUNDED_REFUSALS,
        SIGNAL_ACCOUNTING,
        READ_MODEL_FAILURE,
        UPDATES_PER_RUN,
        SETTLE_AFTER_COMMIT,
        LEAN_HISTORY,
    }
)
# v8 (issue 12): a change's read-model write inside the workflow task that made it again (a
# local activity: one workflow task and one marker per action instead of two tasks and an
# activity), fenced by the task's time so that a task lost and done again cannot leave in the
# read model what never happened (`domain.projection.Settlement`, `db.settlement`). Like
# `LEAN_HISTORY` before it, its marker stands in a new run for every patch before it.
FENCED_SETTLE = "fenced-settle"
# Each marker stands, in a run that has it, for the patches listed with it (newest first).
_LEAN_MARKERS = (
    (FENCED_SETTLE, _PATCHES_OF_LEAN_HISTORY | {FENCED_SETTLE}),
    (LEAN_HISTORY, _PATCHES_OF_LEAN_HISTORY),
)
# The server refuses updates past 2,000 in one run (history.maxTotalUpdates): continue as new
# well before, leaving room for those in flight while the run winds down.
_UPDATES_BEFORE_CONTINUING = 1000
# A read-model write the database refused is tried again now and then by itself (or at once on
# `retry_read_model`): a fix of the cause (a constraint dropped, a column widened) is picked up.
_READ_MODEL_RETRY_EVERY = timedelta(minutes=10)
# Sending to people and to the portal: retried with backoff until it lands, however long.
_SEND_TIMEOUT = timedelta(minutes=1)
_SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(hours=1),
)


class _Timed(Protocol):
    at: datetime


T = TypeVar("T", bound=_Timed)


@workflow.defn(name=WORKFLOW_NAME)
class DossierWorkflow:
    @workflow.init
    def __init__(self, start: DossierStart) -> None:
        self._dossier = start.carried or receive(
            code=start.code,
            procedure=start.procedure,
            applicant=start.applicant,
            home_affairs_agency=start.home_affairs_agency,
            received_at=start.received_at,
            received_by=start.received_by,
            receiving_desk=start.receiving_desk,
        )
        self._start = start
        # Handlers await activities; the lock keeps one action's decide-and-apply whole.
        self._lock = asyncio.Lock()
        # Fenced writes one at a time (v8): each knows what the one before it wrote.
        self._writing = asyncio.Lock()
        # v8: the read model holds other times than this run's replayed events (`_note_written`):
        # the next write done live sends the whole dossier.
        self._times_apart = False
        self._in_flight = 0  # notices and projections being written; the run waits for them
        self._projected = start.projected_through
        self._portal_status = start.portal_status
        self._background: set[asyncio.Task[None]] = set()
        self._ready = False  # received, clock read, in the read model: what `receipt` waits for
        self._chasers: dict[int, asyncio.Task[None]] = {}
        self._published: dict[str, object] = {}
        self._revised = set(start.revised)
        self._unsettled = list(start.unsettled)
        self._failure = start.read_model_failure
        self._retry_now = False
        self._repair: asyncio.Task[None] | None = None
        self._updates = 0  # updates handled by this run

    def _since(self, patch: str) -> bool:
        """Whether this run takes the path `patch` introduced: always in a run that has a
        marker standing for it (`_LEAN_MARKERS`: a v8 run has `FENCED_SETTLE` alone, a v7 run
        `LEAN_HISTORY`); in an older run, as that patch's own marker says. The SDK memoises each
        answer for the run, and every run asks in its first workflow task (`run`), so a run
        from before v8 answers False to `FENCED_SETTLE` for good while replaying it, and keeps
        its own path to its end (a v7 run does not switch to fenced writes half-way). A later
        patch joins the newest marker's list only with a marker of its own."""
        for marker, stands_for in _LEAN_MARKERS:
            if patch in stands_for and workflow.patched(marker):
                return True
        return workflow.patched(patch)

    # --- the run: the clock, the chasers, and the end ------------------------------------------

    @workflow.run
    async def run(self, start: DossierStart) -> DossierDocument:
        d = self._dossier
        clock: asyncio.Task[None] | None = None
        counts_updates = self._since(UPDATES_PER_RUN)
        try:
            async with self._lock:
                await self._clock_read()
                self._publish()
            await self._settle([])
            self._ready = True
            for c in d.awaiting():
                self._chase(c.number)
            clock = asyncio.create_task(self._watch_clock())
            await workflow.wait_condition(
                lambda: (
                    d.is_final
                    or workflow.info().is_continue_as_new_suggested()
                    or (counts_updates and self._updates >= _UPDATES_BEFORE_CONTINUING)
                )
            )
        except asyncio.CancelledError:
            # R5: an operator cancelled the dossier's workflow; say so, then end as cancelled.
            d.close_abnormally("cancelled", workflow.now())
            self._publish()
            await self._settle([])
            raise
        await workflow.wait_condition(
            lambda: (
                workflow.all_handlers_finished()
                and self._in_flight == 0
                # a closed dossier's run ends once the read model has it (v6)
                and not (d.is_final and self._failure is not None)
            )
        )
        clock.cancel()
        if self._repair is not None:
            self._repair.cancel()
        if not d.is_final:
            workflow.continue_as_new(
                self._start.model_copy(
                    update={
                        "carried": d,
                        "projected_through": self._projected,
                        "portal_status": self._portal_status,
                        "revised": sorted(self._revised),
                        "unsettled": self._unsettled,
                        "read_model_failure": self._failure,
                    }
                )
            )
        return d.document(workflow.now())

    async def _clock_read(self) -> None:
        """The first reading of a new dossier's clock. Handlers call it too: on the first
        workflow task the SDK runs update handlers before `run`."""
        d = self._dossier
        if d.reading is None:
            d.record_clock(await self._read_clock(d.clock), workflow.now(), "received")

    async def _watch_clock(self) -> None:
        """R13: the apology-due notice a working day before the due date, lateness at it."""
        d = self._dossier
        while not d.is_final:
            alarm = await self._alarm(d.next_clock_alarm, lambda a: f"{a.kind} {a.at:%Y-%m-%d}")
            if alarm is None:
                await workflow.wait_condition(
                    lambda: d.next_clock_alarm() is not None or d.is_final
                )
                continue
            async with self._lock:
                if d.next_clock_alarm() != alarm:
                    continue
                sent = d.fire_clock_alarm(alarm, workflow.now())
                self._publish()
            await self._settle(sent)

    def _chase(self, number: int) -> None:
        if number not in self._chasers:
            self._chasers[number] = asyncio.create_task(self._chase_replies(number))

    async def _chase_replies(self, number: int) -> None:
        """R3: reminder 1 at the deadline, reminder 2 after the grace (Home Affairs in copy),
        none once answered or cancelled. One durable timer per consultation at a time."""
        d = self._dossier
        consultation = d.consultation(number)
        while True:
            due = await self._alarm(
                consultation.next_reminder,
                lambda r: f"reminder {r.level} to {consultation.agency}",
            )
            if due is None:
                return
            async with self._lock:
                if consultation.next_reminder() != due:
                    continue
                sent = d.issue_reminder(number, due.level, workflow.now())
                self._publish()
            await self._settle(sent)

    async def _alarm(
        self, next_alarm: Callable[[], T | None], label: Callable[[T], str]
    ) -> T | None:
        """Sleeps on a durable timer until the alarm `next_alarm()` names is due, and returns it;
        re-arms when that alarm changes; returns None as soon as there is none."""
        while True:
            alarm = next_alarm()
            if alarm is None:
                return None
            remaining = (alarm.at - workflow.now()).total_seconds()
            if remaining <= 0:
                return alarm
            try:
                await workflow.wait_condition(
                    lambda armed=alarm: next_alarm() != armed,  # type: ignore[misc]
                    timeout=remaining,
                    timeout_summary=label(alarm),
                )
            except TimeoutError:
                return alarm

    # --- updates: one per action, each refused with the code of domain.rules ------------------

    @workflow.update(
        description="The dossier as received, once its clock is read: what its creator gets "
        "back (update-with-start), so that what follows sees the due date."
    )
    async def receipt(self) -> DossierDocument:
        await workflow.wait_condition(lambda: self._ready)
        return self._dossier.document(workflow.now())

    @workflow.update(
        description="Ask agencies for their opinion, with content and deadline (R1, R2)."
    )
    async def request_consultation(self, cmd: ConsultationRequest) -> ConsultationsRequested:
        await self._act(Action.CONSULT, cmd)
        # While a consultation is open its agency gets no other, so the latest is the new one.
        d = self._dossier
        numbers = {d.latest_consultation(a).number for a in cmd.agencies}  # type: ignore[union-attr]
        views = d.document(workflow.now()).consultations
        return ConsultationsRequested(consultations=[v for v in views if v.number in numbers])

    @request_consultation.validator
    def _admit_consultation(self, cmd: ConsultationRequest) -> None:
        self._admit(cmd)

    @workflow.update(
        description="A consulted agency answers; after the deadline with a cause (R7)."
    )
    async def reply(self, cmd: Reply) -> DossierDocument:
        await self._act(Action.REPLY, cmd)
        return self._dossier.document(workflow.now())

    @reply.validator
    def _admit_reply(self, cmd: Reply) -> None:
        self._admit(cmd)

    @workflow.update(
        description="SOS: supplement, stop or return; refused while opinions are awaited (R4)."
    )
    async def sos(self, cmd: SosRequest) -> DossierDocument:
        await self._act(Action.SOS, cmd)
        return self._dossier.document(workflow.now())

    @sos.validator
    def _admit_sos(self, cmd: SosRequest) -> None:
        self._admit(cmd)

    @workflow.update(
        description="The complete dossier is back; the clock restarts from zero (R11)."
    )
    async def supplement(self, cmd: SupplementDelivery) -> DossierDocument:
        await self._act(Action.SUPPLEMENT, cmd)
        return self._dossier.document(workflow.now())

    @supplement.validator
    def _admit_supplement(self, cmd: SupplementDelivery) -> None:
        self._admit(cmd)

    @workflow.update(
        description="Resume a stopped dossier; the due date moves by the days stopped (R11)."
    )
    async def resume(self, cmd: ResumeRequest) -> DossierDocument:
        await self._act(Action.RESUME, cmd)
        return self._dossier.document(workflow.now())

    @resume.validator
    def _admit_resume(self, cmd: ResumeRequest) -> None:
        self._admit(cmd)

    @workflow.update(
        description="Apology with a new due date (form 04), once, a working day ahead (R13)."
    )
    async def apology(self, cmd: ApologyRequest) -> DossierDocument:
        await self._act(Action.APOLOGY, cmd)
        return self._dossier.document(workflow.now())

    @apology.validator
    def _admit_apology(self, cmd: ApologyRequest) -> None:
        self._admit(cmd)

    @workflow.update(
        description="Record the applicant's withdrawal; pending the head's confirmation (R6)."
    )
    async def request_withdrawal(self, cmd: WithdrawalRequest) -> WithdrawalPending:
        await self._act(Action.WITHDRAWAL, cmd)
        return WithdrawalPending()

    @request_withdrawal.validator
    def _admit_withdrawal(self, cmd: WithdrawalRequest) -> None:
        self._admit(cmd)

    @workflow.update(description="The lead agency's head confirms the withdrawal, signed (R6).")
    async def confirm_withdrawal(self, cmd: WithdrawalConfirmation) -> DossierDocument:
        await self._act(Action.CONFIRM_WITHDRAWAL, cmd)
        return self._dossier.document(workflow.now())

    @confirm_withdrawal.validator
    def _admit_confirmation(self, cmd: WithdrawalConfirmation) -> None:
        self._admit(cmd)

    @workflow.update(description="Record the result; refused while opinions are awaited (R5).")
    async def record_result(self, cmd: ResultRecord) -> DossierDocument:
        await self._act(Action.RESULT, cmd)
        return self._dossier.document(workflow.now())

    @record_result.validator
    def _admit_result(self, cmd: ResultRecord) -> None:
        self._admit(cmd)

    @workflow.update(description="Hand the result over; the dossier is completed (R5).")
    async def hand_over(self, cmd: Handover) -> DossierDocument:
        await self._act(Action.HANDOVER, cmd)
        return self._dossier.document(workflow.now())

    @hand_over.validator
    def _admit_handover(self, cmd: Handover) -> None:
        self._admit(cmd)

    # --- signals: for those who can only signal; a refusal is recorded, never dropped ---------

    # Each takes its input as it came (the SDK decodes it as plain JSON, whatever its count)
    # and reads it with the action's model here, so an input that does not read is refused and
    # recorded with an excerpt rather than dropped by the SDK before any handler runs (v6).

    @workflow.signal(
        description="SOS as a signal ({actor, action, reason, missing_documents}); a refusal "
        "(R4) is recorded in the events. Refused for an ops identity."
    )
    async def sos_signal(self, *inputs: Any) -> None:
        cmd = await self._officer_signal_input(Action.SOS, inputs)
        if cmd is not None:
            await self._act_on_signal(Action.SOS, cmd)

    @workflow.signal(
        description="A consulted agency's answer as a signal ({actor, agency, opinion, "
        "late_reason}); refusals are recorded. Refused for an ops identity."
    )
    async def reply_signal(self, *inputs: Any) -> None:
        cmd = await self._officer_signal_input(Action.REPLY, inputs)
        if cmd is not None:
            await self._act_on_signal(Action.REPLY, cmd)

    @workflow.signal(
        description="An action the API could not read (malformed JSON or body): recorded as "
        "refused (R9, R12); nothing else changes. Sent by the API, with its caller as actor."
    )
    async def invalid_request_signal(self, *inputs: Any) -> None:
        request = await self._signal_input("invalid_request", inputs, InvalidRequest)
        if request is None:
            return
        async with self._lock:
            self._dossier.record_invalid_request(
                request, workflow.now(), bounded=self._since(BOUNDED_REFUSALS)
            )
            self._publish()
        await self._settle([])

    @workflow.signal(
        description="Ops: the working-day calendar changed ({operator}, optional): recompute "
        "the due date and the second reminders of this running dossier (R11)."
    )
    async def calendar_changed(self, *inputs: Any) -> None:
        actor = SYSTEM
        if inputs:  # runs from before v6 were only ever sent none
            ops = await self._signal_input("calendar_changed", inputs, OperatorRequest)
            if ops is None:
                return
            actor = ops.identity
        d = self._dossier
        async with self._lock:
            now = workflow.now()
            d.record_clock(await self._read_clock(d.clock), now, "calendar_changed", actor)
            for c in d.awaiting():
                plan = await self._plan(now, c.deadline, [])
                if plan.second_reminder_at and plan.second_reminder_at != c.second_reminder_at:
                    c.second_reminder_at = plan.second_reminder_at
            self._publish()
        await self._settle([])

    @workflow.signal(
        description="Ops: a note for the dossier's timeline ({operator, note}), by "
        "ops:<operator>; at most 50 per dossier."
    )
    async def operator_note(self, *inputs: Any) -> None:
        note = await self._signal_input("operator_note", inputs, OperatorNote)
        if note is None:
            return
        async with self._lock:
            if self._dossier.record_operator_note(note, workflow.now()) is None:
                self._refused_signal(
                    "operator_note",
                    note.identity,
                    None,
                    "operator_notes_full",
                    "Đã đủ số ghi chú của người vận hành cho hồ sơ này.",
                    note.model_dump(mode="json"),
                )
            self._publish()
        await self._settle([])

    @workflow.signal(
        description="Ops: retry now a read-model write the database refused ({operator}); "
        "it is retried every 10 minutes anyway."
    )
    async def retry_read_model(self, *inputs: Any) -> None:
        ops = await self._signal_input("retry_read_model", inputs, OperatorRequest)
        if ops is not None:
            workflow.logger.info("read-model write retried by %s", ops.identity)
            self._retry_now = True

    @workflow.signal(dynamic=True, description="Any other signal: refused and recorded.")
    async def unknown_signal(self, name: str, inputs: Sequence[RawValue]) -> None:
        if not self._since(SIGNAL_ACCOUNTING):
            return
        excerpt = [clean(bytes(i.payload.data).decode("utf-8", "replace")) for i in inputs]
        async with self._lock:
            self._refused_signal(
                clean(name, FIELD_KEPT),
                "?",
                None,
                "unknown_signal",
                "Tín hiệu không được hỗ trợ.",
                {"body": "\n".join(excerpt)},
            )
            self._publish()
        await self._settle([])

    # --- queries ----------------------------------------------------------------------------

    @workflow.query(description="The whole dossier document of API.md, events included.")
    def document(self) -> DossierDocument:
        return self._dossier.document(workflow.now())

    # --- the machinery of actions --------------------------------------------------------------

    def _admit(self, cmd: Command) -> None:
        # A validator's rejection leaves no history and validators do not run on replay: an
        # expired command is refused here, not in the handler, so that it never happened.
        refusal = rules.admission(self._dossier, cmd) or rules.expired(cmd, workflow.now())
        if refusal:
            raise _as_error(refusal)

    async def _signal_input(self, action: str, inputs: Sequence[Any], model: type[M]) -> M | None:
        """The one input of a signal as `model`; None once an input that does not read is
        recorded as refused (`validation_error`, with an excerpt of what came). Runs from
        before v6 read their inputs as the SDK did, without today's limits (`AS_RECORDED`):
        only inputs of the models of their day ever reached them, and a replay must decide as
        they did."""
        strict = self._since(SIGNAL_ACCOUNTING)
        errors: list[str]
        if len(inputs) == 1:
            try:
                return model.model_validate(inputs[0], context=None if strict else AS_RECORDED)
            except ValidationError as invalid:
                errors = [
                    clean(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}", FIELD_KEPT)
                    for e in invalid.errors()[:ITEMS_KEPT]
                ]
        else:
            errors = [f"one input expected, {len(inputs)} given"]
        if not strict:
            workflow.logger.warning("%s: unreadable signal input dropped: %s", action, errors)
            return None
        sent = inputs[0] if len(inputs) == 1 else list(inputs)
        actor = sent.get("actor") if isinstance(sent, dict) else None
        user_id, agency = "?", None
        if isinstance(actor, dict):
            user_id = str(actor.get("user_id") or "?")
            agency = actor.get("agency") if isinstance(actor.get("agency"), str) else None
        async with self._lock:
            self._refused_signal(
                action,
                user_id,
                agency,
                "validation_error",
                "Yêu cầu không hợp lệ: " + "; ".join(errors),
                {"body": clean(json.dumps(sent, ensure_ascii=False, default=str))},
                errors,
            )
            self._publish()
        await self._settle([])
        return None

    async def _officer_signal_input(self, action: Action, inputs: Sequence[Any]) -> Command | None:
        """An officer's action by signal, read as its command (domain.actions); one sent under
        an ops identity (an `operator`, or an actor `ops:…`) is refused (forbidden) and
        recorded: ops staff are not officers."""
        sent = inputs[0] if len(inputs) == 1 else None
        actor = sent.get("actor") if isinstance(sent, dict) else None
        user_id = actor.get("user_id") if isinstance(actor, dict) else None
        by_ops = isinstance(sent, dict) and (
            "operator" in sent or (isinstance(user_id, str) and is_ops_identity(user_id))
        )
        if isinstance(sent, dict) and by_ops and self._since(SIGNAL_ACCOUNTING):
            ops = f"ops:{sent['operator']}" if "operator" in sent else str(user_id)
            refusal = refuse(Code.FORBIDDEN)
            async with self._lock:
                self._refused_signal(
                    action.value,
                    ops,
                    None,
                    refusal.code.value,
                    refusal.message_vi,
                    {k: v for k, v in sent.items() if k != "actor"},
                )
                self._publish()
            await self._settle([])
            return None
        command: Command | None = await self._signal_input(
            action.value, inputs, ACTIONS[action].command
        )
        return command

    def _refused_signal(
        self,
        action: str,
        actor: str,
        agency: str | None,
        code: str,
        reason: str,
        request: Any,
        errors: list[str] | None = None,
    ) -> None:
        """Record a signal refused before any rule could be asked (under the lock)."""
        detail = refused_detail(
            action=action,
            code=code,
            actor_agency=agency,
            reason=reason,
            via="signal",
            request=request,
            errors=errors,
        )
        self._counted(self._dossier.record_refused(workflow.now(), actor, detail))

    def _counted(self, event: Event) -> None:
        """A refused attempt counted again on an event the read model already has: the next
        projection sends that event again."""
        if event.seq <= self._projected:
            self._revised.add(event.seq)

    async def _act(self, action: Action, cmd: Command) -> None:
        """Decide, then apply or record the refusal; raise the refusal for an update's caller."""
        asks = self._asks_fact(action, cmd)
        self._updates += 1
        refusal = await self._apply(action, cmd, "update", asks)
        if refusal:
            raise _as_error(refusal)

    async def _act_on_signal(self, action: Action, cmd: Command) -> None:
        """A signal cannot be turned away like an update: even what the validators would refuse
        (no actor, a closed dossier) is recorded, never silently dropped."""
        asks = self._asks_fact(action, cmd)
        refusal = rules.admission(self._dossier, cmd)
        if refusal is None:
            await self._apply(action, cmd, "signal", asks)
            return
        async with self._lock:
            self._refusal(cmd, action, refusal, "signal")
            self._publish()
        await self._settle([])

    def _refusal(self, cmd: Command, action: Action, refusal: Refusal, via: str) -> None:
        bounded = self._since(BOUNDED_REFUSALS)
        now = workflow.now()
        self._counted(self._dossier.record_refusal(cmd, action.value, refusal, now, via, bounded))

    def _asks_fact(self, action: Action, cmd: Command) -> bool:
        """Whether the fact `action` needs (domain.actions) is asked of the calendar for `cmd`.
        Decided as the handler starts, before it waits for the lock: where the apology's patch
        marker has always been recorded."""
        fact = ACTIONS[action].fact
        if fact is Fact.WORKING_DAY:
            # v5: the new date must be a working day; runs from before ask no calendar here.
            return (
                isinstance(cmd, ApologyRequest)
                and cmd.new_due_date is not None
                and self._since(APOLOGY_WORKING_DAY)
            )
        return fact is not None

    async def _fact(self, fact: Fact, cmd: Command) -> ConsultationPlan | bool:
        """The calendar's answer for `fact` about `cmd` (a local activity)."""
        if fact is Fact.PLAN:
            assert isinstance(cmd, ConsultationRequest)
            return await self._plan_consultation(cmd)
        assert isinstance(cmd, ApologyRequest) and cmd.new_due_date is not None
        return await self._is_working_day(cmd.new_due_date)

    async def _apply(self, action: Action, cmd: Command, via: str, asks: bool) -> Refusal | None:
        d = self._dossier
        rule = ACTIONS[action]
        async with self._lock:
            await self._clock_read()
            now = workflow.now()
            fact = await self._fact(rule.fact, cmd) if asks and rule.fact else None
            refusal = rule.decide(d, cmd, now, fact)
            sent: list[Notice] = []
            if refusal:
                self._refusal(cmd, action, refusal, via)
            else:
                d.note_person(cmd.actor)  # the forms print who did it by name
                sent = rule.apply(d, cmd, now, fact)
                if rule.moves_clock:
                    d.record_clock(await self._read_clock(d.clock), now, action.value)
            for c in d.awaiting():
                self._chase(c.number)
            self._publish()
        await self._settle(sent)
        return refusal

    # --- activities -----------------------------------------------------------------------------

    async def _read_clock(self, ledger: ClockLedger) -> ClockReading:
        return await workflow.execute_local_activity_method(
            PlanningActivities.read_clock,
            ledger,
            summary="read the clock",
            start_to_close_timeout=_CALENDAR_TIMEOUT,
        )

    async def _is_working_day(self, day: date) -> bool:
        return await workflow.execute_local_activity_method(
            PlanningActivities.is_working_day,
            day,
            summary="is the apology's new date a working day",
            start_to_close_timeout=_CALENDAR_TIMEOUT,
        )

    async def _plan_consultation(self, cmd: ConsultationRequest) -> ConsultationPlan:
        return await self._plan(workflow.now(), cmd.deadline, cmd.agencies)

    async def _plan(
        self, now: datetime, deadline: datetime | None, agencies: list[str]
    ) -> ConsultationPlan:
        request = PlanRequest(
            requested_at=now,
            deadline=deadline,
            max_consultation_days=self._dossier.procedure.max_consultation_days,
            agencies=agencies,
        )
        return await workflow.execute_local_activity_method(
            PlanningActivities.plan_consultation,
            request,
            summary="plan the consultation",
            start_to_close_timeout=_CALENDAR_TIMEOUT,
        )

    async def _settle(self, notices: list[Notice]) -> None:
        """After a change: write its notices and its projection to the read model. A handler
        returns only once they are durable, so what its caller reads next reflects it."""
        self._in_flight += 1
        try:
            if self._since(FENCED_SETTLE):
                async with self._writing:
                    landed = await self._write_read_model(notices)
            elif self._since(READ_MODEL_PATCH):
                landed = await self._write_read_model(notices)
            else:  # runs started before the read model existed: notices only
                await self._record_notices(notices)
                landed = notices
        finally:
            self._in_flight -= 1
        if self._since(DELIVERY_PATCH):
            self._start_deliveries(landed)

    def _start_deliveries(self, notices: list[Notice]) -> None:
        """Once the notices are in the outbox: deliver each to its people, and push a changed
        national status to the portal, in the background (a handler does not wait for mail);
        the run waits for them before it ends. One activity for all a change sends (v7), each
        activity's scheduling, start and completion being history events and a workflow task."""
        d = self._dossier
        status = national_status(d.status.value)
        update = None
        if status.code != self._portal_status:
            self._portal_status = status.code
            update = portal_update(d.code, len(d.events), d.status.value, workflow.now())
        if self._since(LEAN_HISTORY):
            if notices or update is not None:
                self._in_background(
                    workflow.execute_activity_method(
                        DeliveryActivities.dispatch_change,
                        ChangeDispatch(notices=[n.key for n in notices], portal=update),
                        summary=_dispatch_summary(notices, update),
                        start_to_close_timeout=_SEND_TIMEOUT,
                        retry_policy=_SEND_RETRY,
                    )
                )
            return
        for notice in notices:
            self._in_background(
                workflow.execute_activity_method(
                    DeliveryActivities.deliver_notice,
                    notice.key,
                    summary=_dispatch_summary([notice], None),
                    start_to_close_timeout=_SEND_TIMEOUT,
                    retry_policy=_SEND_RETRY,
                )
            )
        if update is not None:
            self._in_background(
                workflow.execute_activity_method(
                    DeliveryActivities.push_national_status,
                    update,
                    summary=_dispatch_summary([], update),
                    start_to_close_timeout=_SEND_TIMEOUT,
                    retry_policy=_SEND_RETRY,
                )
            )

    def _in_background(self, sending: Awaitable[object]) -> None:
        self._in_flight += 1  # counted from now: the run must not end before it starts

        async def counted() -> None:
            try:
                await sending
            finally:
                self._in_flight -= 1

        task = asyncio.create_task(counted())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _write_read_model(self, notices: list[Notice]) -> list[Notice]:
        """One activity (a local one in runs from before v6), one transaction: the read model
        gets what it has not seen yet, the outbox the change's notices (and those of earlier
        changes whose write failed). Returns the notices now in the outbox.

        A write the database refuses (`read_model_rejected`: no retry can cure it) no longer
        blocks the dossier (v6): the failure is recorded and shown, the dossier goes on, and
        each later write (every change, a retry every 10 minutes, `retry_read_model`) sends
        again everything since the last write that landed; the first that lands repairs the
        read model."""
        revised = sorted(self._revised)
        view = projection(self._dossier, workflow.now(), since=self._projected, revised=revised)
        fresh = view if view.version > self._projected or revised else None
        pending, self._unsettled = [*self._unsettled, *notices], []
        if fresh is None and not pending:
            return []
        settlement = Settlement(projection=fresh, notices=pending)
        summary = f"read model ← event {view.version}, {len(pending)} notice(s)"
        try:
            await self._settle_dossier(settlement, summary)
        except (ActivityError, ApplicationError) as failed:
            rejected = _rejected_by_read_model(failed)
            if rejected is None or not self._since(READ_MODEL_FAILURE):
                raise
            self._unsettled = [*pending, *self._unsettled]
            self._read_model_failed(rejected, view.version)
            return []
        self._projected = max(self._projected, view.version)
        self._revised.difference_update(revised)
        if self._failure is not None:
            workflow.logger.info("read model repaired through event %s", view.version)
            self._failure = None
            self._publish()
        return pending

    async def _settle_dossier(self, settlement: Settlement, summary: str) -> None:
        if self._since(FENCED_SETTLE):
            await self._settle_fenced(settlement, summary)
        elif self._since(SETTLE_AFTER_COMMIT):
            # A local activity runs inside the workflow task that made the change, before the
            # server has that task: a worker killed then has the task done again, later and
            # perhaps with its messages in another order, and the read model kept what never
            # happened (the crash harness saw it). An activity is scheduled by the task's
            # completion, so it writes only what the history holds.
            await workflow.execute_activity_method(
                SettlementActivities.settle_dossier,
                settlement,
                summary=summary,
                start_to_close_timeout=_OUTBOX_TIMEOUT,
                retry_policy=_OUTBOX_RETRY,
            )
        else:
            await workflow.execute_local_activity_method(
                SettlementActivities.settle_dossier,
                settlement,
                summary=summary,
                start_to_close_timeout=_OUTBOX_TIMEOUT,
                retry_policy=_OUTBOX_RETRY,
            )

    async def _settle_fenced(self, settlement: Settlement, summary: str) -> None:
        """v8: the write inside this task (a local activity), fenced by the task's time. A task
        lost after its write (a worker killed before the server had it) is done again later,
        and its write may have left what this one did not do: the write then finds the read
        model beyond what this run confirmed (`conflict`) and this run writes its whole
        dossier over it (`reset`). A write of a task overtaken by a newer one (`overtaken`)
        comes only from a task the server never had: what it returns is never used."""
        if self._times_apart and not workflow.unsafe.is_replaying():
            # Live again after a replay that moved this run's times (`_note_written`): the
            # whole dossier as this run now holds it. A local activity's input is not part of
            # the history, so a replay of this task, sending less, stays deterministic.
            whole = projection(self._dossier, workflow.now(), since=0)
            settlement = settlement.model_copy(update={"projection": whole, "reset": True})
            summary = f"read model reset ← event {whole.version} (times replayed apart)"
        fenced = settlement.model_copy(
            update={"fence": workflow.now(), "confirmed": self._projected}
        )
        receipt = await self._settle_locally(fenced, summary)
        self._note_written(receipt)
        if receipt.outcome is SettlementOutcome.CONFLICT:
            whole = projection(self._dossier, workflow.now(), since=0)
            workflow.logger.warning(
                "read model held a lost task's write beyond event %s: rewritten whole",
                self._projected,
            )
            self._note_written(
                await self._settle_locally(
                    fenced.model_copy(update={"projection": whole, "reset": True}),
                    f"read model reset ← event {whole.version}",
                )
            )

    def _note_written(self, receipt: SettlementReceipt) -> None:
        """Whether the read model holds the times this run holds. A workflow task that the SDK
        completed early while its local activities ran (a "heartbeat": a query arriving, or a
        write past 80 % of the task's timeout) replays with the next task's `workflow.now()`,
        not the one it ran with, so the events it made come back with later times than the
        write recorded in the history as this local activity's result; seen here on a query
        arriving during a fenced write. Such a write marks the run apart until a reset lands."""
        written = receipt.settled
        if written is None or written.projection is None:
            return
        if written.reset:
            # The whole dossier may hold changes of other handlers of this task not yet written
            # (they wait for `_writing`): their writes must find it confirmed, or each would
            # take this write for a lost task's, reset again, and drop its notices as unsent.
            self._projected = max(self._projected, written.projection.version)
            self._times_apart = False
            return
        held = {e.seq: e.at for e in self._dossier.events}
        if any(held.get(e.seq, e.at) != e.at for e in written.projection.document.events):
            workflow.logger.warning("read model's event times differ from the replayed run's")
            self._times_apart = True

    async def _settle_locally(self, settlement: Settlement, summary: str) -> SettlementReceipt:
        """The fenced write inside this task; by an activity after it when it was not done
        within its bound (`late`) or failed for a cause a retry may cure (the same input: a
        write of it that lands late is its own retry, and changes nothing)."""
        try:
            receipt: SettlementReceipt = await workflow.execute_local_activity_method(
                SettlementActivities.settle_dossier,
                settlement,
                summary=summary,
                schedule_to_close_timeout=_LOCAL_SETTLE_TIMEOUT,
                retry_policy=_LOCAL_SETTLE_RETRY,
            )
            if receipt.outcome is not SettlementOutcome.LATE:
                return receipt
            workflow.logger.warning("read-model write not done within its bound: after the task")
        except (ActivityError, ApplicationError) as failed:
            if _rejected_by_read_model(failed) is not None:
                raise
            workflow.logger.warning(
                "read-model write not done in its task (%s): after it", _cause_of(failed)
            )
        return await workflow.execute_activity_method(
            SettlementActivities.settle_dossier,
            settlement,
            summary=summary,
            start_to_close_timeout=_OUTBOX_TIMEOUT,
            retry_policy=_OUTBOX_RETRY,
        )

    def _read_model_failed(self, cause: ApplicationError, version: int) -> None:
        """Record a refused read-model write: once per failure (an event the read model gets
        with its repair), in the Web UI's details, and a retry now and then."""
        if self._failure is None:
            self._failure = ReadModelFailure(
                at=workflow.now(),
                since=self._projected,
                error=clean(str(cause.message)),
            )
            self._dossier.record_read_model_failure(
                self._failure.since, self._failure.error, workflow.now()
            )
            workflow.logger.warning(
                "read model refused the write of event %s: %s", version, self._failure.error
            )
            self._publish()
        if self._repair is None or self._repair.done():
            self._repair = asyncio.create_task(self._retry_read_model())

    async def _retry_read_model(self) -> None:
        while self._failure is not None:
            try:
                await workflow.wait_condition(
                    lambda: self._retry_now or self._failure is None,
                    timeout=_READ_MODEL_RETRY_EVERY,
                    timeout_summary="retry the read-model write",
                )
            except TimeoutError:
                pass
            self._retry_now = False
            if self._failure is not None:
                await self._settle([])

    async def _record_notices(self, notices: list[Notice]) -> None:
        """Write each notice to the outbox, an activity each (how runs started before the read
        model keep doing it); its business key makes a retry harmless (R3)."""
        await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    NoticeActivities.record_notice,
                    n,
                    summary=f"{n.kind.value} → {n.to}",
                    start_to_close_timeout=_OUTBOX_TIMEOUT,
                    retry_policy=_OUTBOX_RETRY,
                )
                for n in notices
            )
        )

    # --- what ops staff see in the Web UI ------------------------------------------------------

    def _publish(self) -> None:
        """Keep the search attributes and the current details in step with the state. Only
        changed attributes are upserted, so the history carries no noise."""
        d = self._dossier
        values: dict[str, object] = {
            sa.DOSSIER_STATUS.name: d.status.value,
            sa.LEAD_AGENCY.name: d.lead_agency,
            sa.PROCEDURE.name: d.procedure.code,
            sa.AWAITING_AGENCIES.name: sorted({c.agency for c in d.awaiting()}),
            sa.DUE_AT.name: d.due_at,
            sa.LATE.name: d.late,
        }
        updates = []
        for key in sa.ALL:
            value = values[key.name]
            if self._published.get(key.name, _UNSET) == value:
                continue
            self._published[key.name] = value
            updates.append(key.value_set(value) if value not in (None, []) else key.value_unset())  # type: ignore[arg-type]
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(current_details(d, workflow.now(), self._failure))


_UNSET = object()
M = TypeVar("M", bound=BaseModel)


def _dispatch_summary(notices: list[Notice], update: PortalUpdate | None) -> str:
    """What the Web UI shows for a dispatch (and for each of the single activities before v7)."""
    parts = [f"send {n.kind.value} → {n.to}" for n in notices]
    if update is not None:
        parts.append(f"portal ← {update.code} {update.label}")
    return "; ".join(parts)


def _cause_of(failed: ActivityError | ApplicationError) -> BaseException | None:
    """What made an activity fail. A local activity's failure may come as the activity's own
    error, not wrapped in an ActivityError."""
    return failed.cause if isinstance(failed, ActivityError) else failed


def _rejected_by_read_model(failed: ActivityError | ApplicationError) -> ApplicationError | None:
    """The read model's refusal of a write (`read_model_rejected`, never retried), if that is
    what failed."""
    cause = _cause_of(failed)
    if isinstance(cause, ApplicationError) and cause.type == READ_MODEL_REJECTED:
        return cause
    return None


def _as_error(refusal: Refusal) -> ApplicationError:
    """A refusal as the update's failure: `type` is the stable code, the one detail is the whole
    refusal (HTTP status, messages, facts), so the API translates it without a table of its own."""
    return ApplicationError(
        refusal.message_en,
        refusal.model_dump(mode="json"),
        type=refusal.code.value,
        non_retryable=True,
    )
