"""The read model on SQLite and PostgreSQL: the migration, the catalogue seeded from the real
`data/catalogue.toml`, the `project_dossier` activity (run as a real activity call), dossier
codes under concurrency, and the queries the API makes.

Dossiers are built through the domain's own doors (`tests.unit.builders`: `receive`, the rules,
the `Dossier` methods, the real calendar) and projected with `domain.projection.projection`, as
the workflow does. Every test runs on both databases (`[sqlite]`, `[postgresql]`).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import structlog
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import ActivityEnvironment

from activities.settlement import SettlementActivities
from db import catalogue as catalogue_db
from db.dossier_codes import next_dossier_code
from db.engine import create_engine
from db.migrate import alembic_config, seed, upgrade
from db.models import (
    AgencyRecord,
    DossierCodeCounter,
    EventRecord,
    ProcedureRecord,
)
from db.read_model import find_for_public, get_dossier, list_dossiers, record_refusal_after_close
from domain.catalogue import Agency, AgencyKind, Catalogue
from domain.commands import SosAction
from domain.dossier import Applicant, Dossier, Procedure
from domain.limits import AS_RECORDED
from domain.projection import DossierProjection, Settlement, projection
from domain.refusals import Code, refuse
from sources.catalogue import DEFAULT_PATH, load_catalogue
from tests.unit.builders import (
    APPLICANT,
    DEADLINE,
    DUE,
    ENV,
    FIRE,
    HOME_AFFAIRS,
    LATER,
    LEAD,
    NOW,
    OPINION,
    OVERDUE,
    PROCEDURE,
    SOON,
    apply,
    consult,
    consultation_request,
    dossier,
    hand_over,
    officer,
    record_result,
    remind,
    reply,
    ring,
    sos,
    vn,
)

Sessions = async_sessionmaker[AsyncSession]

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
READ_MODEL_TABLES = {
    "agencies", "procedures", "dossiers", "consultations", "events",
    "dossier_code_counters", "idempotency_keys",
    "consultation_totals", "closed_dossier_totals", "sos_totals",
}  # fmt: skip


# --- helpers ----------------------------------------------------------------------------------


def view(d: Dossier, *, since: int = 0, now: datetime | None = None) -> DossierProjection:
    """What the workflow sends after its latest change (at its latest event, unless `now`), as
    the activity receives it: through JSON, sharing nothing with the live dossier."""
    sent = projection(d, now or d.events[-1].at, since)
    return DossierProjection.model_validate_json(sent.model_dump_json(), context=AS_RECORDED)


async def project(sessions: Sessions, p: DossierProjection) -> Receipt:
    """`settle_dossier` as Temporal calls it: in an activity context, with no mocks."""
    settled = await ActivityEnvironment().run(
        SettlementActivities(sessions).settle_dossier, Settlement(projection=p)
    )
    return Receipt(dossier=p.document.code, version=p.version, applied=settled.applied)


@dataclass(frozen=True)
class Receipt:
    dossier: str
    version: int
    applied: bool


async def stored(sessions: Sessions, code: str) -> dict[str, Any]:
    """Everything the read model holds of dossier `code`, as plain values."""
    async with sessions() as session:
        found = await get_dossier(session, code)
    assert found is not None, f"no dossier {code}"
    row, consultations, events = found
    return {
        "dossier": row.model_dump(),
        "consultations": [c.model_dump() for c in consultations],
        "events": [e.model_dump() for e in events],
    }


async def rows(sessions: Sessions, table: type[SQLModel]) -> list[dict[str, Any]]:
    async with sessions() as session:
        found = (await session.exec(select(table))).all()
    return sorted((r.model_dump() for r in found), key=_by_values)


def _by_values(row: dict[str, Any]) -> str:
    return repr(sorted(row.items()))


def event_rows(code: str, d: Dossier) -> list[dict[str, Any]]:
    """The rows the dossier's events should have become."""
    return [
        {
            "dossier": code,
            **e.model_dump(exclude={"detail"}),
            "detail": e.model_dump(mode="json")["detail"],
        }
        for e in d.events
    ]


# --- the migration ----------------------------------------------------------------------------


