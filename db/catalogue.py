"""The catalogue in the database: seeding it from `data/catalogue.toml`, the admins' edits, and
the look-ups the API makes (API.md "Catalogue").

The file is the province's reviewed source and is applied at every start (`python -m
db.migrate`); admins may add or change entries between two edits of the file. Nothing is ever
deleted: dossiers, tokens and reports name agencies and procedures by code, so an entry dropped
from the file stays in the table (and `SeedReport.not_in_file` lists it).

Every change is checked as `domain.catalogue` checks the file, on the catalogue as it would be
after the change (codes and unit identifiers in their form, unit identifiers unique, exactly one
`home_affairs` agency, a procedure's lead agency known, R2's maximum within the processing
time...), so the table never holds what the file would be refused for. A refused change raises
ValueError and writes nothing. The writing functions commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import AgencyRecord, ProcedureRecord
from domain.catalogue import Agency, AgencyKind, Catalogue
from domain.dossier import Procedure
from domain.limits import AS_RECORDED  # rows hold what was accepted, perhaps before the limits


class SeedReport(BaseModel):
    """What `seed_catalogue` changed, by code; entries already as in the file are not listed."""

    agencies_added: list[str] = Field(default_factory=list)
    agencies_updated: list[str] = Field(default_factory=list)
    procedures_added: list[str] = Field(default_factory=list)
    procedures_updated: list[str] = Field(default_factory=list)
    # In the table but no longer in the file: kept, since dossiers may name them.
    not_in_file: list[str] = Field(default_factory=list)


# --- seeding ---------------------------------------------------------------------------------


async def seed_catalogue(session: AsyncSession, catalogue: Catalogue) -> SeedReport:
    """Make the table's agencies and procedures those of `catalogue`: insert the new ones,
    update the changed ones, keep the others; commit. Idempotent: a second run changes nothing.

    The whole catalogue the table will then hold (the file's entries and the kept ones) is
    checked first, so that, say, a kept agency still marked `home_affairs` after the file named
    another one is refused rather than leaving two.
    """
    agencies = {a.code: a for a in map(_agency, await _all(session, AgencyRecord))}
    procedures = {p.code: p for p in map(_procedure, await _all(session, ProcedureRecord))}
    report = SeedReport(
        not_in_file=sorted(
            (agencies.keys() - {a.code for a in catalogue.agencies})
            | (procedures.keys() - {p.code for p in catalogue.procedures})
        )
    )
    changed_agencies = _changes(
        agencies, catalogue.agencies, report.agencies_added, report.agencies_updated
    )
    changed_procedures = _changes(
        procedures, catalogue.procedures, report.procedures_added, report.procedures_updated
    )
    _check({**agencies, **{a.code: a for a in catalogue.agencies}}.values(), [])
    await _upsert(session, AgencyRecord, [a.model_dump(mode="json") for a in changed_agencies])
    await _upsert(session, ProcedureRecord, [p.model_dump(mode="json") for p in changed_procedures])
    await session.commit()
    return report


def _changes(
    stored: dict[str, Any], wanted: Iterable[Any], added: list[str], updated: list[str]
) -> list[Any]:
    """The entries of `wanted` that differ from `stored` (by code), noting which are new."""
    changed = []
    for entry in wanted:
        before = stored.get(entry.code)
        if before == entry:
            continue
        (added if before is None else updated).append(entry.code)
        changed.append(entry)
    return changed


# --- admins' edits --------------------------------------------------------------------------


async def upsert_agency(session: AsyncSession, agency: Agency) -> AgencyRecord:
    """Add `agency` or change the one with its code; commit. ValueError when the catalogue
    would break (a unit identifier taken, no or two `home_affairs` agencies, a malformed code)."""
    agencies = {a.code: a for a in map(_agency, await _all(session, AgencyRecord))}
    agencies[agency.code] = agency
    _check(agencies.values(), [])
    await _upsert(session, AgencyRecord, [agency.model_dump(mode="json")])
    await session.commit()
    record = await get_agency(session, agency.code)
    assert record is not None
    return record


async def upsert_procedure(session: AsyncSession, procedure: Procedure) -> ProcedureRecord:
    """Add `procedure` or change the one with its code; commit. ValueError when its lead agency
    is not in the catalogue, or it breaks another rule of the file (R2, R10, its code's form)."""
    if await get_agency(session, procedure.lead_agency) is None:
        raise ValueError(
            f"procedure {procedure.code}: lead_agency {procedure.lead_agency!r} "
            "is not an agency of the catalogue"
        )
    _check(map(_agency, await _all(session, AgencyRecord)), [procedure])
    await _upsert(session, ProcedureRecord, [procedure.model_dump(mode="json")])
    await session.commit()
    record = await get_procedure(session, procedure.code)
    assert record is not None
    return record


def _check(agencies: Iterable[Agency], procedures: Sequence[Procedure]) -> None:
    """Raise ValueError unless `agencies` with `procedures` pass the file's checks."""
    try:
        Catalogue(agencies=list(agencies), procedures=list(procedures))
    except ValidationError as error:
        # Our checks raise a message naming the entry; pydantic's own errors keep theirs.
        messages = [str(e.get("ctx", {}).get("error", e["msg"])) for e in error.errors()]
        raise ValueError("catalogue: " + "; ".join(messages)) from None


async def _upsert(session: AsyncSession, table: type[Any], rows: list[dict[str, Any]]) -> None:
    """`INSERT … ON CONFLICT (code) DO UPDATE` each row: a concurrent seeder of the same file
    (two processes starting at once) then writes the same values instead of failing."""
    if not rows:
        return
    insert = dialect_insert((await session.connection()).dialect.name)
    statement = insert(table).values(rows)
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=[table.code],
            set_={name: statement.excluded[name] for name in rows[0] if name != "code"},
        )
    )


