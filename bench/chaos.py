"""The crash harness (`make chaos`): motcua's promises while its processes are killed.

It starts the stack as `make run` does (`dev.run`), each part a process of its own on free ports
and a fresh data folder: the Temporal dev server on an SQLite file (so it survives SIGKILL), the
mail catcher, the worker and the API, the app database a fresh PostgreSQL database (default) or
an SQLite file, and `MOTCUA_REMINDER_GRACE` a few seconds (PT5S) so that reminder 2 follows
reminder 1 quickly. Then, through the HTTP API as the agencies' clients would (retrying a 5xx or
a lost answer with the same `Idempotency-Key`), it receives N dossiers and requests 1-3
consultations on each, deadlines seconds away; some are answered before their deadline, some
after (with a cause, R7), some never. While the reminders fire it SIGKILLs the worker several
times and the dev server at least once, at random moments, restarting each after a random short
pause; everything random comes from one seeded RNG. Once everything has settled it checks:

- reminders (R3): each consultation never answered has exactly one reminder 1 and one reminder 2
  (reminder 2 copied to Home Affairs, after the grace), one answered on time has none, one
  answered late has at most one of each, sent before the answer;
- notices: each dossier's notice rows are exactly the consultation requests and the reminders
  its workflow recorded, one row each, at the same time: none lost, none doubled;
- seq: each dossier's events are numbered 1..n without a gap, in the workflow and the read model;
- read model: the dossier the API serves equals the workflow's own `document` query;
- stuck: every dossier's workflow answers an update within seconds, and no workflow task of its
  current run failed (other than Temporal's benign `UNHANDLED_COMMAND` kinds);
- client: every reply the API answered 200 to is recorded as an answer, and only those;
- api: every request got an answer other than a 5xx or 429 within 120 s (retried with backoff);
- totals: the report totals equal those recomputed from the read model's rows (nothing a lost
  workflow task wrote is left counted: v8 writes inside the task, fenced, `db.settlement`);
- quiescence: within `--settle-timeout` of the last kill and request, the workflows owe nothing
  more (no reminder due, read model up to them, every notice they sent written and delivered).

It prints the figures (dossiers, consultations, reminders expected/found, notices, kills, client
retries, time to quiescence) and exits 0 when every invariant holds, 1 naming each broken one
(with the dossiers), 2 when the stack could not be run. Everything is on 127.0.0.1, every wait is
bounded, and every process it started is stopped at the end (SIGTERM or Ctrl-C included).

    python -m bench.chaos [--dossiers 100] [--seed 448] [--worker-kills 4] [--server-kills 1]
                          [--database postgresql|sqlite] [--keep] [--json figures.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlmodel import col, select
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client

from bench.stack import (
    BenchError,
    BenchStack,
    add_database_arguments,
    connect,
    interruptible,
    running_stack,
    scratch,
)
from db.engine import create_engine, session_factory
from db.models import DossierRecord, NoticeRecord
from db.report_totals import (
    CLOSED_DOSSIER_TOTALS,
    CONSULTATION_TOTALS,
    SOS_TOTALS,
    rebuild_report_totals,
)
from dev.tokens import load_users, mint_token
from domain.calendar import parse_grace
from domain.dossier import DossierDocument
from logs import configure_logging
from workflows.dossier import DossierWorkflow
from workflows.starter import workflow_id

PROCEDURE = "DN-XD-001"  # a building permit: SXD leads, consults other departments
LEAD = "sxd.officer"
READER = "vpubnd.inspector"  # reads every dossier (API.md)
HOME_AFFAIRS = "SNV"  # copied on every reminder 2 (R3)
CONSULTED = {"CAT": "cat.officer", "SNNMT": "snnmt.officer", "SYT": "syt.officer"}

Fate = Literal["on_time", "late", "never"]
FATES: dict[Fate, float] = {"on_time": 0.35, "late": 0.25, "never": 0.40}  # weights

CLIENT_PATIENCE_S = 120.0  # how long a client keeps retrying one request
PROBE_TIMEOUT_S = 10.0  # for a workflow to answer a query or an update
POLL_S = 2.0
OPEN = {"awaiting", "overdue"}  # consultation statuses still owed an answer
# The reminder levels a consultation may have by its final status; never answered: both (R3).
REMINDER_LEVELS: dict[str, list[list[int]]] = {
    "answered": [[]],
    "answered_late": [[], [1], [1, 2]],  # those due before the answer was taken
}
# Failed workflow tasks that are Temporal's normal business: a signal or update arrived while
# the task was completing, or a killed worker's sticky queue was reset.
BENIGN_TASK_FAILURES = {
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_UPDATE,
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
}


# --- the plan: everything random, drawn up front from the seed ----------------------------------


@dataclass
class PlannedConsultation:
    agency: str
    deadline_in: float  # seconds from its request to its deadline
    fate: Fate
    reply_at: float | None  # seconds from its request to its answer (None: never answered)


@dataclass
class Plan:
    dossiers: list[list[PlannedConsultation]]
    kills: list[tuple[Literal["worker", "server"], float, float]]  # kind, share of window, pause

    @property
    def consultations(self) -> int:
        return sum(len(d) for d in self.dossiers)


def draw_plan(options: argparse.Namespace, grace_s: float) -> Plan:
    rng = random.Random(options.seed)
    low, high = options.deadlines
    dossiers = []
    for _ in range(options.dossiers):
        consultations = []
        for agency in rng.sample(sorted(CONSULTED), rng.randint(1, 3)):
            deadline_in = rng.uniform(low, high)
            fate = rng.choices(list(FATES), weights=list(FATES.values()))[0]
            reply_at = {
                "on_time": rng.uniform(1.0, deadline_in - 3.0),
                "late": deadline_in + rng.uniform(0.5, grace_s + 4.0),  # both sides of reminder 2
                "never": None,
            }[fate]
            consultations.append(PlannedConsultation(agency, deadline_in, fate, reply_at))
        dossiers.append(consultations)
    kinds: list[Literal["worker", "server"]] = ["worker"] * options.worker_kills
    kinds += ["server"] * options.server_kills
    rng.shuffle(kinds)
    kills = [(kind, rng.random(), rng.uniform(0.5, 3.0)) for kind in kinds]
    return Plan(dossiers, kills)


# --- the clients: agencies' staff calling the API ------------------------------------------------


@dataclass
class ClientRecord:
    """What the API told the clients."""

    answered: set[tuple[str, str]] = field(default_factory=set)  # (dossier, agency) replied 200
    unknown: set[tuple[str, str]] = field(default_factory=set)  # replies never answered
    unanswered: list[tuple[str, str]] = field(default_factory=list)  # (dossier, what came)
    retries: int = 0  # requests sent again after a 5xx, a 429 or no answer


class Clients:
    def __init__(self, http: httpx.AsyncClient, jwt_secret: str) -> None:
        users = {u.id: u for u in load_users()}
        self.http = http
        self.auth = {
            user: {"Authorization": f"Bearer {mint_token(users[user], jwt_secret, hours=4)}"}
            for user in [LEAD, READER, *CONSULTED.values()]
        }
        self.record = ClientRecord()

    async def post(
        self, code: str, path: str, body: dict[str, Any], user: str
    ) -> httpx.Response | None:
        """POST as a careful client: with one Idempotency-Key, so that a retry gets the first
        attempt's outcome, until an answer that is not the service's fault (< 500, not 429),
        backing off 1, 2, 4, 8 s or as `Retry-After` says. None if CLIENT_PATIENCE_S went by
        without one (recorded, for the `api` invariant)."""
        headers = {**self.auth[user], "Idempotency-Key": str(uuid.uuid4())}
        give_up = time.monotonic() + CLIENT_PATIENCE_S
        for attempt in itertools.count():
            wait = min(2.0**attempt, 8.0)
            try:
                response = await self.http.post(path, json=body, headers=headers)
                if response.status_code < 500 and response.status_code != 429:
                    return response
                why = f"{response.status_code} {response.text[:200]}"
                wait = float(response.headers.get("Retry-After", wait))
            except httpx.TransportError as error:
                why = repr(error)
            if time.monotonic() + wait > give_up:
                self.record.unanswered.append(
                    (code, f"POST {path}: still {why} after {CLIENT_PATIENCE_S:.0f} s")
                )
                return None
            self.record.retries += 1
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def dossier(self, code: str) -> DossierDocument:
        response = await self.http.get(f"/api/v1/dossiers/{code}", headers=self.auth[READER])
        if response.status_code != 200:
            raise BenchError(f"GET dossier {code}: {response.status_code} {response.text[:200]}")
        return DossierDocument.model_validate(response.json())

    async def lifecycle(
        self, planned: list[PlannedConsultation]
    ) -> tuple[str, list[tuple[PlannedConsultation, float]]]:
        """Receive a dossier and request its consultations; return its code and the answers
        to give, each with its moment (monotonic)."""
        created = await self.post(
            "-",
            "/api/v1/dossiers",
            {"procedure_code": PROCEDURE, "applicant": {"name": "Trần Văn Chaos"}},
            LEAD,
        )
        code: str = expect(created, 201).json()["code"]
        replies = []
        for consultation in planned:
            requested = time.monotonic()
            deadline = datetime.now(UTC) + timedelta(seconds=consultation.deadline_in)
            response = await self.post(
                code,
                f"/api/v1/dossiers/{code}/consultations",
                {
                    "agencies": [consultation.agency],
                    "content": "Ý kiến về phòng cháy chữa cháy",
                    "deadline": deadline.isoformat(),
                },
                LEAD,
            )
            expect(response, 201)
            if consultation.reply_at is not None:
                replies.append((consultation, requested + consultation.reply_at))
        return code, replies

    async def reply(self, code: str, consultation: PlannedConsultation, at: float) -> None:
        await asyncio.sleep(at - time.monotonic())
        path = f"/api/v1/dossiers/{code}/consultations/{consultation.agency}/reply"
        user = CONSULTED[consultation.agency]
        body = {"opinion": "Đồng ý"}
        late = {**body, "late_reason": "Chờ kết quả kiểm tra hiện trường"}
        response = await self.post(code, path, late if consultation.fate == "late" else body, user)
        if response and response.status_code == 422:
            if response.json().get("code") == "late_reason_required":
                # Meant on time, but the worker was down until past the deadline: say why (R7).
                response = await self.post(code, path, late, user)
        if response is None:  # it may or may not have been taken
            self.record.unknown.add((code, consultation.agency))
            return
        expect(response, 200)
        self.record.answered.add((code, consultation.agency))


def expect(response: httpx.Response | None, status: int) -> httpx.Response:
    """`response`, if it has `status`; the harness cannot go on otherwise."""
    if response is None:
        raise BenchError(f"no answer to a request it needs (status {status}) in time")
    if response.status_code != status:
        raise BenchError(
            f"{response.request.method} {response.request.url.path}: expected {status}, got "
            f"{response.status_code} {response.text[:300]}"
        )
    return response


# --- chaos: kills at random moments while the reminders fire -------------------------------------


@dataclass
class Kill:
    kind: str
    at_s: float  # seconds since the start of the run
    pause_s: float


async def wreak(stack: BenchStack, plan: Plan, until: float, started: float) -> list[Kill]:
    """The planned kills, one after the other, spread over now..`until` (monotonic): each at its
    drawn share of an equal slice of the window, restarted after its drawn pause."""
    done = []
    for index, (kind, share, pause) in enumerate(plan.kills):
        slice_s = max(0.0, until - time.monotonic()) / (len(plan.kills) - index)
        await asyncio.sleep(share * slice_s)
        done.append(Kill(kind, time.monotonic() - started, pause))
        await stack.kill(kind)
        await asyncio.sleep(pause)
        await stack.start(kind)
    return done


# --- what is observed once all is calm --------------------------------------------------------


@dataclass
class Observation:
    """One dossier as everything holds it once calm."""

    code: str
    workflow: DossierDocument  # its `document` query
    read_model: DossierDocument  # GET /api/v1/dossiers/{code}
    notices: list[NoticeRecord]
    unanswered_update: str | None  # why a harmless update got no answer; None: it got one
    task_failures: list[str]  # causes of the failed workflow tasks of its current run
    pending_task_attempt: int  # attempt of the pending workflow task, 0 for none
    task_timeouts: int = 0  # workflow tasks of its current run lost with a killed process


@dataclass
class Violation:
    invariant: str
    dossier: str
    detail: str


def notice_key(code: str, kind: str, agency: str, number: int) -> str:
    return f"{code}/{kind}/{agency}/{number}"


def owed_notices(doc: DossierDocument) -> dict[str, datetime]:
    """The notices a dossier's workflow has sent, by key, with their times: a request per
    consultation, and one per reminder it records (the only notices this scenario causes)."""
    owed = {}
    for c in doc.consultations:
        owed[notice_key(doc.code, "consultation_request", c.agency, c.number)] = c.requested_at
        for r in c.reminders:
            owed[notice_key(doc.code, f"reminder_{r.level}", c.agency, c.number)] = r.sent_at
    return owed


def violations(seen: Observation, grace: timedelta, client: ClientRecord) -> Iterator[Violation]:
    """Every invariant of the module's docstring that `seen` breaks."""
    code, wf = seen.code, seen.workflow

    def broken(invariant: str, detail: str) -> Violation:
        return Violation(invariant, code, detail)

    for c in wf.consultations:
        name = f"consultation {c.number} ({c.agency}, {c.status.value})"
        levels = [r.level for r in c.reminders]
        allowed = REMINDER_LEVELS.get(c.status, [[1, 2]])
        if levels not in allowed:
            yield broken("reminders", f"{name}: reminders {levels}, expected one of {allowed}")
        for r in c.reminders:
            due = c.deadline + (grace if r.level == 2 else timedelta(0))
            if r.sent_at < due or (c.replied_at is not None and r.sent_at > c.replied_at):
                yield broken("reminders", f"{name}: reminder {r.level} at {r.sent_at}, due {due}")
            if r.cc != ([HOME_AFFAIRS] if r.level == 2 else []):
                yield broken("reminders", f"{name}: reminder {r.level} copied to {r.cc}")
        recorded = Counter(
            e.kind for e in wf.events if e.detail.get("number") == c.number and "reminder" in e.kind
        )
        if recorded != Counter(f"reminder_{level}" for level in levels):
            yield broken("reminders", f"{name}: reminder events {dict(recorded)}, list {levels}")
        answered = c.status in ("answered", "answered_late")
        confirmed = (code, c.agency) in client.answered
        if (code, c.agency) in client.unknown:
            pass  # the client never learnt whether its reply was taken: either is right
        elif confirmed and not answered:
            yield broken("client", f"{name}: the API answered 200 to a reply the workflow lacks")
        elif answered and not confirmed:
            yield broken("client", f"{name}: answered, but the API never said 200 to a reply")

    expected_notices = owed_notices(wf)
    rows = Counter(n.key for n in seen.notices)
    for key in sorted(expected_notices.keys() - rows.keys()):
        yield broken("notices", f"lost: {key}")
    for key in sorted(rows.keys() - expected_notices.keys()):
        yield broken("notices", f"in the outbox, never sent by the workflow: {key}")
    for key, count in sorted(rows.items()):
        if count > 1:
            yield broken("notices", f"doubled: {key} x{count}")
    for n in seen.notices:
        if n.key in expected_notices and n.sent_at != expected_notices[n.key]:
            yield broken("notices", f"{n.key}: sent_at {n.sent_at}, {expected_notices[n.key]}")

    for source, doc in (("workflow", wf), ("read model", seen.read_model)):
        seqs = sorted(e.seq for e in doc.events)
        if seqs != list(range(1, len(seqs) + 1)):
            yield broken("seq", f"{source}: seqs {seqs} are not 1..{len(seqs)}")
    for part, differs in differences(wf, seen.read_model):
        yield broken("read_model", f"{part}: workflow {differs[0]!r}, read model {differs[1]!r}")

    if seen.unanswered_update:
        yield broken("stuck", f"no answer to an update: {seen.unanswered_update}")
    if seen.task_failures:
        yield broken("stuck", f"workflow tasks failed: {', '.join(seen.task_failures)}")
    if seen.pending_task_attempt > 1:
        yield broken("stuck", f"a workflow task on attempt {seen.pending_task_attempt}")