async def schema(url: str) -> dict[str, Any]:
    """Per table: columns, primary key, unique constraints, foreign keys and indexes; and the
    stamped revision."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def read(sync_connection: Connection) -> dict[str, Any]:
                inspector = inspect(sync_connection)
                found: dict[str, Any] = {}
                for table in inspector.get_table_names():
                    found[table] = {
                        "columns": {
                            c["name"]: (str(c["type"]), c["nullable"])
                            for c in inspector.get_columns(table)
                        },
                        "pk": tuple(inspector.get_pk_constraint(table)["constrained_columns"]),
                        "unique": {
                            (u["name"], tuple(u["column_names"]))
                            for u in inspector.get_unique_constraints(table)
                        },
                        "fk": {
                            (
                                f["name"],
                                tuple(f["constrained_columns"]),
                                f["referred_table"],
                                tuple(f["referred_columns"]),
                            )
                            for f in inspector.get_foreign_keys(table)
                        },
                        "indexes": {
                            (i["name"], tuple(i["column_names"]))
                            for i in inspector.get_indexes(table)
                        },
                    }
                return found

            found = await connection.run_sync(read)
            found["revision"] = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one()
            return found
    finally:
        await engine.dispose()


async def test_migration_creates_the_read_model_and_rerunning_it_changes_nothing(
    database_url: str,
) -> None:
    found = await schema(database_url)

    assert found["revision"] == HEAD
    assert set(found) >= READ_MODEL_TABLES | {"notices", "alembic_version"}
    assert found["dossiers"]["pk"] == ("code",)
    assert found["consultations"]["pk"] == ("dossier", "number")
    assert found["events"]["pk"] == ("dossier", "seq")
    assert found["dossier_code_counters"]["pk"] == ("unit_id", "day")
    assert found["idempotency_keys"]["pk"] == ("key", "user_id")
    assert ("uq_agencies_unit_id", ("unit_id",)) in found["agencies"]["unique"]
    assert found["procedures"]["fk"] == {
        ("fk_procedures_lead_agency_agencies", ("lead_agency",), "agencies", ("code",))
    }
    assert found["events"]["fk"] == {
        ("fk_events_dossier_dossiers", ("dossier",), "dossiers", ("code",))
    }
    assert found["dossiers"]["indexes"] == {
        ("ix_dossiers_lead_agency_received_at", ("lead_agency", "received_at")),  # 0003
        ("ix_dossiers_closed_at", ("closed_at",)),  # 0003
        ("ix_dossiers_applicant_phone", ("applicant_phone",)),
        ("ix_dossiers_status", ("status",)),
        ("ix_dossiers_received_at_code", ("received_at", "code")),
        ("ix_dossiers_receiving_desk_received_at", ("receiving_desk", "received_at")),  # 0010
        # 0008, partial: open dossiers, pending withdrawals
        ("ix_dossiers_open_lead_agency_due_at", ("lead_agency", "due_at", "code", "late")),
        ("ix_dossiers_open_due_at", ("due_at", "code")),
        ("ix_dossiers_pending_withdrawal_lead_agency", ("lead_agency",)),
    }
    assert found["events"]["indexes"] == {
        ("ix_events_at", ("at",)),
        ("ix_events_kind_at", ("kind", "at")),  # 0003
    }
    assert found["consultations"]["indexes"] == {  # 0003
        ("ix_consultations_agency_requested_at", ("agency", "requested_at")),
        ("ix_consultations_requested_at", ("requested_at",)),
        ("ix_consultations_uncounted_requested_at", ("requested_at",)),  # 0005, partial
        # 0008, partial
        ("ix_consultations_awaited_agency_deadline", ("agency", "deadline", "dossier", "number")),
    }
    assert found["calendar_days"]["pk"] == ("day",)  # 0003

    await asyncio.to_thread(upgrade, database_url)
    upgrade(database_url)

    assert await schema(database_url) == found


async def test_migration_matches_the_models_exactly(database_url: str) -> None:
    """What Alembic's autogenerate would still add: nothing (types, nullability, defaults,
    constraints and indexes of the hand-written migration are those of `db.models`)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:

            def differences(sync_connection: Connection) -> list[Any]:
                context = MigrationContext.configure(
                    sync_connection, opts={"compare_type": True, "compare_server_default": True}
                )
                return list(compare_metadata(context, SQLModel.metadata))

            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_migration_downgrades_to_the_outbox_alone_and_upgrades_again(
    database_url: str,
) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0001")
    found = await schema(database_url)
    assert set(found) - {"revision"} == {"alembic_version", "notices"}
    assert found["revision"] == "0001"

    await asyncio.to_thread(upgrade, database_url)
    assert (await schema(database_url))["revision"] == HEAD


# --- the catalogue ----------------------------------------------------------------------------


