"""The notice outbox on SQLite and PostgreSQL: the migration, the idempotent `record_notice`
activity (run as a real activity call) and the `list_notices` query.

Every test here runs on both databases (`database_url` is parametrised): `[sqlite]` on a file,
`[postgresql]` on a database of its own on the real server.
"""

from __future__ import annotations

import asyncio
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import ActivityEnvironment

from activities.notices import NoticeActivities, NoticeReceipt
from db.engine import create_engine
from db.migrate import alembic_config, upgrade
from db.models import NoticeRecord
from db.notices import list_notices
from domain.notices import APPLICANT, Notice, NoticeKind

Sessions = async_sessionmaker[AsyncSession]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SENT_AT = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=VIETNAM)
HOME_AFFAIRS = "SNV"  # Sở Nội vụ


def reminder_2(**changes: object) -> Notice:
    """A second reminder to the environment department, copied to Home Affairs (R3)."""
    notice = Notice(
        key="HS-001/reminder_2/STNMT/1",
        kind=NoticeKind.REMINDER_2,
        dossier="HS-001",
        to="STNMT",
        cc=[HOME_AFFAIRS],
        sent_at=SENT_AT,
        subject="Nhắc lần 2: quá hạn cho ý kiến về hồ sơ HS-001",
        body=(
            "Đề nghị cho ý kiến về hồ sơ HS-001 (Cấp giấy phép xây dựng) của "
            "Nguyễn Thị Ánh Tuyết đã quá thời hạn trả lời (09:00 25/11/2026).\n"
            "Văn bản nhắc lần 2 được đồng gửi Sở Nội vụ để theo dõi, đánh giá công vụ.\r\n"
            # Decomposed (NFD) letters and odd spacing must come back untouched, not normalised.
            f"\t{unicodedata.normalize('NFD', 'Huỳnh Đức Hòa, Biên Hòa, Đồng Nai')}  \n"
        ),
    )
    return notice.model_copy(update=changes)


async def record(sessions: Sessions, notice: Notice) -> NoticeReceipt:
    """`record_notice` as Temporal calls it: in an activity context, with no mocks."""
    return await ActivityEnvironment().run(NoticeActivities(sessions).record_notice, notice)


async def count_rows(sessions: Sessions) -> int:
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(NoticeRecord))).one()


# --- the migration --------------------------------------------------------------------------