def differences(wf: DossierDocument, rm: DossierDocument) -> Iterator[tuple[str, tuple[Any, Any]]]:
    """The parts of the two documents that differ (events compared by seq)."""
    left, right = wf.model_dump(mode="json"), rm.model_dump(mode="json")
    for doc in (left, right):
        doc["events"] = sorted(doc["events"], key=lambda e: e["seq"])
    for part in left.keys() | right.keys():
        if part == "events":
            for a, b in zip(left["events"], right["events"], strict=False):
                if a != b:
                    yield f"event {a['seq']}", (a, b)
            if len(left["events"]) != len(right["events"]):
                yield "events", (len(left["events"]), len(right["events"]))
        elif left.get(part) != right.get(part):
            yield part, (left.get(part), right.get(part))


# --- waiting for calm, then looking -------------------------------------------------------------


async def settled(client: Client, sessions: Any, codes: list[str]) -> str | None:
    """None once the workflows owe nothing more: no reminder due, every read model up to its
    workflow, every notice they sent written and delivered; else what is still on its way.
    (What the read model has beyond its workflow is for the invariants, not waited for.)"""
    async with sessions() as session:
        versions = dict(
            (await session.exec(select(DossierRecord.code, DossierRecord.version))).all()
        )
        notices = await session.exec(select(NoticeRecord.key, NoticeRecord.delivery_status))
        delivery = dict(notices.all())
    for code in codes:
        handle = client.get_workflow_handle_for(DossierWorkflow.run, workflow_id(code))
        try:
            doc = await handle.query(DossierWorkflow.document, rpc_timeout=timedelta(seconds=5))
        except Exception as error:  # the worker or the server is not back yet
            return f"{code} does not answer a query yet ({type(error).__name__})"
        if any(c.status in OPEN and len(c.reminders) < 2 for c in doc.consultations):
            return f"{code} still owes a reminder"
        if versions.get(code, 0) < len(doc.events):
            return f"{code}: read model at {versions.get(code)}, workflow at {len(doc.events)}"
        for key in owed_notices(doc):
            if delivery.get(key) not in ("delivered", "no_channel"):
                return f"{key}: {delivery.get(key, 'not written')}"
    return None