async def test_seeding_the_real_catalogue_twice_gives_the_same_rows(
    database_url: str, sessions: Sessions
) -> None:
    catalogue = load_catalogue()

    first = await seed(database_url)
    agencies, procedures = await rows(sessions, AgencyRecord), await rows(sessions, ProcedureRecord)
    second = await seed(database_url)

    assert first.agencies_added == [a.code for a in catalogue.agencies]
    assert first.procedures_added == [p.code for p in catalogue.procedures]
    assert second == catalogue_db.SeedReport()  # nothing to add or change
    assert await rows(sessions, AgencyRecord) == agencies
    assert await rows(sessions, ProcedureRecord) == procedures
    assert agencies == sorted(
        (a.model_dump(mode="json") for a in catalogue.agencies), key=_by_values
    )
    assert procedures == sorted((p.model_dump() for p in catalogue.procedures), key=_by_values)


def edited_catalogue(tmp_path: Path, text: str) -> Path:
    """`text` as the catalogue file, with the real file's includes beside it."""
    (tmp_path / "catalogue.toml").write_text(text, encoding="utf-8")
    for included in ("units-dong-nai-2025.toml",):
        shutil.copy(DEFAULT_PATH.parent / included, tmp_path / included)
    return tmp_path / "catalogue.toml"


async def test_edited_catalogue_file_updates_a_name_at_the_next_seed(
    database_url: str, sessions: Sessions, tmp_path: Path
) -> None:
    await seed(database_url)
    original = 'name = "Sở Xây dựng thành phố Đồng Nai"'
    edited = DEFAULT_PATH.read_text(encoding="utf-8").replace(
        original, 'name = "Sở Xây dựng và Giao thông thành phố Đồng Nai"'
    )
    assert original not in edited

    report = await seed(database_url, edited_catalogue(tmp_path, edited))

    assert report == catalogue_db.SeedReport(agencies_updated=[LEAD])
    async with sessions() as session:
        agency = await catalogue_db.get_agency(session, LEAD)
    assert agency is not None and agency.name == "Sở Xây dựng và Giao thông thành phố Đồng Nai"


