"""The catalogue (API.md "Catalogue"): the real data file, and every check of the loader.

The data file's figures and names are checked against what it claims; whether they match the
province's published decisions is for a human (see the `# to confirm` marks in the file).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from domain.catalogue import AgencyKind, Catalogue, is_one_stop_desk, parse_catalogue
from sources.catalogue import load_catalogue

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "data" / "catalogue.toml"


@pytest.fixture(scope="module")
def real() -> Catalogue:
    return _read_real()


def _read_real() -> Catalogue:
    return parse_catalogue(
        CATALOGUE.read_text(encoding="utf-8"),
        lambda name: (CATALOGUE.parent / name).read_text(encoding="utf-8"),
    )


# --- the real file ------------------------------------------------------------------------------


def test_real_catalogue_has_exactly_one_home_affairs_agency(real: Catalogue) -> None:
    home_affairs = [a for a in real.agencies if a.kind is AgencyKind.HOME_AFFAIRS]
    assert [a.code for a in home_affairs] == ["SNV"]
    assert real.home_affairs.name == "Sở Nội vụ thành phố Đồng Nai"


def test_real_catalogue_has_the_oversight_agencies(real: Catalogue) -> None:
    ppc_office, center = real.agency("VPUBND"), real.agency("TTHCC")
    assert ppc_office is not None and ppc_office.kind is AgencyKind.PPC_OFFICE
    assert center is not None and center.kind is AgencyKind.PUBLIC_ADMIN_CENTER
    assert center.name == "Trung tâm Phục vụ hành chính công thành phố Đồng Nai"


def test_i10_provincial_bodies_carry_the_city_name_since_30_april_2026(real: Catalogue) -> None:
    """Nghị quyết 30/2026/QH16: Đồng Nai is a centrally-run city from 30/4/2026. Its bodies
    carry the city's name, no agency keeps the province's, the codes are those dossiers already
    use, and each renamed body has its former name in a comment right above its name."""
    city = {a.code: a.name for a in real.agencies if a.name.endswith(" thành phố Đồng Nai")}
    assert sorted(city) == sorted(
        ["VPUBND", "TTHCC", "SNV", "STP", "STC", "SCT", "SNNMT", "SXD", "SKHCN", "SGDDT", "SYT",
         "SVHTTDL", "SDTTG", "CAT"]
    )  # fmt: skip
    assert not [a.code for a in real.agencies if "tỉnh Đồng Nai" in a.name]
    former = re.findall(
        r'^# former name, until 29/4/2026: "(.+)"\nname = "(.+?)"',
        CATALOGUE.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert sorted(name for _, name in former) == sorted(city.values())
    for old, name in former:
        assert old == name.removesuffix("thành phố Đồng Nai") + "tỉnh Đồng Nai"


def test_real_catalogue_keeps_dong_nais_cities_and_districts_inactive(real: Catalogue) -> None:
    districts = {a.name for a in real.agencies if a.kind is AgencyKind.DISTRICT}
    for agency in real.agencies:
        inactive = agency.kind is AgencyKind.DISTRICT
        assert agency.active is not inactive, agency.code
        if inactive:
            assert agency.inactive_since == date(2025, 7, 1)
            assert agency.inactive_by is not None and "202/2025/QH15" in agency.inactive_by
    assert districts == {
        "Ủy ban nhân dân thành phố Biên Hòa",
        "Ủy ban nhân dân thành phố Long Khánh",
        "Ủy ban nhân dân huyện Nhơn Trạch",
        "Ủy ban nhân dân huyện Long Thành",
        "Ủy ban nhân dân huyện Trảng Bom",
        "Ủy ban nhân dân huyện Thống Nhất",
        "Ủy ban nhân dân huyện Vĩnh Cửu",
        "Ủy ban nhân dân huyện Định Quán",
        "Ủy ban nhân dân huyện Tân Phú",
        "Ủy ban nhân dân huyện Xuân Lộc",
        "Ủy ban nhân dân huyện Cẩm Mỹ",
    }


def test_real_catalogue_unit_ids_are_dong_nai_identifiers(real: Catalogue) -> None:
    assert all(a.unit_id.endswith(".H19") for a in real.agencies)


def test_real_catalogue_procedures_are_led_by_a_department_district_or_commune(
    real: Catalogue,
) -> None:
    assert len(real.procedures) >= 6
    kinds = {AgencyKind.DEPARTMENT, AgencyKind.DISTRICT, AgencyKind.COMMUNE, AgencyKind.WARD}
    for procedure in real.procedures:
        lead = real.agency(procedure.lead_agency)
        assert lead is not None, procedure.code
        assert lead.kind in kinds, procedure.code
    by_kind = Counter(real.agency(p.lead_agency).kind for p in real.procedures)  # type: ignore[union-attr]
    assert by_kind[AgencyKind.WARD] >= 2 and by_kind[AgencyKind.COMMUNE] >= 1


def test_real_catalogue_has_the_95_communes_and_wards_of_the_merged_province(
    real: Catalogue,
) -> None:
    """Resolution 1662/NQ-UBTVQH15: 72 communes and 23 wards; the centre is phường Trấn Biên."""
    units = [a for a in real.agencies if a.kind in {AgencyKind.COMMUNE, AgencyKind.WARD}]
    assert Counter(a.kind for a in units) == {AgencyKind.COMMUNE: 72, AgencyKind.WARD: 23}
    centre = real.agency("UBND-PHUONG-TRANBIEN")
    assert centre is not None and centre.name == "Ủy ban nhân dân phường Trấn Biên"
    assert all(a.active and a.one_stop_desk for a in units)
    assert all(a.name.startswith("Ủy ban nhân dân ") for a in units)
    # two communes read the same in ASCII: both codes carry their national code
    assert {a.code for a in units if a.code.startswith("UBND-XA-LOCTHANH")} == {
        "UBND-XA-LOCTHANH-25280",
        "UBND-XA-LOCTHANH-25294",
    }


def test_real_catalogue_one_stop_desks_are_the_centre_and_the_communes_and_wards(
    real: Catalogue,
) -> None:
    """Decree 118/2025: receipt at any desk. The provincial centre and the 95 communes' and
    wards' committees (their desks named in the catalogue) receive for any lead agency; the
    departments, the oversight agencies and the abolished districts do not."""
    desks = {a.code for a in real.agencies if is_one_stop_desk(a)}
    assert "TTHCC" in desks and "UBND-PHUONG-TRANBIEN" in desks
    assert len(desks) == 1 + 95
    for code in ("SXD", "SNV", "VPUBND"):
        assert code not in desks
    assert not any(a.kind is AgencyKind.DISTRICT for a in real.agencies if a.code in desks)


def test_a_commune_without_its_desk_or_no_longer_active_is_no_desk(real: Catalogue) -> None:
    commune = real.agency("UBND-PHUONG-TRANBIEN")
    assert commune is not None and is_one_stop_desk(commune)
    assert not is_one_stop_desk(commune.model_copy(update={"one_stop_desk": None}))
    assert not is_one_stop_desk(commune.model_copy(update={"active": False}))
    centre = real.agency("TTHCC")
    assert centre is not None and not is_one_stop_desk(centre.model_copy(update={"active": False}))


def test_real_catalogue_says_which_agencies_no_longer_exist(real: Catalogue) -> None:
    assert real.inactive_agencies(["SXD", "UBND-BIENHOA", "X", "UBND-BIENHOA"]) == ["UBND-BIENHOA"]
    assert real.inactive_agencies(["UBND-PHUONG-BIENHOA", "UBND-XA-LONGTHANH"]) == []


def test_r2_real_catalogue_consultation_maximum_fits_the_time_limit(real: Catalogue) -> None:
    for p in real.procedures:
        assert 1 <= p.max_consultation_days <= p.processing_days, p.code
    # Procedures that do consult other agencies leave them real time to answer.
    consulting = [p for p in real.procedures if p.max_consultation_days >= 5]
    assert len(consulting) >= 3


def test_r10_real_catalogue_procedures_list_their_documents(real: Catalogue) -> None:
    for p in real.procedures:
        # a commune's civil-status and certification procedures take two papers
        assert 2 <= len(p.required_documents) <= 8, p.code


@pytest.mark.parametrize(
    ("code", "name", "lead_agency", "processing_days"),
    [
        (
            "DN-LLTP-001",
            "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại"
            " Việt Nam",
            "STP",
            10,
        ),
        ("DN-TM-001", "Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu", "SCT", 20),
        ("DN-TM-002-BIENHOA", "Cấp Giấy phép bán lẻ rượu", "UBND-BIENHOA", 10),
        ("DN-MT-002", "Thẩm định báo cáo đánh giá tác động môi trường", "SNNMT", 30),
        (
            "DN-DKKD-001",
            "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên",
            "STC",
            3,
        ),
    ],
)
def test_real_catalogue_procedure_names_are_the_published_vietnamese_names(
    real: Catalogue, code: str, name: str, lead_agency: str, processing_days: int
) -> None:
    procedure = real.procedure(code)
    assert procedure is not None
    assert (procedure.name, procedure.lead_agency, procedure.processing_days) == (
        name,
        lead_agency,
        processing_days,
    )


def test_real_catalogue_building_permit_is_led_by_the_construction_department(
    real: Catalogue,
) -> None:
    permit = real.procedure("DN-XD-001")
    assert permit is not None and permit.lead_agency == "SXD"
    assert permit.name.startswith(
        "Cấp giấy phép xây dựng mới đối với công trình cấp đặc biệt, cấp I, cấp II"
    )
    assert permit.processing_days == 20
    assert "Đơn đề nghị cấp giấy phép xây dựng" in permit.required_documents


def test_real_catalogue_text_is_nfc_vietnamese() -> None:
    text = CATALOGUE.read_text(encoding="utf-8")
    # NFC: "ồ" is one code point, as typed by Vietnamese keyboards and sent by clients.
    assert unicodedata.is_normalized("NFC", text)
    assert "Đồng Nai" in text and "Ủy ban nhân dân" in text


# --- the checks of the loader, on small inline files --------------------------------------------


def agency(code: str, kind: str = "department", unit: int = 1) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Cơ quan {code}",
        "kind": kind,
        "unit_id": f"000.00.{unit:02}.H19",
    }


def procedure(code: str = "DN-XD-001", **changes: Any) -> dict[str, Any]:
    entry = {
        "code": code,
        "name": "Cấp giấy phép xây dựng",
        "lead_agency": "SXD",
        "processing_days": 20,
        "max_consultation_days": 7,
        "required_documents": ["Đơn đề nghị cấp giấy phép xây dựng", "Bản vẽ thiết kế"],
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def toml(agencies: list[dict[str, Any]], procedures: list[dict[str, Any]]) -> str:
    """A catalogue file; JSON strings, integers and arrays of strings are valid TOML values."""
    blocks = [("agency", a) for a in agencies] + [("procedure", p) for p in procedures]
    return "\n".join(
        f"[[{section}]]\n"
        + "".join(
            f"{key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in entry.items()
        )
        for section, entry in blocks
    )


AGENCIES = [agency("SNV", "home_affairs", 1), agency("SXD", unit=2), agency("CAT", unit=3)]


def test_small_catalogue_parses() -> None:
    catalogue = parse_catalogue(toml(AGENCIES, [procedure()]))
    assert catalogue.home_affairs.code == "SNV"
    assert catalogue.procedure("DN-XD-001") is not None
    assert catalogue.procedure("DN-XD-999") is None
    assert catalogue.agency("SXD") is not None and catalogue.agency("sxd") is None


@pytest.mark.parametrize(
    ("agencies", "procedures", "message"),
    [
        pytest.param(
            [*AGENCIES, agency("SXD", unit=9)],
            [procedure()],
            "agency code listed more than once: SXD",
            id="duplicate-agency-code",
        ),
        pytest.param(
            [*AGENCIES, agency("STC", unit=2)],
            [procedure()],
            "agency unit_id listed more than once: 000.00.02.H19",
            id="duplicate-unit-id",
        ),
        pytest.param(
            AGENCIES,
            [procedure(), procedure()],
            "procedure code listed more than once: DN-XD-001",
            id="duplicate-procedure-code",
        ),
        pytest.param(
            AGENCIES[1:],
            [procedure()],
            "exactly one agency must have kind home_affairs (it is copied on reminder 2, R3); "
            "found 0",
            id="no-home-affairs",
        ),
        pytest.param(
            [*AGENCIES, agency("SNV2", "home_affairs", 9)],
            [procedure()],
            "found 2: SNV, SNV2",
            id="two-home-affairs",
        ),
        pytest.param(
            AGENCIES,
            [procedure(lead_agency="SXDD")],
            "procedure DN-XD-001: lead_agency 'SXDD' is not an agency of the catalogue",
            id="unknown-lead-agency",
        ),
        pytest.param(
            AGENCIES,
            [procedure(max_consultation_days=21)],
            "procedure DN-XD-001: max_consultation_days must be between 1 and processing_days "
            "(20) working days (R2), got 21",
            id="consultation-longer-than-processing",
        ),
        pytest.param(
            AGENCIES,
            [procedure(max_consultation_days=0)],
            "procedure[0].max_consultation_days: must be from 1 to 3650",
            id="consultation-zero",
        ),
        pytest.param(
            AGENCIES,
            [procedure(processing_days=0, max_consultation_days=0)],
            "procedure[0].processing_days: must be from 1 to 3650",
            id="processing-zero",
        ),
        pytest.param(
            AGENCIES,
            [procedure(required_documents=[])],
            "procedure DN-XD-001: required_documents must list the dossier's components",
            id="no-documents",
        ),
        pytest.param(
            AGENCIES,
            [procedure(required_documents=None)],
            "procedure DN-XD-001: required_documents must list the dossier's components",
            id="documents-key-missing",
        ),
        pytest.param(
            AGENCIES,
            [procedure(required_documents=["Điều lệ công ty", "Bản vẽ", "Điều lệ công ty"])],
            "procedure DN-XD-001: required document listed twice: 'Điều lệ công ty'",
            id="duplicate-document",
        ),
        pytest.param(
            AGENCIES,
            [procedure(required_documents=["Điều lệ công ty", "điều lệ  công ty "])],
            "required document listed twice: 'điều lệ  công ty'",
            id="duplicate-document-differing-case-and-spacing",
        ),
        pytest.param(
            AGENCIES,
            [procedure(required_documents=["Điều lệ công ty", "  "])],
            "procedure DN-XD-001: required_documents has an empty entry",
            id="blank-document",
        ),
        pytest.param(
            [*AGENCIES, agency("Sở XD", unit=9)],
            [procedure()],
            "agency 'Sở XD': code must be upper-case ASCII",
            id="non-ascii-agency-code",
        ),
        pytest.param(
            [*AGENCIES, {**agency("STC", unit=9), "unit_id": "H19-STC"}],
            [procedure()],
            "agency STC: unit_id must look like 000.00.06.H19",
            id="bad-unit-id",
        ),
        pytest.param(
            AGENCIES,
            [procedure(code="dn xd 1")],
            "procedure 'dn xd 1': code must be upper-case ASCII",
            id="bad-procedure-code",
        ),
        pytest.param(
            [*AGENCIES, agency("STC", "ministry", 9)],
            [procedure()],
            "agency[3].kind: Input should be 'department', 'district', 'commune', 'ward', "
            "'home_affairs'",
            id="unknown-kind",
        ),
        pytest.param(
            AGENCIES,
            [procedure(processing_days="hai mươi")],
            "procedure[0].processing_days: Input should be a valid integer",
            id="days-not-a-number",
        ),
        pytest.param(
            AGENCIES,
            [procedure(processing_day=20)],
            "procedure[0]: unknown key(s) processing_day",
            id="misspelt-key",
        ),
        pytest.param(
            [{k: v for k, v in agency("STC").items() if k != "unit_id"}, *AGENCIES],
            [procedure()],
            "agency[0].unit_id: Field required",
            id="missing-key",
        ),
        pytest.param(
            [*AGENCIES, {**agency("STC", unit=9), "email": "Sở Tài chính <stc@dongnai.gov.vn>"}],
            [procedure()],
            "agency STC: email must be one address such as vanthu@sxd.dongnai.gov.vn",
            id="email-with-display-name",
        ),
        pytest.param(
            [*AGENCIES, {**agency("STC", unit=9), "email": "stc@dongnai.gov.vn, snv@x.vn"}],
            [procedure()],
            "agency STC: email must be one address",
            id="two-emails",
        ),
        pytest.param(
            [*AGENCIES, {**agency("STC", unit=9), "webhook_url": "http://stc.dongnai.gov.vn/n"}],
            [procedure()],
            "agency STC: webhook_url must be an https:// URL (http:// only to localhost)",
            id="plain-http-webhook",
        ),
    ],
)
def test_invalid_catalogue_is_refused_naming_the_entry(
    agencies: list[dict[str, Any]], procedures: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        parse_catalogue(toml(agencies, procedures))
    assert message in str(raised.value)
    assert str(raised.value).startswith("catalogue: ")


def test_agency_channels_are_optional_and_kept() -> None:
    channels = {
        "SXD": {"email": "vanthu@sxd.dongnai.gov.vn"},
        "CAT": {"webhook_url": "https://pccc.congan.dongnai.gov.vn/motcua/thong-bao"},
        "SNV": {"webhook_url": "http://127.0.0.1:8080/notices"},  # a receiver on this machine
    }
    catalogue = parse_catalogue(
        toml([{**a, **channels.get(a["code"], {})} for a in AGENCIES], [procedure()])
    )
    found = {a.code: (a.email, a.webhook_url) for a in catalogue.agencies}
    assert found == {
        "SNV": (None, "http://127.0.0.1:8080/notices"),
        "SXD": ("vanthu@sxd.dongnai.gov.vn", None),
        "CAT": (None, "https://pccc.congan.dongnai.gov.vn/motcua/thong-bao"),
    }


def test_real_catalogue_departments_have_an_address_to_confirm(real: Catalogue) -> None:
    """Consulted departments and Home Affairs (copied on reminder 2, R3) get their notices by
    e-mail; the addresses are guesses on the province's domain, marked for confirmation."""
    for a in real.agencies:
        if a.kind in {AgencyKind.DEPARTMENT, AgencyKind.HOME_AFFAIRS}:
            assert a.email and a.email.endswith(".dongnai.gov.vn"), a.code
        assert a.webhook_url is None, a.code
    lines = CATALOGUE.read_text(encoding="utf-8").splitlines()
    assert all("# to confirm" in line for line in lines if line.startswith("email = "))