async def observe(client: Client, clients: Clients, sessions: Any, code: str) -> Observation:
    handle = client.get_workflow_handle_for(DossierWorkflow.run, workflow_id(code))
    unanswered = None
    try:  # `receipt` changes nothing: it answers with the document once the dossier is ready
        await handle.execute_update(  # by name: the SDK's overloads miss no-arg updates
            "receipt", result_type=DossierDocument, rpc_timeout=timedelta(seconds=PROBE_TIMEOUT_S)
        )
    except Exception as error:
        unanswered = f"{type(error).__name__}: {error}"
    failures, timeouts = [], 0
    async for event in handle.fetch_history_events():  # of its current run
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            timeouts += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            cause = event.workflow_task_failed_event_attributes.cause
            if cause not in BENIGN_TASK_FAILURES:
                failures.append(WorkflowTaskFailedCause.Name(cause))
    description = (await handle.describe()).raw_description
    pending = description.pending_workflow_task.attempt
    workflow = await handle.query(
        DossierWorkflow.document, rpc_timeout=timedelta(seconds=PROBE_TIMEOUT_S)
    )
    async with sessions() as session:
        notices = await session.exec(
            select(NoticeRecord).where(NoticeRecord.dossier == code).order_by(col(NoticeRecord.id))
        )
        rows = list(notices.all())
    read_model = await clients.dossier(code)
    return Observation(code, workflow, read_model, rows, unanswered, failures, pending, timeouts)


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Figures:
    seed: int
    database: str
    grace: str
    dossiers: int = 0
    consultations: int = 0
    answered_on_time: int = 0
    answered_late: int = 0
    never_answered: int = 0
    reminders_1_expected: int = 0  # one per consultation never answered
    reminders_1_found: int = 0
    reminders_2_expected: int = 0
    reminders_2_found: int = 0
    reminders_on_late_answers: list[int] = field(default_factory=lambda: [0, 0])  # level 1, 2
    notices: int = 0
    events: int = 0
    task_timeouts: int = 0
    kills: list[Kill] = field(default_factory=list)
    client_retries: int = 0
    quiescence_s: float | None = None  # from the last restart to all settled; None: never
    run_s: float = 0.0

    def count(self, seen: list[Observation]) -> None:
        self.dossiers = len(seen)
        for obs in seen:
            self.notices += len(obs.notices)
            self.events += len(obs.workflow.events)
            self.task_timeouts += obs.task_timeouts
            reminded = Counter(n.key.split("/", 1)[1] for n in obs.notices)
            for c in obs.workflow.consultations:
                self.consultations += 1
                found = [reminded[f"reminder_{level}/{c.agency}/{c.number}"] for level in (1, 2)]
                if c.status == "answered":
                    self.answered_on_time += 1
                elif c.status == "answered_late":
                    self.answered_late += 1
                    self.reminders_on_late_answers = [
                        a + b for a, b in zip(self.reminders_on_late_answers, found, strict=True)
                    ]
                else:
                    self.never_answered += 1
                    self.reminders_1_expected += 1
                    self.reminders_2_expected += 1
                    self.reminders_1_found += found[0]
                    self.reminders_2_found += found[1]

    def lines(self) -> list[str]:
        kills = ", ".join(
            f"{k.kind} at {k.at_s:.0f} s (down {k.pause_s:.1f} s)" for k in self.kills
        )
        workers = sum(k.kind == "worker" for k in self.kills)
        quiet = "never" if self.quiescence_s is None else f"in {self.quiescence_s:.1f} s"
        late_1, late_2 = self.reminders_on_late_answers
        return [
            f"dossiers        {self.dossiers} (seed {self.seed}, {self.database}, grace "
            f"{self.grace})",
            f"consultations   {self.consultations}: answered on time {self.answered_on_time}, "
            f"late {self.answered_late}, never {self.never_answered}",
            f"reminder 1      expected {self.reminders_1_expected}, found "
            f"{self.reminders_1_found} (and {late_1} on consultations answered late)",
            f"reminder 2      expected {self.reminders_2_expected}, found "
            f"{self.reminders_2_found} (and {late_2} on consultations answered late)",
            f"notices         {self.notices} rows; events {self.events}; workflow tasks timed "
            f"out {self.task_timeouts} (lost with a killed process, done again)",
            f"kills           worker {workers}, server {len(self.kills) - workers}: {kills}",
            f"client retries  {self.client_retries} (a 5xx or no answer while a process was down)",
            f"quiescence      {quiet} after the last restart and request; whole run "
            f"{self.run_s:.0f} s",
        ]