async def test_i10_city_names_reach_a_database_seeded_with_the_province_names(
    database_url: str, sessions: Sessions, tmp_path: Path
) -> None:
    """The agency table holds names, but `python -m db.migrate` applies the file at every
    start: a database seeded before 30/4/2026 takes the city's names (Nghị quyết 30/2026/QH16)
    at its next start, by code, with no migration, and its dossiers keep their agency."""
    province_era = re.sub(  # each name back to the former one its comment records
        r'^(# former name, until 29/4/2026: "(.+)"\nname = )"(.+?)"',
        r'\1"\2"',
        DEFAULT_PATH.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    await seed(database_url, edited_catalogue(tmp_path, province_era))
    received = dossier(code="000.00.07.H19-260415-0001")  # led by SXD in April 2026
    await project(sessions, view(received))
    async with sessions() as session:
        before = await catalogue_db.agency_names(session, [LEAD, "CAT"])
    assert before == {LEAD: "Sở Xây dựng tỉnh Đồng Nai", "CAT": "Công an tỉnh Đồng Nai"}

    report = await seed(database_url)

    assert not report.agencies_added and not report.procedures_updated
    assert len(report.agencies_updated) == 14 and {LEAD, "CAT", "TTHCC"} <= set(
        report.agencies_updated
    )
    async with sessions() as session:
        after = await catalogue_db.agency_names(session, [LEAD, "CAT"])
        found = await get_dossier(session, received.code)
    assert after == {LEAD: "Sở Xây dựng thành phố Đồng Nai", "CAT": "Công an thành phố Đồng Nai"}
    assert found is not None and found[0].lead_agency == LEAD


async def test_entries_dropped_from_the_catalogue_are_kept(sessions: Sessions) -> None:
    """A procedure that dossiers were received under, and an agency, stay in the table when the
    file no longer lists them; changed entries are updated."""
    full = load_catalogue()
    kept_procedure = full.procedure("DN-DKKD-001")
    assert kept_procedure is not None
    received = dossier(code="000.00.08.H19-250303-0001", procedure=kept_procedure)
    async with sessions() as session:
        await catalogue_db.seed_catalogue(session, full)
    await project(sessions, view(received))
    renamed = full.procedures[0].model_copy(update={"name": "Cấp giấy phép xây dựng (sửa)"})
    smaller = Catalogue(
        agencies=[a for a in full.agencies if a.code != "UBND-CAMMY"],
        procedures=[renamed, *(p for p in full.procedures[1:] if p.code != "DN-DKKD-001")],
    )

    async with sessions() as session:
        report = await catalogue_db.seed_catalogue(session, smaller)
        kept = await catalogue_db.get_procedure(session, "DN-DKKD-001")
        kept_agency = await catalogue_db.get_agency(session, "UBND-CAMMY")
        renamed_row = await catalogue_db.get_procedure(session, renamed.code)

    assert report == catalogue_db.SeedReport(
        procedures_updated=[renamed.code], not_in_file=["DN-DKKD-001", "UBND-CAMMY"]
    )
    assert kept is not None and kept.name == kept_procedure.name
    assert kept_agency is not None
    assert renamed_row is not None and renamed_row.name == "Cấp giấy phép xây dựng (sửa)"
    assert len(await rows(sessions, AgencyRecord)) == len(full.agencies)
    assert len(await rows(sessions, ProcedureRecord)) == len(full.procedures)


async def test_r3_seed_refuses_a_catalogue_that_would_leave_two_home_affairs_agencies(
    sessions: Sessions,
) -> None:
    """The file names a new Department of Home Affairs and drops the old one: the old one is
    kept (never deleted), so the table would hold two; refused, and nothing written."""
    full = load_catalogue()
    async with sessions() as session:
        await catalogue_db.seed_catalogue(session, full)
    before = await rows(sessions, AgencyRecord)
    moved = Catalogue(
        agencies=[
            *(a for a in full.agencies if a.kind is not AgencyKind.HOME_AFFAIRS),
            Agency(
                code="SNV2", name="Sở Nội vụ (mới)", kind="home_affairs", unit_id="000.99.99.H19"
            ),
        ],
        procedures=full.procedures,
    )

    async with sessions() as session:
        with pytest.raises(ValueError, match="home_affairs"):
            await catalogue_db.seed_catalogue(session, moved)

    assert await rows(sessions, AgencyRecord) == before


async def test_catalogue_look_ups(database_url: str, sessions: Sessions) -> None:
    await seed(database_url)
    codes = sorted(a.code for a in load_catalogue().agencies)
    pages: list[list[str]] = []
    after: str | None = None
    async with sessions() as session:
        while page := await catalogue_db.list_agencies(session, limit=10, after=after):
            pages.append([a.code for a in page])
            after = page[-1].code
        procedures = await catalogue_db.list_procedures(session, limit=500)
        home_affairs = await catalogue_db.home_affairs_agency(session)
        procedure = await catalogue_db.get_procedure(session, "DN-XD-001")
        unknown = await catalogue_db.unknown_agencies(session, ["SXD", "SXX", "SNV", "SXX", "ABC"])
        missing = await catalogue_db.get_agency(session, "SXX")
        with pytest.raises(ValueError, match="limit"):
            await catalogue_db.list_procedures(session, limit=0)

    assert all(len(p) == 10 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 10
    assert [c for page in pages for c in page] == codes
    assert [p.code for p in procedures] == sorted(p.code for p in load_catalogue().procedures)
    assert (home_affairs.code, home_affairs.kind) == (HOME_AFFAIRS, "home_affairs")
    assert procedure is not None and procedure.lead_agency == LEAD
    assert procedure.required_documents and all(
        isinstance(d, str) for d in procedure.required_documents
    )
    assert unknown == ["SXX", "ABC"]
    assert missing is None


async def test_home_affairs_look_up_fails_loudly_before_seeding(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(LookupError, match=r"db\.migrate"):
            await catalogue_db.home_affairs_agency(session)


async def test_admin_edits_add_and_change_entries(database_url: str, sessions: Sessions) -> None:
    await seed(database_url)
    xd = load_catalogue().procedure("DN-XD-001")
    assert xd is not None
    new_agency = Agency(
        code="SNGV", name="Sở Ngoại vụ thành phố Đồng Nai", kind=AgencyKind.DEPARTMENT,
        unit_id="000.00.99.H19",
    )  # fmt: skip

    async with sessions() as session:
        longer = await catalogue_db.upsert_procedure(
            session, xd.model_copy(update={"processing_days": 25})
        )
        added = await catalogue_db.upsert_agency(session, new_agency)
        moved = await catalogue_db.upsert_procedure(
            session, xd.model_copy(update={"code": "DN-XD-002", "lead_agency": "SNGV"})
        )

    assert (longer.code, longer.processing_days) == ("DN-XD-001", 25)
    assert (added.code, added.kind, added.unit_id) == ("SNGV", "department", "000.00.99.H19")
    assert (moved.code, moved.lead_agency) == ("DN-XD-002", "SNGV")


def _unknown_lead(c: Catalogue) -> Agency | Procedure:
    return _entry(c.procedure("DN-XD-001")).model_copy(
        update={"code": "DN-XD-009", "lead_agency": "SXX"}
    )


def _beyond_processing_time(c: Catalogue) -> Agency | Procedure:
    return _entry(c.procedure("DN-XD-001")).model_copy(update={"max_consultation_days": 30})


def _unit_id_taken(c: Catalogue) -> Agency | Procedure:
    return _entry(c.agency(LEAD)).model_copy(update={"code": "SXD2"})


def _no_home_affairs(c: Catalogue) -> Agency | Procedure:
    return _entry(c.agency(HOME_AFFAIRS)).model_copy(update={"kind": AgencyKind.DEPARTMENT})


_Entry = TypeVar("_Entry", Agency, Procedure)


def _entry(entry: _Entry | None) -> _Entry:
    assert entry is not None
    return entry


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_unknown_lead, "lead_agency 'SXX' is not an agency"),
        (_beyond_processing_time, "max_consultation_days must be between 1 and processing_days"),
        (_unit_id_taken, "unit_id listed more than once"),
        (_no_home_affairs, "exactly one agency must have kind home_affairs"),
    ],
    ids=["unknown_lead_agency", "r2_beyond_processing_time", "unit_id_taken", "no_home_affairs"],
)
async def test_admin_edit_that_breaks_the_catalogue_is_refused_and_writes_nothing(
    database_url: str,
    sessions: Sessions,
    edit: Callable[[Catalogue], Agency | Procedure],
    message: str,
) -> None:
    await seed(database_url)
    before = (await rows(sessions, AgencyRecord), await rows(sessions, ProcedureRecord))
    entry = edit(load_catalogue())

    async with sessions() as session:
        with pytest.raises(ValueError, match=re.escape(message)):
            if isinstance(entry, Agency):
                await catalogue_db.upsert_agency(session, entry)
            else:
                await catalogue_db.upsert_procedure(session, entry)

    assert (await rows(sessions, AgencyRecord), await rows(sessions, ProcedureRecord)) == before