def test_invalid_toml_is_refused() -> None:
    with pytest.raises(ValueError, match="catalogue: invalid TOML"):
        parse_catalogue('[[agency]]\ncode = "SNV\n')


def test_unknown_section_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown section\(s\) procedures"):
        parse_catalogue(toml(AGENCIES, []) + '\n[[procedures]]\ncode = "X"\n')


def test_text_is_normalised_to_nfc_and_stripped() -> None:
    decomposed = unicodedata.normalize("NFD", "  Cấp Giấy phép bán lẻ rượu ")
    catalogue = parse_catalogue(toml(AGENCIES, [procedure(name=decomposed)]))
    assert catalogue.procedures[0].name == "Cấp Giấy phép bán lẻ rượu"


# --- look-ups -----------------------------------------------------------------------------------


def test_r1_unknown_agencies_lists_each_unknown_code_once_in_order(real: Catalogue) -> None:
    assert real.unknown_agencies(["CAT", "SO-X", "SXD", "UBND-HANOI", "SO-X"]) == [
        "SO-X",
        "UBND-HANOI",
    ]
    assert real.unknown_agencies(["CAT", "SNNMT", "UBND-BIENHOA"]) == []
    assert real.unknown_agencies(iter(["sxd"])) == ["sxd"]  # codes are case-sensitive