def say(message: str) -> None:
    print(f"chaos | {message}", flush=True)


async def drive(
    stack: BenchStack, clients: Clients, plan: Plan, grace_s: float, started: float
) -> tuple[list[str], list[Kill]]:
    """Receive the dossiers (a few clients at a time), answer consultations at their moments,
    and, once every dossier is in, kill processes until the last reminder 2 is due."""
    gate = asyncio.Semaphore(8)
    last_due: list[float] = []
    async with asyncio.TaskGroup() as group:

        async def receive(planned: list[PlannedConsultation]) -> str:
            async with gate:
                sent = time.monotonic()
                code, answers = await clients.lifecycle(planned)
            last_due.append(sent + max(c.deadline_in for c in planned) + grace_s)
            for consultation, at in answers:
                group.create_task(clients.reply(code, consultation, at))
            return code

        receptions = [group.create_task(receive(planned)) for planned in plan.dossiers]

        async def chaos() -> list[Kill]:
            await asyncio.gather(*receptions)
            say(f"{len(receptions)} dossiers received; the kills begin")
            return await wreak(stack, plan, max(last_due), started)

        killing = group.create_task(chaos())
    return [r.result() for r in receptions], killing.result()


async def run(options: argparse.Namespace) -> tuple[Figures, list[Violation]]:
    grace = parse_grace(options.grace)
    if grace.duration is None:
        raise BenchError(f"--grace must be an ISO 8601 duration such as PT5S, not {options.grace}")
    grace_s = grace.duration.total_seconds()
    plan = draw_plan(options, grace_s)
    figures = Figures(options.seed, options.database, options.grace)
    found: list[Violation] = []
    async with scratch(options, "motcua-chaos-", say) as (data_dir, database_url):
        started = time.monotonic()
        consultations = plan.consultations
        say(f"data folder {data_dir}; {options.dossiers} dossiers, {consultations} consultations")
        async with AsyncExitStack() as exits:
            stack = await exits.enter_async_context(
                running_stack(data_dir, database_url, options.grace)
            )
            client = await connect(stack)
            http = await exits.enter_async_context(
                httpx.AsyncClient(base_url=stack.api_url, timeout=60)
            )
            engine = create_engine(database_url)
            exits.push_async_callback(engine.dispose)
            sessions = session_factory(engine)
            clients = Clients(http, stack.jwt_secret)
            say(f"stack up in {time.monotonic() - started:.0f} s")
            try:
                codes, figures.kills = await drive(stack, clients, plan, grace_s, started)
            except BaseExceptionGroup as group:
                error = first_error(group)
                if dead := stack.exited_by_themselves():  # the likely cause of what failed
                    raise BenchError(f"{error}; exited by themselves: {', '.join(dead)}") from None
                raise error from None
            if dead := stack.exited_by_themselves():
                raise BenchError(f"exited by themselves: {', '.join(dead)}")
            calm = time.monotonic()
            say(f"kills done, {clients.record.retries} client retries; waiting for quiescence")
            while (busy := await settled(client, sessions, codes)) is not None:
                if time.monotonic() - calm > options.settle_timeout:
                    found.append(
                        Violation("quiescence", "-", f"{busy} after {options.settle_timeout} s")
                    )
                    break
                await asyncio.sleep(POLL_S)
            else:
                figures.quiescence_s = time.monotonic() - calm
            gate = asyncio.Semaphore(8)

            async def look(code: str) -> Observation:
                async with gate:
                    return await observe(client, clients, sessions, code)

            seen = await asyncio.gather(*(look(code) for code in codes))
            for obs in seen:
                found.extend(violations(obs, grace.duration, clients.record))
            found += [Violation("api", code, what) for code, what in clients.record.unanswered]
            found += [Violation("totals", "-", what) async for what in totals_apart(sessions)]
            figures.count(seen)
            figures.client_retries = clients.record.retries
        figures.run_s = time.monotonic() - started
    return figures, found