# --- the projection activity --------------------------------------------------------------------


async def test_projection_writes_the_dossier_its_consultations_and_events(
    sessions: Sessions,
) -> None:
    d = dossier()
    consult(d, (FIRE, ENV))
    reply(d, FIRE)
    remind(d, 2)  # ENV's reminder 1, at its deadline
    p = view(d, now=OVERDUE)

    receipt = await project(sessions, p)

    assert receipt == Receipt(dossier=d.code, version=len(d.events), applied=True)
    found = await stored(sessions, d.code)
    row = found["dossier"]
    assert row | {"updated_at": None} == {
        "code": d.code,
        "procedure_code": PROCEDURE.code,
        "procedure_name": PROCEDURE.name,
        "lead_agency": LEAD,
        "receiving_desk": LEAD,  # received by its lead agency itself
        "applicant": APPLICANT.model_dump(mode="json"),
        "applicant_phone": "0913456789",
        "applicant_search": "nguyen thi hoa",  # the name folded for the inbox's search
        "status": "consulting",
        "national_status": 4,
        "received_at": NOW,
        "due_at": DUE,
        "completed_at": None,
        "closed_at": None,
        "late": False,
        "withdrawal": None,
        "abnormal_close": None,
        "version": len(d.events),
        "updated_at": None,
        "counted": False,  # open: not in the report totals yet
        "events_counted": 0,  # no SOS event to count
        "fence": None,  # written unfenced (an activity after the task, or the rebuild)
        "people": {"can-bo.sxd": "Lê Văn Minh"},  # who received it, by name, for the forms
    }
    assert row["updated_at"].tzinfo is UTC
    assert [
        (c["number"], c["agency"], c["status"], c["replied_at"], c["opinion"])
        for c in found["consultations"]
    ] == [(1, FIRE, "answered", LATER, OPINION), (2, ENV, "overdue", None, None)]
    fire, env = found["consultations"]
    assert (fire["counted"], env["counted"]) == (True, False)  # the answer is final, in the totals
    assert (fire["content"], fire["deadline"], fire["requested_at"]) == (
        d.consultations[0].content, DEADLINE, SOON,
    )  # fmt: skip
    assert (fire["reminders"], fire["reminder_1_at"], fire["reminder_2_at"]) == ([], None, None)
    assert env["reminders"] == [{"level": 1, "sent_at": "2025-03-06T10:00:00Z", "cc": []}]
    assert (env["reminder_1_at"], env["reminder_2_at"]) == (DEADLINE, None)
    assert found["events"] == event_rows(d.code, d)
    assert [e["kind"] for e in found["events"]] == [
        "received", "consultation_requested", "consultation_requested",
        "consultation_answered", "reminder_1",
    ]  # fmt: skip


