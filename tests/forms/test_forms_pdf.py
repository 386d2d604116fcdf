"""api.forms_pdf: each form as an A5 PDF whose Vietnamese text reads back exactly, whose QR code
scans to the dossier code, and whose long tables run onto more pages with their headings."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta

import pytest

from api.forms_pdf import render_pdf
from domain.commands import SosAction
from domain.dossier import Applicant, Dossier
from domain.forms import FormNumber, build_form
from domain.legal_frame import FRAME_2018, TITLES_2025
from tests.forms.pdf_reading import assert_a5, page_sizes, qr_codes, text_of
from tests.unit.builders import (
    CODE,
    DEADLINE,
    DOCUMENTS,
    FIRE,
    LEAD,
    PROCEDURE,
    apologise,
    consult,
    dossier,
    receive_supplement,
    reply,
    resume,
    sos,
    vn,
)

NAMES = {LEAD: "Sở Xây dựng thành phố Đồng Nai", FIRE: "Phòng Cảnh sát PCCC và CNCH"}
PAGES = "https://motcua.dongnai.gov.vn"  # where the pages are: form 01's QR code leads there
LOOK_UP = f"{PAGES}/lookup?code={CODE}"
PRINTED = vn(2025, 4, 1, 8)
MOTTO = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]


def pdf(number: FormNumber, d: Dossier, now: datetime = PRINTED, stop: int | None = None) -> bytes:
    form = build_form(
        number,
        d.document(now),
        required_documents=DOCUMENTS,
        agency_names=NAMES,
        pages_url=PAGES,
        now=now,
        stop=stop,
    )
    return render_pdf(form)


def everything() -> Dossier:
    """A dossier every form applies to (received in March 2025: Circular 01/2018's frame)."""
    d = dossier()
    consult(d)
    reply(d)
    sos(d, SosAction.SUPPLEMENT, at=vn(2025, 3, 4, 10))
    receive_supplement(d, at=vn(2025, 3, 5, 9))
    sos(d, SosAction.STOP, at=vn(2025, 3, 6, 9))
    resume(d, at=vn(2025, 3, 7, 9))
    apologise(d, date(2025, 4, 4), at=vn(2025, 3, 20, 9))
    sos(d, SosAction.RETURN, at=vn(2025, 3, 21, 9))
    return d


@pytest.mark.parametrize("number", list(FormNumber))
def test_each_form_is_an_a5_pdf_with_its_title_motto_code_and_applicant(
    number: FormNumber,
) -> None:
    document = pdf(number, everything())

    assert_a5(document)
    text = text_of(document)
    title = FRAME_2018.form(number).title
    for expected in [title, *MOTTO, CODE, "Nguyễn Thị Hoa", "Sở Xây dựng thành phố Đồng Nai"]:
        assert expected in text, (expected, text)


def test_form_01_reads_back_its_fields_and_its_qr_code_scans_to_its_look_up_page() -> None:
    document = pdf(FormNumber.RECEIPT, dossier())

    text = text_of(document)
    for expected in [
        "Mã hồ sơ: 000.00.06.H19-250303-0001",
        "Tổ chức, cá nhân: Nguyễn Thị Hoa",
        "Địa chỉ: Phường Tân Phong, thành phố Biên Hòa, Đồng Nai",
        "Thời gian nhận hồ sơ: 09 giờ 00 phút, ngày 03/03/2025",
        "Thời gian trả kết quả: 17 giờ 00 phút, ngày 24/03/2025",
        "Đồng Nai, ngày 03 tháng 3 năm 2025",
        "NGƯỜI NỘP HỒ SƠ",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
        *DOCUMENTS,
    ]:
        assert expected in text, (expected, text)
    assert qr_codes(document) == [LOOK_UP]


def test_only_form_01_carries_a_qr_code() -> None:
    assert qr_codes(pdf(FormNumber.CONTROL_SLIP, dossier())) == []


def test_form_06_reads_back_its_marks() -> None:
    d = dossier()
    consult(d, (FIRE,), deadline=DEADLINE)
    reply(d, FIRE, at=vn(2025, 3, 7, 9), late_reason="Chờ kết quả kiểm tra")

    text = text_of(pdf(FormNumber.CONTROL_SLIP, d))

    for expected in ["Quá trình giải quyết hồ sơ", "Trả lời xin ý kiến", "Quá hạn", "Kết quả"]:
        assert expected in text, (expected, text)


def test_a_name_typed_with_combining_marks_prints_as_the_same_letters() -> None:
    decomposed = unicodedata.normalize("NFD", "Lê Văn Cường")
    assert decomposed != "Lê Văn Cường"
    d = dossier(applicant=Applicant(name=decomposed, phone="0912345678"))

    assert "Tổ chức, cá nhân: Lê Văn Cường" in text_of(pdf(FormNumber.RECEIPT, d))


def test_a_long_control_slip_runs_onto_more_a5_pages() -> None:
    d = dossier()
    at = vn(2025, 3, 3, 10)
    for _ in range(12):  # a consultation asked and answered, twelve times over
        consult(d, (FIRE,), at=at, deadline=DEADLINE)
        at += timedelta(minutes=5)
        reply(d, FIRE, at=at)
        at += timedelta(minutes=5)

    document = pdf(FormNumber.CONTROL_SLIP, d)

    assert len(page_sizes(document)) >= 2
    assert_a5(document)
    text = text_of(document)
    assert text.count("Người thực hiện") == len(page_sizes(document))  # the headings repeat
    assert f"Mẫu số 05 – Mã hồ sơ {CODE} – trang 2" in text
    assert text.count("Trả lời xin ý kiến") == 12


def test_a_receipt_of_a_long_procedure_is_set_smaller_to_stay_one_a5_page() -> None:
    documents = [
        f"Bản sao văn bản thứ {i} về hồ sơ thiết kế, thẩm định và phòng cháy chữa cháy của công "
        "trình (đối với công trình thuộc diện phải thẩm duyệt theo quy định của pháp luật)"
        for i in range(1, 8)
    ]
    procedure = PROCEDURE.model_copy(
        update={"name": PROCEDURE.name * 3, "required_documents": documents}
    )
    d = dossier(procedure=procedure)
    form = build_form(
        FormNumber.RECEIPT,
        d.document(PRINTED),
        required_documents=documents,
        agency_names=NAMES,
        pages_url=PAGES,
        now=PRINTED,
    )

    document = render_pdf(form)

    assert len(page_sizes(document)) == 1
    text = text_of(document)
    assert all(name in text for name in documents)
    assert "NGƯỜI TIẾP NHẬN HỒ SƠ" in text
    assert qr_codes(document) == [LOOK_UP]


RECEIVED_2026 = vn(2026, 3, 3, 9)  # under Decree 118/2025 and Circular 03/2025
BASIS_2025 = [
    "Căn cứ Nghị định số 118/2025/NĐ-CP ngày 09 tháng 6 năm 2025 của Chính phủ",
    "Thông tư số 03/2025/TT-VPCP ngày 15 tháng 9 năm 2025 của Văn phòng Chính phủ",
]


def _flat(text: str) -> str:
    """The text with its line breaks as spaces: the basis line wraps."""
    return " ".join(text.split())


@pytest.mark.parametrize("number", list(FormNumber))
def test_a_2026_dossiers_forms_print_circular_03s_number_title_and_basis(
    number: FormNumber,
) -> None:
    d = dossier(at=RECEIVED_2026)
    sos(d, SosAction.SUPPLEMENT, at=vn(2026, 3, 3, 10))
    receive_supplement(d, at=vn(2026, 3, 4, 9))
    sos(d, SosAction.STOP, at=vn(2026, 3, 4, 10))
    resume(d, at=vn(2026, 3, 5, 9))
    apologise(d, date(2026, 4, 10), at=vn(2026, 3, 20, 9))
    sos(d, SosAction.RETURN, at=vn(2026, 3, 23, 9))

    document = pdf(number, d, now=vn(2026, 4, 1, 8))

    assert_a5(document)
    text = _flat(text_of(document))
    for expected in [
        _flat(TITLES_2025[number]),
        f"(Mẫu số {number.value} – Thông tư số 03/2025/TT-VPCP)",
        *BASIS_2025,
        CODE,
    ]:
        assert expected in text, (expected, text)
    assert "01/2018" not in text and "61/2018" not in text


def test_form_05_prints_which_stop_it_notifies_on_one_page() -> None:
    d = dossier(at=RECEIVED_2026)
    sos(d, SosAction.STOP, at=vn(2026, 3, 3, 10))
    resume(d, at=vn(2026, 3, 4, 9))
    sos(d, SosAction.STOP, at=vn(2026, 3, 5, 14))

    first = pdf(FormNumber.STOP_NOTICE, d, now=vn(2026, 3, 6, 8), stop=1)

    assert len(page_sizes(first)) == 1
    text = text_of(first)
    for expected in [
        "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
        "Lần dừng: 1/2",
        "Thời gian dừng: 10 giờ 00 phút, ngày 03/03/2026",
        "Thời gian tiếp tục giải quyết: 09 giờ 00 phút, ngày 04/03/2026",
        "THỦ TRƯỞNG CƠ QUAN",
    ]:
        assert expected in text, (expected, text)


def test_a_2025_march_dossier_prints_circular_01_2018s_numbers_and_basis() -> None:
    text = _flat(text_of(pdf(FormNumber.CONTROL_SLIP, everything())))

    assert "(Mẫu số 05 – Thông tư số 01/2018/TT-VPCP)" in text
    assert "Căn cứ Nghị định số 61/2018/NĐ-CP ngày 23 tháng 4 năm 2018 của Chính phủ" in text
