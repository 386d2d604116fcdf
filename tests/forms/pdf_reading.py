"""Reading a form's PDF back as a person and a scanner would: its page sizes, its text (pypdf)
and the QR codes on its first page (rendered by PDFium, decoded by ZXing)."""

from __future__ import annotations

import io
import unicodedata

import pypdfium2
import zxingcpp
from pypdf import PdfReader

A5_PT = (419.53, 595.28)  # 148 × 210 mm


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    return [
        (float(page.mediabox.width), float(page.mediabox.height))
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def assert_a5(pdf: bytes) -> None:
    """A PDF document whose every page is A5 portrait, to a point."""
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    sizes = page_sizes(pdf)
    assert sizes
    for width, height in sizes:
        assert abs(width - A5_PT[0]) <= 1 and abs(height - A5_PT[1]) <= 1, sizes


def text_of(pdf: bytes) -> str:
    """All the text of the document, NFC, with every run of whitespace one space (lines and
    table cells wrap where the layout says)."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(unicodedata.normalize("NFC", text).split())


def qr_codes(pdf: bytes) -> list[str]:
    """The QR codes a scanner reads on the first page, printed at 216 dpi."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=3).to_pil()
    finally:
        document.close()
    return [
        code.text
        for code in zxingcpp.read_barcodes(image)
        if code.format == zxingcpp.BarcodeFormat.QRCode
    ]
