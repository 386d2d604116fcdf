"""The National Public Service Portal's status list (DOMAIN.md), and where each dossier status
falls on it. Policy data: the portal's list is taken from a provincial system that syncs with it,
not from the official appendix, so keep it here and nowhere else. Checked in December 2026
against what could be read of Decree 118/2025/NĐ-CP and Circular 03/2025/TT-VPCP: neither public
excerpt lists the portal's statuses, so the list stays to be confirmed (docs/legal-frame.md).
Circular 04/2025/TT-VPCP (in force 25 January 2026, the data the portal and the provinces'
systems exchange) is the text to check it against."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

LABELS: dict[int, str] = {
    1: "Mới đăng ký trực tuyến",
    2: "Đã tiếp nhận",
    3: "Không được tiếp nhận",
    4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý",
    9: "Đã xử lý xong",
    10: "Đã trả kết quả",
}

# dossier status → portal code. A returned dossier (SOS "return", trả hồ sơ) maps to 3: the portal
# has no "refused after appraisal" of its own; revisit when the official appendix is at hand.
BY_STATUS: dict[str, int] = {
    "processing": 4,
    "consulting": 4,
    "awaiting_supplement": 5,
    "stopped": 8,
    "result_ready": 9,
    "completed": 10,
    "returned": 3,
    "withdrawn": 7,
}


class NationalStatus(BaseModel):
    code: int
    label: str


def national_status(status: str) -> NationalStatus:
    code = BY_STATUS[status]
    return NationalStatus(code=code, label=LABELS[code])


class PortalUpdate(BaseModel):
    """One change of a dossier's national status, to push to the portal once (API.md, issue 4).

    `seq` orders a dossier's updates and makes each one's identity: the workflow passes the seq
    of the dossier event that brought the change, so a retried or replayed push is the same
    update, and a receiver that sees an older `seq` after a newer one keeps the newer status.
    """

    dossier: str
    seq: int
    code: int
    label: str
    at: datetime

    @property
    def delivery_id(self) -> str:
        """The identity a receiver de-duplicates on, the same across every retry."""
        return f"{self.dossier}/status/{self.seq}"


def portal_update(dossier: str, seq: int, status: str, at: datetime) -> PortalUpdate:
    """The update that says dossier `dossier` reached dossier status `status` at event `seq`."""
    current = national_status(status)
    return PortalUpdate(dossier=dossier, seq=seq, code=current.code, label=current.label, at=at)