async def test_retried_projection_changes_nothing(sessions: Sessions) -> None:
    d = dossier()
    consult(d, (FIRE,))
    p = view(d)
    await project(sessions, p)
    before = await stored(sessions, d.code)

    with structlog.testing.capture_logs() as logs:
        retry = await project(sessions, p)

    assert retry == Receipt(dossier=d.code, version=p.version, applied=False)
    assert await stored(sessions, d.code) == before  # updated_at included
    assert {"event": "dossier_projected", "dossier": d.code, "applied": False}.items() <= logs[
        0
    ].items()


async def test_older_projection_after_a_newer_one_keeps_the_newer_state_and_adds_its_events(
    sessions: Sessions,
) -> None:
    d = dossier()
    consult(d, (FIRE,))
    older = view(d)  # events 1-2, consultation awaiting
    reply(d, FIRE)
    newer = view(d, since=older.version)  # event 3 only, consultation answered

    assert (await project(sessions, newer)).applied
    late = await project(sessions, older)

    assert late == Receipt(dossier=d.code, version=older.version, applied=False)
    found = await stored(sessions, d.code)
    assert (found["dossier"]["version"], found["dossier"]["status"]) == (3, "processing")
    assert [c["status"] for c in found["consultations"]] == ["answered"]
    assert found["events"] == event_rows(d.code, d)


async def test_events_are_never_duplicated_by_overlapping_concurrent_projections(
    sessions: Sessions,
) -> None:
    d = dossier()
    stages = [view(d)]
    consult(d, (FIRE, ENV))
    stages.append(view(d))
    reply(d, FIRE)
    stages.append(view(d, since=1))
    reply(d, ENV)
    sos(d, SosAction.STOP, at=LATER + timedelta(hours=1))  # no opinion awaited any more (R4)
    stages.append(view(d, since=2))

    # Every stage twice, newest and oldest interleaved, all at once.
    receipts = await asyncio.gather(*(project(sessions, p) for p in [*stages, *reversed(stages)]))

    assert [r.applied for r in receipts].count(True) >= 1
    found = await stored(sessions, d.code)
    assert found["events"] == event_rows(d.code, d)
    assert (found["dossier"]["version"], found["dossier"]["status"]) == (len(d.events), "stopped")
    async with sessions() as session:
        count = (await session.exec(select(func.count()).select_from(EventRecord))).one()
    assert count == len(d.events)


async def test_final_projection_records_the_close(sessions: Sessions) -> None:
    d = dossier()
    record_result(d)
    await project(sessions, view(d))
    hand_over(d)

    await project(sessions, view(d, since=len(d.events) - 1))

    row = (await stored(sessions, d.code))["dossier"]
    assert (row["status"], row["national_status"], row["completed_at"], row["closed_at"]) == (
        "completed", 10, LATER, LATER,
    )  # fmt: skip


# --- dossier codes ------------------------------------------------------------------------------

UNIT = "000.00.06.H19"
OTHER_UNIT = "000.00.10.H19"


async def take_code(sessions: Sessions, unit_id: str, at: datetime) -> str:
    async with sessions() as session:
        return await next_dossier_code(session, unit_id, at)


async def test_codes_count_from_0001_per_unit_and_per_local_day(sessions: Sessions) -> None:
    late_evening = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)  # 23:30 on 2/3 in Vietnam
    after_midnight = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # 00:30 on 3/3 in Vietnam

    codes = [
        await take_code(sessions, UNIT, late_evening),
        await take_code(sessions, UNIT, late_evening),
        await take_code(sessions, UNIT, after_midnight),
        await take_code(sessions, OTHER_UNIT, late_evening),
        await take_code(sessions, UNIT, vn(2026, 3, 2, 8)),
    ]

    assert codes == [
        f"{UNIT}-260302-0001",
        f"{UNIT}-260302-0002",
        f"{UNIT}-260303-0001",
        f"{OTHER_UNIT}-260302-0001",
        f"{UNIT}-260302-0003",
    ]