async def schema(url: str) -> dict[str, Any]:
    """Tables, `notices` columns, unique constraints, indexes and the stamped revision."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def read(sync_connection: object) -> dict[str, Any]:
                inspector = inspect(sync_connection)
                tables = set(inspector.get_table_names())
                found: dict[str, Any] = {"tables": tables}
                if "notices" in tables:
                    found["columns"] = {c["name"] for c in inspector.get_columns("notices")}
                    found["unique"] = {
                        (u["name"], tuple(u["column_names"]))
                        for u in inspector.get_unique_constraints("notices")
                    }
                    found["indexes"] = {
                        (i["name"], tuple(i["column_names"]))
                        for i in inspector.get_indexes("notices")
                    }
                return found

            found = await connection.run_sync(read)
            if "alembic_version" in found["tables"]:
                found["revision"] = (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar_one_or_none()
            return found
    finally:
        await engine.dispose()


HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def test_migration_creates_the_notice_table_and_rerunning_it_changes_nothing(
    database_url: str, sessions: Sessions
) -> None:
    found = await schema(database_url)
    assert found["tables"] >= {"alembic_version", "notices"}
    assert found["revision"] == HEAD
    assert found["columns"] == {
        "id", "key", "kind", "dossier", "recipient", "cc",
        "sent_at", "subject", "body", "recorded_at",
        # how it reached people (0004, activities.delivery)
        "delivery_status", "delivery_channel", "delivery_attempts", "delivered_at",
        "delivery_error",
        # the version of the fenced settlement that wrote it (0012, db.settlement)
        "settlement_version",
    }  # fmt: skip
    assert ("uq_notices_key", ("key",)) in found["unique"]
    assert found["indexes"] >= {
        ("ix_notices_kind", ("kind",)),
        ("ix_notices_dossier", ("dossier",)),
        ("ix_notices_recipient", ("recipient",)),
        ("ix_notices_delivery_status", ("delivery_status",)),
    }
    receipt = await record(sessions, reminder_2())

    await asyncio.to_thread(upgrade, database_url)
    upgrade(database_url)  # also callable while this test's event loop is running

    assert await schema(database_url) == found
    async with sessions() as session:
        assert (await session.get(NoticeRecord, receipt.id)) is not None


async def test_migration_downgrades_to_an_empty_database_and_upgrades_again(
    database_url: str,
) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "base")
    assert (await schema(database_url))["tables"] == {"alembic_version"}

    await asyncio.to_thread(upgrade, database_url)
    assert (await schema(database_url))["revision"] == HEAD


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
    finally:
        await engine.dispose()
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 15_000, "foreign_keys": 1}


# --- record_notice --------------------------------------------------------------------------


async def test_r12_recorded_notice_keeps_every_field_exactly(sessions: Sessions) -> None:
    notice = reminder_2()
    before = datetime.now(UTC)

    receipt = await record(sessions, notice)

    assert receipt.created and receipt.key == notice.key
    async with sessions() as session:
        row = await session.get(NoticeRecord, receipt.id)
    assert row is not None
    assert (row.key, row.kind, row.dossier, row.to, row.cc) == (
        notice.key, "reminder_2", "HS-001", "STNMT", [HOME_AFFAIRS],
    )  # fmt: skip
    assert row.subject.encode() == notice.subject.encode()
    assert row.body.encode() == notice.body.encode()
    assert row.sent_at == SENT_AT and row.sent_at.tzinfo is UTC
    assert row.sent_at.microsecond == SENT_AT.microsecond
    assert row.recorded_at is not None and row.recorded_at.tzinfo is UTC
    # SQLite's CURRENT_TIMESTAMP has whole seconds.
    assert before - timedelta(seconds=1) <= row.recorded_at <= datetime.now(UTC)
    assert Notice.model_validate(row, from_attributes=True) == notice


async def test_r3_retried_reminder_is_recorded_once(sessions: Sessions) -> None:
    first = await record(sessions, reminder_2())
    retry = await record(sessions, reminder_2())

    assert first.created and not retry.created
    assert retry.id == first.id
    assert await count_rows(sessions) == 1


async def test_r3_concurrent_attempts_at_one_reminder_record_one_row(sessions: Sessions) -> None:
    receipts = await asyncio.gather(*(record(sessions, reminder_2()) for _ in range(20)))

    assert [r.created for r in receipts].count(True) == 1
    assert {r.id for r in receipts} == {receipts[0].id}
    assert await count_rows(sessions) == 1


async def test_r12_notices_with_different_keys_get_rows_of_their_own(sessions: Sessions) -> None:
    first = await record(sessions, reminder_2())
    other = await record(sessions, reminder_2(key="HS-001/reminder_2/SXD/2", to="SXD"))

    assert first.created and other.created and first.id != other.id
    assert await count_rows(sessions) == 2


async def test_reused_key_keeps_the_first_notice_and_warns(sessions: Sessions) -> None:
    first = await record(sessions, reminder_2())
    with structlog.testing.capture_logs() as logs:
        clash = await record(sessions, reminder_2(subject="Một thông báo khác"))

    assert (clash.id, clash.created) == (first.id, False)
    assert {"event": "notice_key_reused", "key": first.key, "id": first.id}.items() <= logs[
        0
    ].items()
    async with sessions() as session:
        row = await session.get(NoticeRecord, first.id)
    assert row is not None and row.subject == reminder_2().subject


async def test_naive_sent_at_is_refused(sessions: Sessions) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await record(sessions, reminder_2(sent_at=datetime(2026, 11, 27, 9, 30)))
    assert await count_rows(sessions) == 0


# --- list_notices ---------------------------------------------------------------------------

SEED: list[tuple[str, NoticeKind, str, str, list[str]]] = [
    # name, kind, dossier, to, cc
    ("request_stnmt", NoticeKind.CONSULTATION_REQUEST, "HS-001", "STNMT", []),
    ("request_sxd", NoticeKind.CONSULTATION_REQUEST, "HS-001", "SXD", []),
    ("reminder1_stnmt", NoticeKind.REMINDER_1, "HS-001", "STNMT", []),
    ("reminder2_stnmt", NoticeKind.REMINDER_2, "HS-001", "STNMT", [HOME_AFFAIRS]),
    ("request_snv2", NoticeKind.CONSULTATION_REQUEST, "HS-002", "SNV2", []),
    ("reminder2_sxd", NoticeKind.REMINDER_2, "HS-002", "SXD", [HOME_AFFAIRS, "SCT"]),
    ("result_applicant", NoticeKind.RESULT_READY, "HS-002", APPLICANT, ["SNV2"]),
]


async def seed(sessions: Sessions) -> dict[str, int]:
    """Record the SEED notices in order; their ids by name."""
    ids = {}
    for name, kind, dossier, to, cc in SEED:
        notice = reminder_2(key=f"{dossier}/{name}", kind=kind, dossier=dossier, to=to, cc=cc)
        ids[name] = (await record(sessions, notice)).id
    return ids


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [name for name, *_ in SEED]),
        ({"dossier": "HS-002"}, ["request_snv2", "reminder2_sxd", "result_applicant"]),
        ({"kind": "consultation_request"}, ["request_stnmt", "request_sxd", "request_snv2"]),
        ({"agency": "STNMT"}, ["request_stnmt", "reminder1_stnmt", "reminder2_stnmt"]),
        ({"agency": "SCT"}, ["reminder2_sxd"]),
        # Exact codes: "SNV" is not "SNV2", whether in `to` or in `cc`.
        ({"agency": "SNV2"}, ["request_snv2", "result_applicant"]),
        ({"agency": APPLICANT}, ["result_applicant"]),
        ({"agency": "SXD", "dossier": "HS-001"}, ["request_sxd"]),
        ({"dossier": "HS-404"}, []),
    ],
    ids=[
        "all", "dossier", "kind", "agency_in_to", "agency_in_cc", "agency_exact_code",
        "applicant", "agency_and_dossier", "unknown_dossier",
    ],
)  # fmt: skip
async def test_list_notices_filters(
    sessions: Sessions, filters: dict[str, Any], expected: list[str]
) -> None:
    ids = await seed(sessions)
    async with sessions() as session:
        found = await list_notices(session, **filters)
    assert [n.id for n in found] == [ids[name] for name in expected]


async def test_r3_home_affairs_sees_every_second_reminder_through_cc(sessions: Sessions) -> None:
    ids = await seed(sessions)
    async with sessions() as session:
        seen = await list_notices(session, agency=HOME_AFFAIRS)
        second_reminders = await list_notices(session, kind=NoticeKind.REMINDER_2)
    assert [n.id for n in seen] == [ids["reminder2_stnmt"], ids["reminder2_sxd"]]
    assert seen == second_reminders and all(HOME_AFFAIRS in n.cc for n in seen)


async def test_list_notices_pages_by_id_without_gaps_or_repeats(sessions: Sessions) -> None:
    ids = await seed(sessions)
    pages: list[list[int | None]] = []
    after_id: int | None = None
    async with sessions() as session:
        while page := await list_notices(session, limit=3, after_id=after_id):
            pages.append([n.id for n in page])
            after_id = page[-1].id
        filtered = await list_notices(
            session, agency="STNMT", limit=1, after_id=ids["request_stnmt"]
        )
        with pytest.raises(ValueError, match="limit"):
            await list_notices(session, limit=0)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert (
        [i for page in pages for i in page]
        == sorted(ids.values())
        == [ids[name] for name, *_ in SEED]
    )
    assert [n.id for n in filtered] == [ids["reminder1_stnmt"]]
