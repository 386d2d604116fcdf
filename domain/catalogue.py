"""The catalogue: the province's agencies and the procedures they lead (API.md "Catalogue").

The catalogue is reviewable data (`data/catalogue.toml`), not code, because the organisation and
the published procedures change by decision of the province. This module is pure: it parses the
text and checks it, so a bad edit is refused with a message naming the entry instead of reaching
a running dossier. Reading the file is `sources.catalogue`'s job.

Each dossier keeps a copy of its `Procedure` as it was at receipt, so an edit here changes only
dossiers received afterwards.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from domain import limits
from domain.dossier import Procedure


class AgencyKind(StrEnum):
    DEPARTMENT = "department"  # a provincial department or sector (sở, ban, ngành)
    DISTRICT = "district"  # a district-level People's Committee (UBND cấp huyện), until 2025
    COMMUNE = "commune"  # a commune's People's Committee (UBND xã), from 1 July 2025
    WARD = "ward"  # a ward's People's Committee (UBND phường), from 1 July 2025
    HOME_AFFAIRS = "home_affairs"  # Sở Nội vụ: copied on reminder 2 (R3), follows delays (R8)
    PPC_OFFICE = "ppc_office"  # Văn phòng UBND cấp tỉnh: checks the process (R9)
    PUBLIC_ADMIN_CENTER = "public_admin_center"  # Trung tâm Hành chính công: the one-stop desk


class Agency(BaseModel):
    """An agency that leads procedures, is consulted, or oversees them."""

    model_config = ConfigDict(extra="forbid")

    code: limits.Code  # short, stable, ASCII: the `agency` claim of tokens, the key of reports
    name: limits.Title
    kind: AgencyKind
    # The prefix of its dossier codes, `<unit_id>-YYMMDD-XXXX` (db.dossier_codes).
    unit_id: limits.Short
    # Where its notices go (activities.delivery): the webhook when set, else the e-mail address;
    # neither, and its notices stay in the outbox (`GET /api/v1/notices`) only.
    email: limits.Email | None = None
    webhook_url: limits.Url | None = None
    # A commune's or ward's one-stop desk (its Public Administrative Service Centre), by name.
    one_stop_desk: limits.Title | None = None
    # An agency that no longer exists (the district committees abolished on 1 July 2025) stays
    # for the dossiers, reports and forms that name it, but gets no new dossier and no new
    # consultation (`rules.decide_receipt`, `rules.decide_consultation`): since when, and by
    # which decision.
    active: bool = True
    inactive_since: date | None = None
    inactive_by: limits.Title | None = None


class DeskCandidate(Protocol):
    """What decides whether an agency is a one-stop desk: an `Agency` or its database row."""

    @property
    def kind(self) -> str: ...
    @property
    def one_stop_desk(self) -> str | None: ...
    @property
    def active(self) -> bool: ...


# The kinds whose committees keep a one-stop desk (`Agency.one_stop_desk`) since 1 July 2025.
_LOCAL_COMMITTEES = frozenset({AgencyKind.COMMUNE, AgencyKind.WARD})


def is_one_stop_desk(agency: DeskCandidate) -> bool:
    """Whether the agency's officers receive dossiers for any lead agency (Decree 118/2025,
    receipt regardless of administrative boundaries; `rules.decide_receipt`): the province's
    Public Administrative Service Centre, and a commune's or ward's committee that has its
    one-stop desk in the catalogue. An inactive agency receives nothing."""
    if not agency.active:
        return False
    if agency.kind == AgencyKind.PUBLIC_ADMIN_CENTER:
        return True
    return agency.kind in _LOCAL_COMMITTEES and agency.one_stop_desk is not None


# Codes travel in URLs, tokens and CSV columns: keep them to upper-case ASCII.
AGENCY_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*")
# A local code such as `DN-XD-001`, or a national procedure code such as `2.000648`.
PROCEDURE_CODE = re.compile(r"[A-Z0-9]+(?:[.-][A-Z0-9]+)*")
# The electronic identifier of QCVN 102:2016/BTTTT, e.g. `000.00.06.H19`.
UNIT_ID = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
# An address an SMTP relay takes as is: one `@`, no spaces or display name, a dotted domain.
EMAIL = re.compile(r"[^@\s<>,;\"]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Notices name applicants: a webhook gets them over TLS, plain http only to this machine.
WEBHOOK_URL = re.compile(
    r"https://[^\s/?#]+\S*"
    r"|http://(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?(?:/\S*)?"
)

_SECTIONS: dict[str, type[BaseModel]] = {"agency": Agency, "procedure": Procedure}


class Catalogue(BaseModel):
    """The agencies and procedures, checked as a whole (see `parse_catalogue` for the checks).

    Treat an instance as read-only: the look-up indexes are built once, on first use.
    """

    agencies: list[Agency]
    procedures: list[Procedure]

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        _check_agencies(self.agencies)
        known = {a.code for a in self.agencies}
        _check_unique("procedure code", [p.code for p in self.procedures])
        for procedure in self.procedures:
            _check_procedure(procedure, known)
        return self

    @cached_property
    def _agencies(self) -> dict[str, Agency]:
        return {a.code: a for a in self.agencies}

    @cached_property
    def _procedures(self) -> dict[str, Procedure]:
        return {p.code: p for p in self.procedures}

    def agency(self, code: str) -> Agency | None:
        return self._agencies.get(code)

    def procedure(self, code: str) -> Procedure | None:
        return self._procedures.get(code)

    @property
    def home_affairs(self) -> Agency:
        """The one Department of Home Affairs, copied on every reminder 2 (R3)."""
        return next(a for a in self.agencies if a.kind is AgencyKind.HOME_AFFAIRS)

    def unknown_agencies(self, codes: Iterable[str]) -> list[str]:
        """The codes that name no agency, once each, in the order given (for `unknown_agency`)."""
        return [code for code in dict.fromkeys(codes) if code not in self._agencies]

    def inactive_agencies(self, codes: Iterable[str]) -> list[str]:
        """The codes of inactive agencies, once each, in the order given (`agency_inactive`)."""
        return [
            code
            for code in dict.fromkeys(codes)
            if (agency := self._agencies.get(code)) is not None and not agency.active
        ]


INCLUDE = "include"  # the main file's list of further files of [[agency]] / [[procedure]]


def parse_catalogue(text: str, read_included: Callable[[str], str] | None = None) -> Catalogue:
    """Parse and check the catalogue file (format in `data/catalogue.toml`).

    Its top-level `include = ["units-dong-nai-2025.toml"]` names further files whose
    `[[agency]]` and `[[procedure]]` tables join its own (a generated list, say);
    `read_included(name)` returns such a file's text (the caller does the I/O), and its errors
    name the file. An included file includes nothing further.

    Raises ValueError with a message naming the bad entry for: invalid TOML; an unknown section
    or key (a typo would otherwise silently drop a value); a missing or mistyped field; a code
    or unit identifier not in its documented form; an `email` that is not one bare address, a
    `webhook_url` that is not https:// (plain http:// to localhost only); a duplicate agency
    code, unit identifier or procedure code; not exactly one `home_affairs` agency; a procedure
    whose `lead_agency` is not in the catalogue; `processing_days` or `max_consultation_days`
    not from 1 to 3650, or `max_consultation_days` greater than `processing_days` (R2); a text
    beyond its limit or with a control character (`domain.limits`); an empty
    `required_documents` list, or a document listed twice (R10 picks missing documents from
    that list). Text is normalised to Unicode NFC with outer whitespace removed, so a name typed
    on any keyboard compares equal to the same name.
    """
    document = _document(text, "catalogue")
    included = document.pop(INCLUDE, [])
    if not isinstance(included, list) or not all(isinstance(n, str) for n in included):
        raise ValueError('catalogue: include must be a list of file names, such as ["units.toml"]')
    if included and read_included is None:
        raise ValueError("catalogue: this file includes others, but nothing can read them")
    documents = [("catalogue", document)]
    for name in included:
        assert read_included is not None
        documents.append((f"catalogue: {name}", _document(read_included(name), name)))
    fields: dict[str, list[dict[str, Any]]] = {section: [] for section in _SECTIONS}
    for where, each in documents:
        unknown = sorted(set(each) - set(_SECTIONS))
        if unknown:
            raise ValueError(
                f"{where}: unknown section(s) {', '.join(unknown)}; "
                "expected [[agency]] and [[procedure]]"
            )
        for section in _SECTIONS:
            fields[section] += _entries(each, section)
    try:
        return Catalogue(agencies=fields["agency"], procedures=fields["procedure"])
    except ValidationError as error:
        raise ValueError("catalogue: " + "; ".join(_describe(e) for e in error.errors())) from None


def _document(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        prefix = "catalogue" if where == "catalogue" else f"catalogue: {where}"
        raise ValueError(f"{prefix}: invalid TOML: {error}") from error


def _entries(document: dict[str, Any], section: str) -> list[dict[str, Any]]:
    """The `[[section]]` tables, with unknown keys refused and text normalised."""
    entries = document.get(section, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"catalogue: {section} must be written as [[{section}]] tables")
    allowed = _SECTIONS[section].model_fields
    for index, entry in enumerate(entries):
        unknown = sorted(set(entry) - set(allowed))
        if unknown:
            raise ValueError(
                f"catalogue: {section}[{index}]: unknown key(s) {', '.join(unknown)}; "
                f"expected {', '.join(allowed)}"
            )
    return [{key: _normalised(value) for key, value in entry.items()} for entry in entries]


def _normalised(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    return value


def _describe(error: Any) -> str:
    """One pydantic error as `agency[2].kind: ...`; our own checks keep their message as is."""
    if error["type"] == "value_error" and not error["loc"]:
        return str(error["ctx"]["error"])
    section, *rest = error["loc"]
    where = {"agencies": "agency", "procedures": "procedure"}.get(section, section)
    path = where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)
    return f"{path}: {error['msg']}"


def _check_unique(what: str, values: list[str]) -> None:
    twice = sorted(v for v, n in Counter(values).items() if n > 1)
    if twice:
        raise ValueError(f"{what} listed more than once: {', '.join(twice)}")


def _check_agencies(agencies: list[Agency]) -> None:
    for agency in agencies:
        if not AGENCY_CODE.fullmatch(agency.code):
            raise ValueError(
                f"agency {agency.code!r}: code must be upper-case ASCII letters and digits, "
                "optionally joined by '-', such as SXD or UBND-BIENHOA"
            )
        if not agency.name:
            raise ValueError(f"agency {agency.code}: name must not be empty")
        if not UNIT_ID.fullmatch(agency.unit_id):
            raise ValueError(
                f"agency {agency.code}: unit_id must look like 000.00.06.H19 "
                f"(QCVN 102:2016/BTTTT), got {agency.unit_id!r}"
            )
        if agency.email is not None and not EMAIL.fullmatch(agency.email):
            raise ValueError(
                f"agency {agency.code}: email must be one address such as "
                f"vanthu@sxd.dongnai.gov.vn, got {agency.email!r}"
            )
        if agency.webhook_url is not None and not WEBHOOK_URL.fullmatch(agency.webhook_url):
            raise ValueError(
                f"agency {agency.code}: webhook_url must be an https:// URL (http:// only to "
                f"localhost), got {agency.webhook_url!r}"
            )
        _check_activity(agency)
    _check_unique("agency code", [a.code for a in agencies])
    # Two agencies with one prefix would hand out the same dossier code on the same day.
    _check_unique("agency unit_id", [a.unit_id for a in agencies])
    home_affairs = [a.code for a in agencies if a.kind is AgencyKind.HOME_AFFAIRS]
    if len(home_affairs) != 1:
        raise ValueError(
            "exactly one agency must have kind home_affairs (it is copied on reminder 2, R3); "
            f"found {len(home_affairs)}" + (f": {', '.join(home_affairs)}" if home_affairs else "")
        )


def _check_activity(agency: Agency) -> None:
    """An inactive agency says since when and by which decision; an active one neither."""
    if agency.active and (agency.inactive_since or agency.inactive_by):
        raise ValueError(
            f"agency {agency.code}: inactive_since and inactive_by are for an agency with "
            "active = false"
        )
    if not agency.active and not (agency.inactive_since and agency.inactive_by):
        raise ValueError(
            f"agency {agency.code}: active = false needs inactive_since (a date) and "
            "inactive_by (the deciding document)"
        )
    if not agency.active and agency.kind is AgencyKind.HOME_AFFAIRS:
        raise ValueError(
            f"agency {agency.code}: the home_affairs agency is copied on every reminder 2 (R3) "
            "and cannot be inactive"
        )


def _check_procedure(procedure: Procedure, agencies: set[str]) -> None:
    where = f"procedure {procedure.code}"
    if not PROCEDURE_CODE.fullmatch(procedure.code):
        raise ValueError(
            f"procedure {procedure.code!r}: code must be upper-case ASCII letters and digits "
            "joined by '-' or '.', such as DN-XD-001 or 2.000648"
        )
    if not procedure.name:
        raise ValueError(f"{where}: name must not be empty")
    if procedure.lead_agency not in agencies:
        raise ValueError(
            f"{where}: lead_agency {procedure.lead_agency!r} is not an agency of the catalogue"
        )
    if procedure.max_consultation_days > procedure.processing_days:  # both 1 or more: limits.Days
        raise ValueError(
            f"{where}: max_consultation_days must be between 1 and processing_days "
            f"({procedure.processing_days}) working days (R2), "
            f"got {procedure.max_consultation_days}"
        )
    if not procedure.required_documents:
        raise ValueError(
            f"{where}: required_documents must list the dossier's components "
            "(a supplement request may only name documents from it, R10)"
        )
    seen: set[str] = set()
    for document in procedure.required_documents:
        if not document:
            raise ValueError(f"{where}: required_documents has an empty entry")
        key = " ".join(document.casefold().split())  # differing case or spacing is no new document
        if key in seen:
            raise ValueError(f"{where}: required document listed twice: {document!r}")
        seen.add(key)