async def test_fifty_concurrent_receipts_get_fifty_consecutive_codes(sessions: Sessions) -> None:
    at = vn(2026, 3, 2, 9)

    codes = await asyncio.gather(*(take_code(sessions, UNIT, at) for _ in range(50)))

    assert sorted(codes) == [f"{UNIT}-260302-{n:04d}" for n in range(1, 51)]


async def test_codes_past_9999_in_a_day_keep_counting_on_five_digits(sessions: Sessions) -> None:
    async with sessions() as session:
        session.add(DossierCodeCounter(unit_id=UNIT, day="260302", last=9998))
        await session.commit()
    at = vn(2026, 3, 2, 9)

    codes = [await take_code(sessions, UNIT, at) for _ in range(2)]

    assert codes == [f"{UNIT}-260302-9999", f"{UNIT}-260302-10000"]


async def test_code_of_a_naive_time_is_refused(sessions: Sessions) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        await take_code(sessions, UNIT, datetime(2026, 3, 2, 9))


# --- list_dossiers ------------------------------------------------------------------------------

OTHER_PROCEDURE = PROCEDURE.model_copy(update={"code": "DN-LLTP-001", "lead_agency": "STP"})
AFTER_DUE = vn(2025, 3, 25, 9)  # the day after DUE


def corpus() -> list[Dossier]:
    """Dossiers A-G received on 3/3/2025 (C and D at the same minute), in every situation the
    filters tell apart. Newest first: D, C, B, A, F, E, G."""
    a = dossier(code="A", at=vn(2025, 3, 3, 8))  # SXD, processing
    b = dossier(code="B", at=vn(2025, 3, 3, 8, 30))  # SXD, consulting FIRE
    consult(b, (FIRE,))
    c = dossier(code="C", at=vn(2025, 3, 3, 9), procedure=OTHER_PROCEDURE)  # STP, processing
    d = dossier(code="D", at=vn(2025, 3, 3, 9), procedure=OTHER_PROCEDURE)  # STP, consulting ENV
    apply(d, consultation_request((ENV,), by=officer("STP")), SOON)
    e = dossier(code="E", at=vn(2025, 3, 3, 7))  # SXD, completed
    record_result(e)
    hand_over(e)
    f = dossier(code="F", at=vn(2025, 3, 3, 7, 30))  # SXD, late: R13 notice, then its due date
    ring(f)
    ring(f)
    assert f.late
    g = dossier(code="G", at=vn(2025, 3, 3, 6))  # SXD, awaiting a supplement: no due date
    sos(g, SosAction.SUPPLEMENT)
    assert g.due_at is None
    return [a, b, c, d, e, f, g]


async def project_corpus(sessions: Sessions) -> None:
    for d in corpus():
        await project(sessions, view(d))


async def listed(sessions: Sessions, **filters: Any) -> list[str]:
    filters.setdefault("now", LATER)
    async with sessions() as session:
        return [d.code for d in await list_dossiers(session, **filters)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, "DCBAFEG"),
        ({"status": "consulting"}, "DB"),
        ({"status": "completed"}, "E"),
        ({"lead_agency": "STP"}, "DC"),
        ({"overdue": True}, "F"),
        ({"overdue": False}, "DCBAEG"),
        ({"overdue": True, "now": AFTER_DUE}, "DCBAF"),
        ({"overdue": False, "now": AFTER_DUE}, "EG"),
        ({"overdue": True, "now": AFTER_DUE, "lead_agency": LEAD}, "BAF"),
        ({"visible_to_agency": FIRE}, "B"),
        ({"visible_to_agency": ENV}, "D"),
        ({"visible_to_agency": "STP"}, "DC"),
        ({"visible_to_agency": LEAD}, "BAFEG"),
        ({"visible_to_agency": HOME_AFFAIRS}, ""),
        ({"visible_to_agency": FIRE, "status": "processing"}, ""),
        ({"visible_to_agency": ENV, "overdue": True, "now": AFTER_DUE}, "D"),
    ],
    ids=[
        "all", "status", "status_final", "lead_agency", "overdue_late", "not_overdue",
        "overdue_past_due", "not_overdue_past_due", "overdue_and_lead", "visible_consulted",
        "visible_consulted_other", "visible_lead", "visible_lead_many", "visible_none",
        "visible_and_status", "visible_and_overdue",
    ],
)  # fmt: skip
async def test_list_dossiers_filters(
    sessions: Sessions, filters: dict[str, Any], expected: str
) -> None:
    await project_corpus(sessions)
    assert await listed(sessions, **filters) == list(expected)


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
async def test_list_dossiers_pages_by_keyset_without_gaps_or_repeats(
    sessions: Sessions, limit: int
) -> None:
    await project_corpus(sessions)
    pages: list[list[str]] = []
    after: tuple[datetime, str] | None = None
    async with sessions() as session:
        while page := await list_dossiers(session, now=LATER, limit=limit, after=after):
            pages.append([d.code for d in page])
            after = (page[-1].received_at, page[-1].code)
        filtered = await list_dossiers(
            session, now=LATER, lead_agency=LEAD, limit=2, after=(vn(2025, 3, 3, 8), "A")
        )
        with pytest.raises(ValueError, match="limit"):
            await list_dossiers(session, now=LATER, limit=0)

    assert all(len(p) <= limit for p in pages)
    assert [code for page in pages for code in page] == list("DCBAFEG")
    assert [d.code for d in filtered] == ["F", "E"]


