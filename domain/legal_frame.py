"""Which texts govern a dossier: Decree 118/2025 and Circular 03/2025 from 1 July 2025, Decree
61/2018 and Circular 01/2018 before (docs/legal-frame.md has the sources and what is unconfirmed).

A dossier stays under the frame of the day it was received: its forms print that frame's legal
basis, numbers and titles, and its notices cite that frame's forms. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from domain.localtime import VN


class FormNumber(StrEnum):
    """The forms of a dossier, numbered as Circular 03/2025/TT-VPCP's Appendix I numbers them;
    form 07, the tracking book (sổ theo dõi hồ sơ), is the desk's register of every dossier,
    not a form of one dossier."""

    RECEIPT = "01"
    SUPPLEMENT_REQUEST = "02"
    REFUSAL = "03"
    APOLOGY = "04"  # the apology with a request to extend the time
    # New in Circular 03 (art. 7): the notice of a stop at the applicant's request (Decree 118
    # art. 21); motcua prints it for each accepted SOS stop, the closest notice (legal-frame.md).
    STOP_NOTICE = "05"
    CONTROL_SLIP = "06"  # was 05 in Circular 01/2018


TRACKING_BOOK = "07"  # Circular 03's form 07: a register, not a form of one dossier


@dataclass(frozen=True)
class PrintedForm:
    """How a form is printed under a frame: its number in the circular, its title and the
    circular that has it."""

    number: str
    title: str
    circular: str


@dataclass(frozen=True)
class LegalFrame:
    decree: str  # as the basis line cites it
    circular: str
    forms: MappingProxyType[FormNumber, PrintedForm]

    @property
    def basis(self) -> str:
        """The legal basis line every form prints under its title."""
        return f"Căn cứ {self.decree} và {self.circular_in_full}"

    @property
    def circular_in_full(self) -> str:
        return CIRCULARS_IN_FULL[self.circular]

    def form(self, number: FormNumber) -> PrintedForm:
        return self.forms[number]

    def cite(self, number: FormNumber) -> str:
        """`mẫu 02, Thông tư số 03/2025/TT-VPCP`: how a notice cites a form."""
        printed = self.forms[number]
        return f"mẫu {printed.number}, {printed.circular}"


CIRCULAR_2025 = "Thông tư số 03/2025/TT-VPCP"
CIRCULAR_2018 = "Thông tư số 01/2018/TT-VPCP"
CIRCULARS_IN_FULL = {
    CIRCULAR_2025: "Thông tư số 03/2025/TT-VPCP ngày 15 tháng 9 năm 2025 của Văn phòng Chính phủ",
    CIRCULAR_2018: "Thông tư số 01/2018/TT-VPCP ngày 23 tháng 11 năm 2018 của Văn phòng Chính phủ",
}

# Circular 03/2025/TT-VPCP, Appendix I (Mẫu số 01 to 07).
TITLES_2025: Final = MappingProxyType(
    {
        FormNumber.RECEIPT: "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        FormNumber.SUPPLEMENT_REQUEST: "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        FormNumber.REFUSAL: "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
        FormNumber.APOLOGY: "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
        FormNumber.STOP_NOTICE: "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
        FormNumber.CONTROL_SLIP: "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
    }
)

FRAME_2025: Final = LegalFrame(
    decree="Nghị định số 118/2025/NĐ-CP ngày 09 tháng 6 năm 2025 của Chính phủ",
    circular=CIRCULAR_2025,
    forms=MappingProxyType(
        {n: PrintedForm(n.value, title, CIRCULAR_2025) for n, title in TITLES_2025.items()}
    ),
)

# Circular 01/2018/TT-VPCP's Appendix (Mẫu số 01 to 06). It has no notice of a stop: a dossier
# of that frame gets Circular 03's form 05, the only text that has one.
FRAME_2018: Final = LegalFrame(
    decree="Nghị định số 61/2018/NĐ-CP ngày 23 tháng 4 năm 2018 của Chính phủ",
    circular=CIRCULAR_2018,
    forms=MappingProxyType(
        {
            **{
                n: PrintedForm(n.value, TITLES_2025[n], CIRCULAR_2018)
                for n in (FormNumber.RECEIPT, FormNumber.SUPPLEMENT_REQUEST, FormNumber.REFUSAL)
            },
            FormNumber.APOLOGY: PrintedForm(
                "04", "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", CIRCULAR_2018
            ),
            FormNumber.STOP_NOTICE: FRAME_2025.forms[FormNumber.STOP_NOTICE],
            FormNumber.CONTROL_SLIP: PrintedForm(
                "05", TITLES_2025[FormNumber.CONTROL_SLIP], CIRCULAR_2018
            ),
        }
    ),
)

# Decree 118/2025/NĐ-CP is in force from 1 July 2025 (government news; its final article, with
# what it repealed and any transitional rule, not read: docs/legal-frame.md).
DECREE_118_IN_FORCE: Final = datetime(2025, 7, 1, tzinfo=VN)


def legal_frame(received_at: datetime) -> LegalFrame:
    """The frame of a dossier received at `received_at` (aware): Decree 118/2025 from 1 July
    2025 in Vietnam, Decree 61/2018 before."""
    return FRAME_2025 if received_at >= DECREE_118_IN_FORCE else FRAME_2018