async def totals_apart(sessions: Any) -> AsyncIterator[str]:
    """The report totals' rows that differ from those recomputed from the read model's rows
    (`rebuild_report_totals`, in a transaction rolled back): what a lost workflow task's write
    would leave counted if its reset missed it."""
    tables = (CONSULTATION_TOTALS, CLOSED_DOSSIER_TOTALS, SOS_TOTALS)

    async def read(session: Any) -> dict[str, set[tuple[Any, ...]]]:
        connection = await session.connection()
        found = {}
        for table in tables:
            found[table.name] = {tuple(r) for r in (await connection.execute(select(table))).all()}
        return found

    async with sessions() as session, session.begin():
        kept = await read(session)
        await rebuild_report_totals(session)
        recounted = await read(session)
        await session.rollback()
    for table in tables:
        for row in kept[table.name] ^ recounted[table.name]:
            side = "kept" if row in kept[table.name] else "recounted"
            yield f"{table.name}: {side} only {row}"


def first_error(group: BaseExceptionGroup) -> BaseException:
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf


def report(figures: Figures, found: list[Violation]) -> None:
    for line in figures.lines():
        say(line)
    if not found:
        say(
            "invariants      all hold: reminders, notices, seq, read model, stuck, client, api,"
            " totals"
        )
        return
    by_invariant: dict[str, list[Violation]] = {}
    for v in found:
        by_invariant.setdefault(v.invariant, []).append(v)
    for invariant, broken in by_invariant.items():
        say(f"BROKEN {invariant}: {len(broken)} times")
        for v in broken[:10]:
            say(f"    {v.dossier}: {v.detail}")