# --- the citizens' look-up ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "phone", "found"),
    [
        ("P", "0913456789", True),
        ("P", " 0913 456 789 ", True),  # spaces do not matter
        ("P", "0913456780", False),  # wrong phone
        ("P", "", False),
        ("P", None, False),
        ("X", "0913456789", False),  # unknown code
        ("Q", "0913456789", False),  # another applicant's dossier
        ("Q", "", False),  # no phone on either side is no match
    ],
    ids=["right", "spaces", "wrong", "empty", "missing", "unknown_code", "other", "none"],
)
async def test_find_for_public_needs_the_applicants_phone(
    sessions: Sessions, code: str, phone: str | None, found: bool
) -> None:
    spaced = APPLICANT.model_copy(update={"phone": "0913 456 789"})
    await project(sessions, view(dossier(code="P", applicant=spaced)))
    no_phone = Applicant(name="Trần Văn Bình")
    await project(sessions, view(dossier(code="Q", applicant=no_phone)))

    async with sessions() as session:
        answer = await find_for_public(session, code, phone)

    assert (answer is not None) == found
    if answer is not None:
        assert (answer.code, answer.due_at) == ("P", DUE)


# --- refusals after the close ---------------------------------------------------------------------


def closed_refusal(action: str, status: str) -> dict[str, Any]:
    refusal = refuse(Code.DOSSIER_CLOSED, status=status)
    return {"action": action, "code": refusal.code.value, "reason": refusal.message_vi,
            "via": "api", **refusal.facts}  # fmt: skip


async def test_r9_refusal_after_the_close_is_appended_after_the_last_event(
    sessions: Sessions,
) -> None:
    d = dossier()
    record_result(d)
    hand_over(d)
    await project(sessions, view(d))
    last = len(d.events)
    at = LATER + timedelta(days=1)

    async with sessions() as session:
        first = await record_refusal_after_close(
            session, d.code, at, "can-bo.sxd", closed_refusal("sos", "completed")
        )
        second = await record_refusal_after_close(
            session, d.code, at, "can-bo.sxd", closed_refusal("result", "completed")
        )
        with pytest.raises(LookupError):
            await record_refusal_after_close(session, "X", at, "can-bo.sxd", {})

    assert (first.seq, second.seq) == (last + 1, last + 2)
    events = (await stored(sessions, d.code))["events"]
    assert events[:last] == event_rows(d.code, d)
    assert events[last] == {
        "dossier": d.code, "seq": last + 1, "at": at, "kind": "refused",
        "actor": "can-bo.sxd", "detail": closed_refusal("sos", "completed"),
    }  # fmt: skip
    assert events[last + 1]["detail"]["action"] == "result"


async def test_r9_concurrent_refusals_after_the_close_get_consecutive_seqs(
    sessions: Sessions,
) -> None:
    d = dossier()
    sos(d, SosAction.RETURN)
    await project(sessions, view(d))
    last = len(d.events)

    async def attempt(n: int) -> int:
        async with sessions() as session:
            event = await record_refusal_after_close(
                session, d.code, LATER, f"can-bo.{n}", closed_refusal("sos", "returned")
            )
        return event.seq

    seqs = await asyncio.gather(*(attempt(n) for n in range(10)))

    assert sorted(seqs) == list(range(last + 1, last + 11))
    events = (await stored(sessions, d.code))["events"]
    assert [e["seq"] for e in events] == list(range(1, last + 11))
