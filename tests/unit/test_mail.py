"""A notice's e-mail (activities/mail.py `compose`) as a mail client reads it back: every name,
address and the subject exactly as given, in Vietnamese, whatever their length; the message pure
ASCII (RFC 2047 headers, an encoded body), its lines within RFC 5322's 998 characters. (The
stdlib's SMTP policy, used before, folded a long Vietnamese name with the address inside the
encoded words: read back, two recipients became one name.)"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default

from activities.mail import Mailbox, compose
from domain.notices import Notice, NoticeKind

TO = [
    Mailbox("Công an thành phố Đồng Nai — Phòng Cảnh sát phòng cháy, chữa cháy", "pc07@ca.vn"),
    Mailbox("Sở Nông nghiệp và Môi trường thành phố Đồng Nai", "vanthu@snnmt.dongnai.gov.vn"),
    Mailbox('Ban "Quản lý" các khu công nghiệp', "bqlkcn@dongnai.gov.vn"),
]
CC = [Mailbox("Sở Nội vụ thành phố Đồng Nai", "vanthu@snv.dongnai.gov.vn")]
SUBJECT = "Nhắc lần 2: quá hạn cho ý kiến về hồ sơ 000.00.07.H19-261127-0001 " + "ờ" * 120


def test_a_notice_e_mail_reads_back_exactly_and_is_ascii() -> None:
    notice = Notice(
        key="000.00.07.H19-261127-0001/reminder_2/CAT/1",
        kind=NoticeKind.REMINDER_2,
        dossier="000.00.07.H19-261127-0001",
        to="CAT",
        cc=["SNV"],
        sent_at=datetime(2026, 11, 27, 2, 30, 15, tzinfo=UTC),
        subject=SUBJECT,
        body="Đề nghị cho ý kiến về hồ sơ của Nguyễn Thị Ánh Tuyết.\n" * 40,
    )
    sender = "Một cửa Đồng Nai <motcua@dongnai.test>"

    raw = compose(notice, TO, CC, notice.key, sender).as_bytes()

    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split(b"\n"))
    read = BytesParser(policy=default).parsebytes(raw)
    assert isinstance(read, EmailMessage)
    assert read["Subject"] == SUBJECT
    assert str(read["From"]) == sender
    for header, boxes in (("To", TO), ("Cc", CC)):
        addresses = read[header].addresses
        assert [(a.display_name, a.addr_spec) for a in addresses] == [
            (b.name, b.address) for b in boxes
        ]
    assert read.get_content() == notice.body + (
        f"\n\n-- \nHồ sơ {notice.dossier} · mã thông báo {notice.key}\n"
        "Thư gửi tự động từ phần mềm một cửa Đồng Nai; vui lòng không trả lời thư này.\n"
        "(Automatic message from Đồng Nai's one-stop software; please do not reply.)\n"
    )
    assert read["Date"].datetime == notice.sent_at
