"""domain.forms: what each form says about a dossier, table by table, and the early / on-time /
late marks of the process control slip. Pure: dossiers come from the unit builders (real calendar,
the story received Monday 3 March 2025 at 09:00 in Vietnam, so under Decree 61/2018 and Circular
01/2018, whose numbers and titles those dossiers keep), and dossiers received in 2026 under Decree
118/2025 and Circular 03/2025/TT-VPCP (Appendix I: forms 01 to 07)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from domain.commands import SosAction
from domain.dossier import Applicant, Dossier
from domain.forms import (
    ControlStep,
    Form,
    FormLink,
    FormNotApplicable,
    FormNumber,
    NoSuchStop,
    Timeliness,
    applicable_forms,
    build_form,
    control_steps,
    place_and_date,
    timeliness,
)
from domain.legal_frame import FRAME_2018, FRAME_2025, TITLES_2025, legal_frame
from tests.unit.builders import (
    APPLICANT,
    CODE,
    DEADLINE,
    DISTRICT,
    DOCUMENTS,
    DUE,
    ENV,
    FIRE,
    LEAD,
    NEW_DUE_DATE,
    NOW,
    PROCEDURE,
    SOON,
    apologise,
    confirm_withdrawal,
    consult,
    decide,
    dossier,
    hand_over,
    receive_supplement,
    record_result,
    remind,
    reply,
    request_withdrawal,
    resume,
    sos,
    sos_command,
    vn,
    withdrawn,
)

NAMES = {
    LEAD: "Sở Xây dựng thành phố Đồng Nai",
    FIRE: "Phòng Cảnh sát PCCC và CNCH",
    ENV: "Sở Nông nghiệp và Môi trường thành phố Đồng Nai",
    DISTRICT: "UBND thành phố Biên Hòa",
}
SXD = NAMES[LEAD]
PAGES = "https://motcua.dongnai.gov.vn"  # where the pages are: form 01's QR code leads there
LOOK_UP = f"{PAGES}/lookup?code={CODE}"
PRINTED = vn(2025, 4, 1, 8)  # when the slips are printed: after everything below
RECEIPT_TIME = "09 giờ 00 phút, ngày 03/03/2025"
PROCEDURE_TEXT = f"{PROCEDURE.name} (mã {PROCEDURE.code})"


def form(number: FormNumber, d: Dossier, now: datetime = PRINTED, stop: int | None = None) -> Form:
    return build_form(
        number,
        d.document(now),
        required_documents=DOCUMENTS,
        agency_names=NAMES,
        pages_url=PAGES,
        now=now,
        stop=stop,
    )


def steps(d: Dossier, now: datetime = PRINTED) -> list[ControlStep]:
    return control_steps(d.document(now), NAMES, now)


# --- the marks: early / on time / late ----------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "limit", "mark"),
    [
        (vn(2025, 3, 5, 16), vn(2025, 3, 6, 17), Timeliness.EARLY),  # the day before
        (vn(2025, 3, 6, 0, 1), vn(2025, 3, 6, 17), Timeliness.ON_TIME),  # on the day
        (vn(2025, 3, 6, 17), vn(2025, 3, 6, 17), Timeliness.ON_TIME),  # at the limit itself
        (vn(2025, 3, 6, 17, 0, 1), vn(2025, 3, 6, 17), Timeliness.LATE),  # a second after
        (vn(2025, 3, 10, 9), vn(2025, 3, 6, 17), Timeliness.LATE),  # days after
        # Vietnam's day, not UTC's: 06:30 on the 6th in Vietnam is still the 5th in UTC.
        (vn(2025, 3, 6, 6, 30), vn(2025, 3, 6, 17), Timeliness.ON_TIME),
        (vn(2025, 3, 5, 23, 30), vn(2025, 3, 6, 17), Timeliness.EARLY),
    ],
)
def test_a_step_is_early_on_a_day_before_its_limit_late_after_it(
    done: datetime, limit: datetime, mark: Timeliness
) -> None:
    assert timeliness(done, limit) is mark


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2025, 3, 3), "Đồng Nai, ngày 03 tháng 3 năm 2025"),
        (date(2025, 1, 15), "Đồng Nai, ngày 15 tháng 01 năm 2025"),
        (date(2025, 2, 9), "Đồng Nai, ngày 09 tháng 02 năm 2025"),
        (date(2025, 12, 31), "Đồng Nai, ngày 31 tháng 12 năm 2025"),
    ],
)
def test_place_and_date_as_official_documents_write_it(day: date, text: str) -> None:
    assert place_and_date(day) == text


# --- 01: receipt and appointment ------------------------------------------------------------------


def test_form_01_receipt_with_applicant_documents_times_and_a_qr_code_of_its_look_up() -> None:
    receipt = form(FormNumber.RECEIPT, dossier())

    assert receipt.title == "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
    assert (receipt.dossier_code, receipt.qr_payload) == (CODE, LOOK_UP)
    assert receipt.issuer == SXD
    assert receipt.place_and_date == "Đồng Nai, ngày 03 tháng 3 năm 2025"  # the day of receipt
    assert receipt.fields() == {
        "Tổ chức, cá nhân": "Nguyễn Thị Hoa",
        "Địa chỉ": "Phường Tân Phong, thành phố Biên Hòa, Đồng Nai",
        "Số điện thoại": "0913456789",
        "Thư điện tử": "hoa.nguyen@example.vn",
        "Số định danh cá nhân": "075190001234",
        "Nội dung yêu cầu giải quyết": PROCEDURE_TEXT,
        "Thời hạn giải quyết": "15 ngày làm việc",
        "Thời gian nhận hồ sơ": RECEIPT_TIME,
        "Thời gian trả kết quả": "17 giờ 00 phút, ngày 24/03/2025",  # DUE
        "Nơi nhận kết quả": f"Bộ phận Tiếp nhận và Trả kết quả – {SXD}",
    }
    documents = receipt.table("Thành phần hồ sơ đã nhận")
    assert documents.columns == ["STT", "Tên giấy tờ"]
    assert documents.rows == [[str(i), name] for i, name in enumerate(DOCUMENTS, start=1)]
    assert [(s.title, s.name) for s in receipt.signatures] == [
        ("NGƯỜI NỘP HỒ SƠ", "Nguyễn Thị Hoa"),
        ("NGƯỜI TIẾP NHẬN HỒ SƠ", "Lê Văn Minh"),  # the name, not the login
    ]


def test_form_01_prints_a_dash_for_what_the_applicant_did_not_give_and_the_current_due_date() -> (
    None
):
    d = dossier(applicant=Applicant(name="Trần Văn Bình"))
    apologise(d)

    fields = form(FormNumber.RECEIPT, d).fields()

    assert fields["Tổ chức, cá nhân"] == "Trần Văn Bình"
    for label in ("Địa chỉ", "Số điện thoại", "Thư điện tử", "Số định danh cá nhân"):
        assert fields[label] == "—"
    assert fields["Thời gian trả kết quả"] == "17 giờ 00 phút, ngày 28/03/2025"  # the apology's


def test_form_01_while_the_clock_waits_for_a_supplement_has_no_appointment_yet() -> None:
    d = dossier()
    sos(d, SosAction.SUPPLEMENT)

    due = form(FormNumber.RECEIPT, d).fields()["Thời gian trả kết quả"]

    assert due == "chưa xác định (thời hạn đang tạm dừng)"


# --- 02, 03, 04: only when they apply ----------------------------------------------------------


@pytest.mark.parametrize(
    "number", [FormNumber.SUPPLEMENT_REQUEST, FormNumber.REFUSAL, FormNumber.APOLOGY]
)
def test_forms_02_03_04_are_refused_for_a_dossier_they_do_not_concern(number: FormNumber) -> None:
    d = dossier()
    consult(d)
    reply(d)
    record_result(d, at=vn(2025, 3, 5, 9))

    with pytest.raises(FormNotApplicable) as refused:
        form(number, d)

    assert refused.value.form is number
    assert refused.value.message_en and refused.value.message_vi


def test_form_02_supplement_request_lists_the_documents_to_supply_and_the_reason() -> None:
    d = dossier()
    sos(d, SosAction.SUPPLEMENT, missing_documents=DOCUMENTS[2:])

    request = form(FormNumber.SUPPLEMENT_REQUEST, d)

    assert request.title == "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"
    assert request.qr_payload is None
    assert request.place_and_date == "Đồng Nai, ngày 03 tháng 3 năm 2025"
    assert request.table("Giấy tờ cần bổ sung, hoàn thiện").rows == [
        ["1", DOCUMENTS[2]],
        ["2", DOCUMENTS[3]],
    ]
    fields = request.fields()
    assert fields["Tổ chức, cá nhân"] == APPLICANT.name
    assert fields["Nội dung yêu cầu giải quyết"] == PROCEDURE_TEXT
    assert fields["Lý do"] == "Hồ sơ cần làm rõ"
    assert fields["Thời gian yêu cầu"] == "10 giờ 00 phút, ngày 03/03/2025"
    assert "Đã nhận hồ sơ bổ sung" not in fields
    assert [(s.title, s.name) for s in request.signatures] == [("NGƯỜI HƯỚNG DẪN", "Lê Văn Minh")]


def test_form_02_after_the_supplement_arrived_says_when() -> None:
    d = dossier()
    sos(d, SosAction.SUPPLEMENT)
    receive_supplement(d, at=vn(2025, 3, 5, 14, 30))

    fields = form(FormNumber.SUPPLEMENT_REQUEST, d).fields()

    assert fields["Đã nhận hồ sơ bổ sung"] == "14 giờ 30 phút, ngày 05/03/2025"


def test_form_03_refusal_gives_the_reason_of_the_return() -> None:
    d = dossier()
    sos(d, SosAction.RETURN, at=vn(2025, 3, 4, 8, 15))

    refusal = form(FormNumber.REFUSAL, d)

    assert refusal.title == "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"
    assert refusal.place_and_date == "Đồng Nai, ngày 04 tháng 3 năm 2025"
    fields = refusal.fields()
    assert fields["Lý do"] == "Hồ sơ cần làm rõ"
    assert fields["Thời gian từ chối"] == "08 giờ 15 phút, ngày 04/03/2025"
    assert fields["Thời gian nhận hồ sơ"] == RECEIPT_TIME
    assert any("từ chối giải quyết" in p for p in refusal.paragraphs())


def test_form_04_apology_gives_the_reason_the_old_and_the_new_date() -> None:
    d = dossier()
    apologise(d, NEW_DUE_DATE, at=vn(2025, 3, 20, 10))

    apology = form(FormNumber.APOLOGY, d)

    assert apology.title == "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
    assert apology.place_and_date == "Đồng Nai, ngày 20 tháng 3 năm 2025"
    fields = apology.fields()
    assert fields["Ngày hẹn trả kết quả trước đây"] == "17 giờ 00 phút, ngày 24/03/2025"
    assert fields["Lý do chậm trễ"] == "Cần thêm thời gian kiểm tra thực địa"
    assert fields["Ngày hẹn trả kết quả mới"] == "17 giờ 00 phút, ngày 28/03/2025"
    assert apology.paragraphs()[0] == f"Kính gửi: {APPLICANT.name}"
    assert [s.title for s in apology.signatures] == ["THỦ TRƯỞNG CƠ QUAN"]


def every_form_applies(at: datetime = NOW) -> Dossier:
    """A dossier received at `at` that every form applies to: a supplement, a stop, an apology
    and a return, a working day or more apart."""
    d = dossier(at=at)
    sos(d, SosAction.SUPPLEMENT, at=at + timedelta(hours=1))
    receive_supplement(d, at=at + timedelta(days=1))
    sos(d, SosAction.STOP, at=at + timedelta(days=1, hours=1))
    resume(d, at=at + timedelta(days=2))
    apologise(d, (at + timedelta(days=30)).date(), at=at + timedelta(days=3))
    sos(d, SosAction.RETURN, at=at + timedelta(days=4))
    return d


RECEIVED_2026 = vn(2026, 3, 3, 9)  # Tuesday 3 March 2026: under Decree 118/2025
PRINTED_2026 = vn(2026, 4, 1, 8)


def test_a_dossier_received_from_1_july_2025_is_under_decree_118_and_circular_03() -> None:
    assert legal_frame(vn(2025, 6, 30, 23, 59)) is FRAME_2018
    assert legal_frame(vn(2025, 7, 1, 0, 0)) is FRAME_2025


def test_every_form_of_a_2026_dossier_has_circular_03s_number_title_and_basis() -> None:
    d = every_form_applies(RECEIVED_2026)

    forms = {n: form(n, d, now=PRINTED_2026) for n in FormNumber}

    assert {n: f.title for n, f in forms.items()} == dict(TITLES_2025)
    assert {n: f.printed_number for n, f in forms.items()} == {n: n.value for n in FormNumber}
    assert {f.circular for f in forms.values()} == {"Thông tư số 03/2025/TT-VPCP"}
    assert {f.basis for f in forms.values()} == {
        "Căn cứ Nghị định số 118/2025/NĐ-CP ngày 09 tháng 6 năm 2025 của Chính phủ và Thông tư "
        "số 03/2025/TT-VPCP ngày 15 tháng 9 năm 2025 của Văn phòng Chính phủ"
    }
    assert forms[FormNumber.APOLOGY].title == (
        "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT"
    )
    assert any(
        "đề nghị tổ chức, cá nhân đồng ý gia hạn" in p
        for p in forms[FormNumber.APOLOGY].paragraphs()
    )


def test_a_dossier_received_before_1_july_2025_keeps_circular_01_2018s_forms() -> None:
    d = every_form_applies()

    forms = {n: form(n, d) for n in FormNumber}

    assert forms[FormNumber.APOLOGY].title == "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
    assert forms[FormNumber.APOLOGY].printed_number == "04"
    slip = forms[FormNumber.CONTROL_SLIP]
    assert (slip.printed_number, slip.circular) == ("05", "Thông tư số 01/2018/TT-VPCP")
    assert slip.basis.startswith("Căn cứ Nghị định số 61/2018/NĐ-CP ngày 23 tháng 4 năm 2018")
    # Circular 01/2018 has no notice of a stop: Circular 03's form 05, on the old basis.
    stop = forms[FormNumber.STOP_NOTICE]
    assert (stop.printed_number, stop.circular) == ("05", "Thông tư số 03/2025/TT-VPCP")
    assert stop.title == "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ"
    assert {n: f.title for n, f in forms.items()} == {
        n: FRAME_2018.form(n).title for n in FormNumber
    }


# --- 05: the notice of a stop, one per accepted stop ------------------------------------------


def stopped_twice() -> Dossier:
    d = dossier(at=RECEIVED_2026)
    sos(d, SosAction.STOP, at=vn(2026, 3, 3, 10))
    resume(d, at=vn(2026, 3, 4, 9))
    sos(d, SosAction.STOP, at=vn(2026, 3, 5, 14))
    return d


def test_form_05_notifies_the_latest_stop_by_default_and_any_stop_by_its_number() -> None:
    d = stopped_twice()

    latest = form(FormNumber.STOP_NOTICE, d, now=PRINTED_2026)
    first = form(FormNumber.STOP_NOTICE, d, now=PRINTED_2026, stop=1)

    assert latest.title == "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ"
    assert latest.place_and_date == "Đồng Nai, ngày 05 tháng 3 năm 2026"
    assert latest.fields()["Lần dừng"] == "2/2"
    assert latest.fields()["Thời gian dừng"] == "14 giờ 00 phút, ngày 05/03/2026"
    assert latest.fields()["Thời gian tiếp tục giải quyết"] == "chưa tiếp tục"
    assert latest.fields()["Lý do dừng giải quyết"] == "Hồ sơ cần làm rõ"
    assert first.fields()["Lần dừng"] == "1/2"
    assert first.fields()["Thời gian dừng"] == "10 giờ 00 phút, ngày 03/03/2026"
    assert first.fields()["Thời gian tiếp tục giải quyết"] == "09 giờ 00 phút, ngày 04/03/2026"
    assert form(FormNumber.STOP_NOTICE, d, now=PRINTED_2026, stop=2) == latest
    assert latest.paragraphs()[0] == f"Kính gửi: {APPLICANT.name}"


def test_form_05_without_an_accepted_stop_does_not_apply_and_an_unknown_stop_is_none() -> None:
    d = dossier(at=RECEIVED_2026)
    consult(d, at=vn(2026, 3, 3, 9, 30), deadline=vn(2026, 3, 6, 17))
    stop = sos_command(SosAction.STOP)
    refusal = decide(d, stop, vn(2026, 3, 3, 10))  # R4: refused while an opinion is awaited
    assert refusal is not None
    d.record_refusal(stop, "sos", refusal, vn(2026, 3, 3, 10), via="api")

    with pytest.raises(FormNotApplicable) as refused:
        form(FormNumber.STOP_NOTICE, d, now=PRINTED_2026)
    assert refused.value.form is FormNumber.STOP_NOTICE
    with pytest.raises(NoSuchStop):
        form(FormNumber.STOP_NOTICE, stopped_twice(), now=PRINTED_2026, stop=3)


def test_r6_form_05_notifies_the_withdrawal_the_head_confirmed_after_the_sos_stops() -> None:
    # Decree 118/2025 art. 21, Circular 03/2025 art. 7: the texts' own stop is the applicant's
    # withdrawal; letter 448 has it confirmed by the head (R6). It is the last stop: no resume.
    d = stopped_twice()
    resume(d, at=vn(2026, 3, 6, 9))
    request_withdrawal(d, at=vn(2026, 3, 6, 10))
    confirm_withdrawal(d, at=vn(2026, 3, 6, 11))

    latest = form(FormNumber.STOP_NOTICE, d, now=PRINTED_2026)

    assert latest.fields()["Lần dừng"] == "3/3"
    assert latest.fields()["Lý do dừng giải quyết"] == (
        "Tổ chức, cá nhân đề nghị rút hồ sơ: Người nộp không còn nhu cầu"
    )
    assert latest.fields()["Thời gian dừng"] == "11 giờ 00 phút, ngày 06/03/2026"
    assert "Thời gian tiếp tục giải quyết" not in latest.fields()
    assert "thủ trưởng cơ quan xác nhận" in latest.paragraphs()[-1]
    assert form(FormNumber.STOP_NOTICE, d, now=PRINTED_2026, stop=2).fields()["Lần dừng"] == "2/3"
    links = applicable_forms(d.document(PRINTED_2026))
    assert [link.stop for link in links if link.number is FormNumber.STOP_NOTICE] == [1, 2, 3]
    only = applicable_forms(withdrawn().document(PRINTED))
    assert [link.stop for link in only if link.number is FormNumber.STOP_NOTICE] == [1]


def test_the_forms_that_apply_one_notice_per_stop() -> None:
    assert applicable_forms(dossier(at=RECEIVED_2026).document(PRINTED_2026)) == [
        FormLink(FormNumber.RECEIPT, TITLES_2025[FormNumber.RECEIPT]),
        FormLink(FormNumber.CONTROL_SLIP, TITLES_2025[FormNumber.CONTROL_SLIP]),
    ]
    links = applicable_forms(stopped_twice().document(PRINTED_2026))
    assert [(link.number.value, link.stop) for link in links] == [
        ("01", None),
        ("05", 1),
        ("05", 2),
        ("06", None),
    ]
    every = applicable_forms(every_form_applies().document(PRINTED))
    assert [link.number.value for link in every] == ["01", "02", "03", "04", "05", "06"]
    assert every[3].title == "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"  # its 2018 frame


# --- 06: the process control slip --------------------------------------------------------------


def row(step: ControlStep) -> tuple[str, str, str, Timeliness | None]:
    return (step.step, step.from_unit, step.to_unit, step.timeliness)


def test_form_06_one_row_per_hand_off_each_answer_judged_against_its_deadline() -> None:
    d = dossier()
    consult(d, (FIRE, ENV, DISTRICT), deadline=DEADLINE)  # Thursday 6/3 17:00
    reply(d, FIRE, at=vn(2025, 3, 5, 9))  # a day before: early
    reply(d, DISTRICT, at=vn(2025, 3, 6, 16, 59))  # on the day: on time
    remind(d, 2)  # ENV's reminder 1 at the deadline
    reply(d, ENV, at=vn(2025, 3, 7, 9), late_reason="Chờ kết quả kiểm tra")  # late
    record_result(d, at=vn(2025, 3, 10, 9))  # long before DUE: early
    hand_over(d, at=vn(2025, 3, 11, 9))

    assert [row(s) for s in steps(d)] == [
        ("Tiếp nhận hồ sơ", APPLICANT.name, SXD, None),
        ("Xin ý kiến phối hợp", SXD, NAMES[FIRE], None),
        ("Xin ý kiến phối hợp", SXD, NAMES[ENV], None),
        ("Xin ý kiến phối hợp", SXD, NAMES[DISTRICT], None),
        ("Trả lời xin ý kiến", NAMES[FIRE], SXD, Timeliness.EARLY),
        ("Trả lời xin ý kiến", NAMES[DISTRICT], SXD, Timeliness.ON_TIME),
        ("Trả lời xin ý kiến", NAMES[ENV], SXD, Timeliness.LATE),
        ("Có kết quả giải quyết", SXD, "Bộ phận Tiếp nhận và Trả kết quả", Timeliness.EARLY),
        ("Trả kết quả", "Bộ phận Tiếp nhận và Trả kết quả", APPLICANT.name, None),
    ]
    late = steps(d)[6]
    assert (late.at, late.by, late.limit) == (vn(2025, 3, 7, 9), "can-bo.snnmt", DEADLINE)
    assert late.note == (
        "Hạn 17:00 06/03/2025; đã nhắc lần 1 lúc 17:00 06/03/2025; lý do trễ: Chờ kết quả kiểm tra"
    )

    table = form(FormNumber.CONTROL_SLIP, d).table("Quá trình giải quyết hồ sơ")
    assert table.columns == [
        "STT",
        "Bước (từ – đến)",
        "Thời gian",
        "Người thực hiện",
        "Kết quả",
        "Ghi chú",
    ]
    assert [r[4] for r in table.rows] == [
        "",
        "",
        "",
        "",
        "Trước hạn",
        "Đúng hạn",
        "Quá hạn",
        "Trước hạn",
        "",
    ]
    assert table.rows[6][:4] == [
        "7",
        f"Trả lời xin ý kiến\nTừ: {NAMES[ENV]}\nĐến: {SXD}",
        "09:00\n07/03/2025",
        "can-bo.snnmt",
    ]


@pytest.mark.parametrize(
    ("result_at", "mark"),
    [
        (vn(2025, 3, 21, 16), Timeliness.EARLY),  # the Friday before DUE (Monday 24/3 17:00)
        (vn(2025, 3, 24, 16), Timeliness.ON_TIME),
        (vn(2025, 3, 25, 9), Timeliness.LATE),
    ],
)
def test_form_06_the_result_is_judged_against_the_due_date(
    result_at: datetime, mark: Timeliness
) -> None:
    d = dossier()
    record_result(d, at=result_at)

    result = next(s for s in steps(d) if s.step == "Có kết quả giải quyết")

    assert (result.limit, result.timeliness) == (DUE, mark)


def test_form_06_judges_the_result_against_the_due_date_in_force_when_it_came() -> None:
    # The supplement restarts the clock (due 26/3); an apology then moves it to 4/4: a result on
    # 1/4 is early against the due date in force, though later than both earlier ones.
    d = dossier()
    sos(d, SosAction.SUPPLEMENT, at=SOON)
    receive_supplement(d, at=vn(2025, 3, 5, 9))
    apologise(d, date(2025, 4, 4), at=vn(2025, 3, 20, 9))
    record_result(d, at=vn(2025, 4, 1, 9))

    assert [row(s)[0] for s in steps(d)] == [
        "Tiếp nhận hồ sơ",
        "Yêu cầu bổ sung hồ sơ",
        "Nhận hồ sơ bổ sung",
        "Xin lỗi, hẹn lại ngày trả",
        "Có kết quả giải quyết",
    ]
    result = steps(d)[-1]
    assert (result.limit, result.timeliness) == (vn(2025, 4, 4, 17), Timeliness.EARLY)


def test_form_06_a_consultation_still_awaited_is_late_once_past_its_deadline() -> None:
    d = dossier()
    consult(d, (FIRE,), deadline=DEADLINE)

    before = steps(d, now=vn(2025, 3, 6, 9))[-1]
    after = steps(d, now=vn(2025, 3, 7, 9))[-1]

    assert (before.step, before.at, before.timeliness) == ("Chờ trả lời xin ý kiến", None, None)
    assert (after.at, after.timeliness) == (None, Timeliness.LATE)
    row_after = (
        form(FormNumber.CONTROL_SLIP, d, now=vn(2025, 3, 7, 9))
        .table("Quá trình giải quyết hồ sơ")
        .rows[-1]
    )
    assert row_after[2:5] == ["chưa trả lời", "", "Quá hạn"]


def test_form_06_header_names_the_units_and_the_slip_is_dated_when_printed() -> None:
    d = dossier()
    consult(d, (FIRE, ENV))

    slip = form(FormNumber.CONTROL_SLIP, d)

    assert slip.title == "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"
    assert slip.place_and_date == "Đồng Nai, ngày 01 tháng 4 năm 2025"  # PRINTED
    assert slip.fields() == {
        "Cơ quan giải quyết": SXD,
        "Cơ quan phối hợp": f"{NAMES[FIRE]}, {NAMES[ENV]}",
        "Tổ chức, cá nhân": APPLICANT.name,
        "Nội dung yêu cầu giải quyết": PROCEDURE_TEXT,
        "Thời gian nhận hồ sơ": RECEIPT_TIME,
        "Thời gian hẹn trả kết quả": "17 giờ 00 phút, ngày 24/03/2025",
    }
    assert slip.signatures == []


def test_an_agency_without_a_name_is_printed_by_its_code() -> None:
    d = dossier()
    consult(d, (FIRE,))

    slip = build_form(
        FormNumber.CONTROL_SLIP,
        d.document(PRINTED),
        required_documents=DOCUMENTS,
        agency_names={},
        pages_url=PAGES,
        now=PRINTED,
    )

    assert slip.fields()["Cơ quan phối hợp"] == FIRE
    assert slip.issuer == LEAD