def parse_window(text: str) -> tuple[float, float]:
    low, _, high = text.partition(":")
    window = (float(low), float(high or low))
    if not 5 <= window[0] <= window[1]:
        raise argparse.ArgumentTypeError("MIN:MAX seconds, MIN at least 5 and at most MAX")
    return window


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--dossiers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=448)
    parser.add_argument("--worker-kills", type=int, default=4)
    parser.add_argument("--server-kills", type=int, default=1)
    parser.add_argument("--grace", default="PT5S", help="MOTCUA_REMINDER_GRACE (ISO duration)")
    parser.add_argument(
        "--deadlines",
        type=parse_window,
        default=(8.0, 30.0),
        metavar="MIN:MAX",
        help="seconds from a consultation's request to its deadline (default 8:30)",
    )
    parser.add_argument("--settle-timeout", type=float, default=180.0, metavar="SECONDS")
    add_database_arguments(parser, default="postgresql")
    parser.add_argument("--json", type=Path, help="also write the figures and violations here")
    options = parser.parse_args(argv)
    if options.worker_kills < 0 or options.server_kills < 0 or options.dossiers < 1:
        parser.error("kills must be 0 or more, dossiers 1 or more")
    configure_logging(level=logging.WARNING)  # the migrations' info lines are not ours to show
    return asyncio.run(interruptible(run_and_report(options), say))


async def run_and_report(options: argparse.Namespace) -> int:
    figures, found = await run(options)
    report(figures, found)
    if options.json:
        options.json.write_text(
            json.dumps({"figures": asdict(figures), "violations": [asdict(v) for v in found]})
        )
    return 1 if found else 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    # As dev.run: skip interpreter teardown, which the SDK's threads can abort (sdk-python#300).
    os._exit(status)