# --- look-ups ----------------------------------------------------------------------------------


async def list_agencies(
    session: AsyncSession, *, limit: int = 50, after: str | None = None
) -> list[AgencyRecord]:
    """Agencies by code, at most `limit`, those after code `after` only (keyset pagination)."""
    return await _page(session, AgencyRecord, limit, after)


async def list_procedures(
    session: AsyncSession, *, limit: int = 50, after: str | None = None
) -> list[ProcedureRecord]:
    """Procedures by code, at most `limit`, those after code `after` only (keyset pagination)."""
    return await _page(session, ProcedureRecord, limit, after)


async def get_agency(session: AsyncSession, code: str) -> AgencyRecord | None:
    return await session.get(AgencyRecord, code, populate_existing=True)


async def get_procedure(session: AsyncSession, code: str) -> ProcedureRecord | None:
    return await session.get(ProcedureRecord, code, populate_existing=True)


async def home_affairs_agency(session: AsyncSession) -> AgencyRecord:
    """The Department of Home Affairs, copied on every reminder 2 (R3). The checks on every
    change keep exactly one; LookupError when the catalogue was never seeded."""
    query = select(AgencyRecord).where(AgencyRecord.kind == AgencyKind.HOME_AFFAIRS.value)
    found = (await session.exec(query.execution_options(populate_existing=True))).first()
    if found is None:
        raise LookupError("the catalogue has no home_affairs agency: run `python -m db.migrate`")
    return found


async def agency_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """The names of the agencies `codes` names, by code (codes of no agency are left out)."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return {}
    query = select(AgencyRecord.code, AgencyRecord.name).where(col(AgencyRecord.code).in_(wanted))
    return {code: name for code, name in (await session.exec(query)).all()}


async def unknown_agencies(session: AsyncSession, codes: Iterable[str]) -> list[str]:
    """The codes that name no agency, once each, in the order given (for `unknown_agency`)."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return []
    known = set(
        (
            await session.exec(select(AgencyRecord.code).where(col(AgencyRecord.code).in_(wanted)))
        ).all()
    )
    return [code for code in wanted if code not in known]


async def inactive_agencies(session: AsyncSession, codes: Iterable[str]) -> list[str]:
    """The codes of agencies that no longer exist, once each, in the order given (for
    `agency_inactive`)."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return []
    query = select(AgencyRecord.code).where(
        col(AgencyRecord.code).in_(wanted), col(AgencyRecord.active).is_(False)
    )
    inactive = set((await session.exec(query)).all())
    return [code for code in wanted if code in inactive]


_Entry = TypeVar("_Entry", AgencyRecord, ProcedureRecord)


async def _page(
    session: AsyncSession, table: type[_Entry], limit: int, after: str | None
) -> list[_Entry]:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    query = select(table).order_by(col(table.code)).limit(limit)
    if after is not None:
        query = query.where(col(table.code) > after)
    return list((await session.exec(query.execution_options(populate_existing=True))).all())


async def _all(session: AsyncSession, table: type[Any]) -> list[Any]:
    return list((await session.exec(select(table).execution_options(populate_existing=True))).all())


def _agency(record: AgencyRecord) -> Agency:
    return Agency.model_validate(record, from_attributes=True, context=AS_RECORDED)


def _procedure(record: ProcedureRecord) -> Procedure:
    return Procedure.model_validate(record, from_attributes=True, context=AS_RECORDED)