# --- reading the file ---------------------------------------------------------------------------


def test_load_catalogue_reads_the_default_file_and_its_includes() -> None:
    assert load_catalogue() == _read_real()


def test_included_files_join_the_catalogue_and_their_errors_name_them(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text('include = ["more.toml"]\n' + toml(AGENCIES, []), encoding="utf-8")
    more = tmp_path / "more.toml"
    more.write_text(toml([], [procedure()]), encoding="utf-8")
    assert [p.code for p in load_catalogue(path).procedures] == [procedure()["code"]]
    more.write_text('[[agency]]\ncode = "X"\nfoo = 1\n', encoding="utf-8")
    stat = more.stat()
    os.utime(more, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ValueError, match="unknown key"):
        load_catalogue(path)
    more.write_text('include = ["again.toml"]\n', encoding="utf-8")
    os.utime(more, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    with pytest.raises(ValueError, match=r"more\.toml: unknown section\(s\) include"):
        load_catalogue(path)
    with pytest.raises(ValueError, match="nothing can read them"):
        parse_catalogue(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"active": False}, "needs inactive_since"),
        ({"active": False, "inactive_since": "2025-07-01"}, "needs inactive_since"),
        ({"inactive_since": "2025-07-01", "inactive_by": "NQ"}, "with active = false"),
    ],
)
def test_an_inactive_agency_says_since_when_and_by_what(
    fields: dict[str, Any], message: str
) -> None:
    agency = {**AGENCIES[1], **fields}
    with pytest.raises(ValueError, match=message):
        Catalogue.model_validate({"agencies": [AGENCIES[0], agency], "procedures": []})


def test_home_affairs_cannot_be_inactive() -> None:
    agency = {**AGENCIES[0], "active": False, "inactive_since": "2025-07-01", "inactive_by": "x"}
    with pytest.raises(ValueError, match="cannot be inactive"):
        Catalogue.model_validate({"agencies": [agency, *AGENCIES[1:]], "procedures": []})


def test_load_catalogue_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(toml(AGENCIES, [procedure()]), encoding="utf-8")
    first = load_catalogue(path)
    assert load_catalogue(path) is first

    path.write_text(toml(AGENCIES, [procedure(processing_days=15)]), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_catalogue(path)
    assert second is not first
    assert second.procedures[0].processing_days == 15


def test_load_catalogue_names_the_file_of_a_bad_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(toml(AGENCIES[1:], [procedure()]), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"^{path}: catalogue: exactly one agency"):
        load_catalogue(path)
