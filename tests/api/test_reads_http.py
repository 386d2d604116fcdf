"""Issue 12, "Reads": every list of the API and of the pages makes the same number of SQL
statements whatever its page size, and the statements of the lists never scan the whole table of
dossiers (they use an index), on a real SQLite file and a real PostgreSQL.

The statements are counted on the API's own engine (`before_cursor_execute`) while it answers
over real HTTP. The lists read only the read model, so the API runs here without a worker (its
Temporal client is lazy and never called); the read model is written as the projection writes
it, `N` dossiers of SXD with their consultations, timelines and notices, so that every list has
more rows than its largest page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.auth import Authenticator
from db.engine import create_engine
from db.migrate import seed, sync_calendar
from db.models import ConsultationRecord, DossierRecord, EventRecord, NoticeRecord
from db.read_model import search_key
from domain.localtime import local_date
from settings import Settings
from tests.api.http_helpers import serving
from tests.fixtures.api import SECRET, Api
from tests.web.page_client import Browser, signed_in

N = 205  # more than the largest page asked (200), and than any page's size
SIZES = (1, 50, 200)
WITHDRAWAL = {"reason": "rút", "application_ref": "1"}


@dataclass
class Statements:
    """The SQL the API's engine runs, recorded while `recording`."""

    engine: AsyncEngine
    recording: bool = False
    seen: list[tuple[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.recording:
            self.seen.append((statement, parameters))

    async def of(self, call: Awaitable[httpx.Response]) -> list[tuple[str, Any]]:
        """The statements run while answering `call`, which must answer 200."""
        self.seen, self.recording = [], True
        try:
            response = await call
        finally:
            self.recording = False
        assert response.status_code == 200, response.text[:2000]
        return self.seen


@dataclass
class Reads:
    api: Api
    statements: Statements
    database_url: str


@pytest_asyncio.fixture(loop_scope="session")
async def reads(database_url: str) -> AsyncIterator[Reads]:
    """The API on `database_url` over real HTTP, without a worker."""
    await seed(database_url)
    settings = Settings(
        database_url=database_url,
        temporal_address="127.0.0.1:1",  # never called: the lists read the read model only
    )
    today = local_date(datetime.now(UTC))  # the reports count working days on the calendar
    await sync_calendar(database_url, first=today - timedelta(days=60), last=today)
    app = create_app(settings, Authenticator.with_secret(SECRET))
    async with serving(app) as http:
        statements = Statements(app.state.services.engine)
        yield Reads(Api(str(http.base_url), http, settings), statements, database_url)


async def write_read_model(database_url: str, first: int, count: int) -> None:
    """Dossiers `first` … `first + count - 1` of SXD as the projection writes them: open, due
    in turn, withdrawal awaiting the head (R6); consultation 1 awaited from CAT, 2 answered by
    STP; a timeline with the request, the withdrawal, a refused SOS (R9) and the clock's `late`
    (R13); a notice to CAT copied to SNV."""
    now = datetime.now(UTC)
    dossiers, consultations, events, notices = [], [], [], []
    for i in range(first, first + count):
        code = f"R-{i:05d}"
        received = now - timedelta(hours=2, seconds=i)
        asked = received + timedelta(minutes=1)
        dossiers.append(
            {
                "code": code,
                "procedure_code": "DN-XD-001",
                "procedure_name": "Cấp giấy phép xây dựng",
                "lead_agency": "SXD",
                "receiving_desk": "SXD",
                "applicant": {"name": f"Nguyễn Văn {i}"},
                "applicant_search": search_key(f"Nguyễn Văn {i}"),
                "status": "processing",
                "national_status": 4,
                "received_at": received,
                "due_at": now + timedelta(days=1 + i % 9, seconds=i),
                "withdrawal": "pending_confirmation",
                "version": 5,
                "updated_at": now,
                "people": {"sxd.officer": "Trần Thị Bích"},
            }
        )
        consultations += [
            {
                "dossier": code,
                "number": 1,
                "agency": "CAT",
                "content": "Xin ý kiến về an ninh",
                "deadline": now + timedelta(days=3, seconds=i),
                "status": "awaiting",
                "requested_at": asked,
                "reminders": [],
            },
            {
                "dossier": code,
                "number": 2,
                "agency": "STP",
                "content": "Xin ý kiến về pháp lý",
                "deadline": now + timedelta(days=3),
                "status": "answered",
                "requested_at": asked,
                "replied_at": asked + timedelta(minutes=5),
                "opinion": "Đồng ý",
                "reminders": [],
            },
        ]
        refused_sos = {
            "action": "sos",
            "actor_agency": "SXD",
            "code": "sos_rejected_awaiting_replies",
            "reason": "còn chờ ý kiến",
            "request": {"action": "supplement", "reason": "thiếu bản vẽ"},
            "awaiting": [{"agency": "CAT", "deadline": now.isoformat(), "overdue": False}],
        }
        for seq, (kind, at, detail) in enumerate(
            [
                ("received", received, {}),
                ("consultation_requested", asked, {"agencies": ["CAT", "STP"]}),
                ("refused", asked + timedelta(minutes=2), refused_sos),
                ("late", asked + timedelta(minutes=3), {"due_at": now.isoformat()}),
                (
                    "withdrawal",
                    asked + timedelta(minutes=4),
                    WITHDRAWAL,
                ),
            ],
            start=1,
        ):
            events.append(
                {"dossier": code, "seq": seq, "at": at, "kind": kind, "actor": "sxd.officer",
                 "detail": detail}
            )  # fmt: skip
        notices.append(
            {
                "key": f"{code}/consultation-1",
                "kind": "consultation_request",
                "dossier": code,
                "to": "CAT",
                "cc": ["SNV"],
                "sent_at": asked,
                "subject": "Xin ý kiến",
                "body": "Xin ý kiến về an ninh",
            }
        )
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            for model, rows in [
                (DossierRecord, dossiers),
                (ConsultationRecord, consultations),
                (EventRecord, events),
                (NoticeRecord, notices),
            ]:
                await connection.execute(insert(model), rows)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


# --- the API's lists: the same statements for a page of 1, 50 or 200 -------------------------

TODAY = local_date(datetime.now(UTC)).isoformat()
PERIOD = {"from": TODAY, "to": TODAY}

# Each list of the API, as (path, caller, other parameters); the callers see all N rows.
API_LISTS = {
    "dossiers_of_own_agency": ("/api/v1/dossiers", "sxd.officer", {}),
    "dossiers_of_every_agency": ("/api/v1/dossiers", "snv.home_affairs", {}),
    "dossiers_overdue_filter": ("/api/v1/dossiers", "sxd.officer", {"overdue": "false"}),
    "notices": ("/api/v1/notices", "cat.officer", {}),
    "inbox": ("/api/v1/inbox", "sxd.officer", {}),
    "consultations": ("/api/v1/consultations", "cat.officer", {"state": "all"}),
    "withdrawals": ("/api/v1/withdrawals", "sxd.head", {}),
    "sos_audit": ("/api/v1/reports/sos-audit", "vpubnd.inspector", PERIOD),
    "late_without_apology": ("/api/v1/reports/late-without-apology", "snv.home_affairs", PERIOD),
}


async def statements_per_size(
    reads: Reads, path: str, user: str, params: dict[str, str]
) -> dict[int, int]:
    counts = {}
    await reads.api.get(path, user, limit=1, **params)  # warms the pool and the caches
    for size in SIZES:
        call = reads.api.get(path, user, limit=size, **params)
        counts[size] = len(await reads.statements.of(call))
    answer = await reads.api.get(path, user, limit=200, **params)
    listed = answer.json().get("items", answer.json().get("rejected"))
    assert len(listed) == 200, f"{path} lists {len(listed)}: the corpus is too small"
    return counts


@pytest.mark.parametrize("name", list(API_LISTS))
async def test_reads_list_makes_the_same_statements_for_pages_of_1_50_200(
    reads: Reads, name: str
) -> None:
    await write_read_model(reads.database_url, 0, N)
    path, user, params = API_LISTS[name]

    counts = await statements_per_size(reads, path, user, params)

    assert len(set(counts.values())) == 1, f"{name}: statements by page size {counts}"


async def test_reads_dossier_list_answers_as_the_dossier_reads_do(reads: Reads) -> None:
    """The page of dossiers, assembled from three statements, holds each dossier exactly as
    `GET /api/v1/dossiers/{code}` answers it: consultations by number, events by seq."""
    await write_read_model(reads.database_url, 0, 7)

    listed = (await reads.api.get("/api/v1/dossiers", "sxd.officer", limit=5)).json()

    assert [d["code"] for d in listed["items"]] == [f"R-{i:05d}" for i in range(5)]
    for item in listed["items"]:
        one = await reads.api.get(f"/api/v1/dossiers/{item['code']}", "sxd.officer")
        assert one.json() == item
        assert [c["number"] for c in item["consultations"]] == [1, 2]
        assert [e["kind"] for e in item["events"]][:2] == ["received", "consultation_requested"]


# --- the pages' lists: no more statements for a full page than for one row --------------------

PAGES = {
    "inbox": ("/inbox", "sxd.officer"),
    "consultations": ("/consultations?state=all", "cat.officer"),
    "withdrawals": ("/withdrawals", "sxd.head"),
    "reports": ("/reports", "vpubnd.inspector"),
}


@pytest.mark.parametrize("name", list(PAGES))
async def test_reads_page_makes_no_more_statements_for_a_full_page_than_for_one_row(
    reads: Reads, name: str
) -> None:
    path, user = PAGES[name]
    browser: Browser = await signed_in(reads.api, user)
    try:
        await write_read_model(reads.database_url, 0, 1)
        await browser.page(path)  # warms the pool and the caches
        one = len(await reads.statements.of(browser.http.get(path)))
        await write_read_model(reads.database_url, 1, N - 1)
        full = len(await reads.statements.of(browser.http.get(path)))
    finally:
        await browser.http.aclose()

    # A short list may take one more: the inbox reads the undated dossiers after the dated
    # ones, the consultations the settled ones after the awaited, only to fill the page.
    assert full <= one, f"{name}: {one} statements for one row, {full} for a full page"


# --- the lists' statements use an index of dossiers ------------------------------------------

ACCESSES = re.compile(r"\bdossiers\b", re.IGNORECASE)


async def plan_of(engine: AsyncEngine, statement: str, parameters: Any) -> list[str]:
    """The plan of `statement` as the database would run it: SQLite's `EXPLAIN QUERY PLAN`;
    PostgreSQL's `EXPLAIN` with sequential scans discouraged, so that a table this small is
    still read through an index whenever one serves the query (if none does, the plan keeps
    its `Seq Scan`)."""
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            found = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return [str(row[-1]) for row in found]
        await connection.exec_driver_sql("SET enable_seqscan = off")
        found = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return [str(row[0]) for row in found]


def full_scans_of_dossiers(plan: list[str]) -> list[str]:
    """The lines of `plan` that read the whole table of dossiers rather than through an index."""
    return [
        line
        for line in plan
        if re.search(r"^\s*(->\s*)?Seq Scan on dossiers\b", line)  # PostgreSQL
        or re.search(r"\bSCAN (dossiers|d)\b(?! USING)", line)  # SQLite, aliased or not
    ]


@pytest.mark.parametrize("name", [*API_LISTS, "inbox_search", "inbox_late", "inbox_received"])
async def test_reads_list_statements_read_dossiers_through_an_index(
    reads: Reads, name: str
) -> None:
    await write_read_model(reads.database_url, 0, 60)
    path, user, params = {
        **API_LISTS,
        "inbox_search": ("/api/v1/inbox", "sxd.officer", {"q": "nguyen"}),
        "inbox_late": ("/api/v1/inbox", "sxd.officer", {"urgency": "late"}),
        "inbox_received": ("/api/v1/inbox", "tthcc.officer", {"received_here": "true"}),
    }[name]
    seen = await reads.statements.of(reads.api.get(path, user, limit=50, **params))

    scans = {}
    for statement, parameters in seen:
        if ACCESSES.search(statement):
            plan = await plan_of(reads.statements.engine, statement, parameters)
            if full := full_scans_of_dossiers(plan):
                scans[statement] = (full, plan)
    assert not scans, scans
