"""The forms of a dossier (`domain.forms`, Circular 03/2025/TT-VPCP) as A5 portrait PDF documents.

Layout only: the national motto header, the title, its number in the circular and the legal
basis line (both of the frame of the dossier's receipt), the dossier code (with its QR code on form
01), then the form's blocks in order and its signature blocks. Text is in Be Vietnam Pro, a
typeface drawn for Vietnamese, embedded (subset) from the `fontpkg-be-vietnam-pro` package, so
every diacritic prints and is extracted back as typed, on any reader, with nothing fetched at run
time. The QR code is drawn as vector squares from `segno`'s matrix, so it stays sharp in print.

Rendering is CPU work of a few tens of milliseconds: the API runs it in a worker thread.
"""

from __future__ import annotations

import unicodedata
from importlib import resources
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import XPos
from fpdf.fonts import FontFace

from domain.forms import DESK, Fields, Form, FormNumber, Paragraph, Signature, Table

MEDIA_TYPE = "application/pdf"

PAGE_MM = (148.0, 210.0)  # A5 portrait: 419.53 × 595.28 pt
MARGIN = 12.0
TOP = 10.0
FONT = "BeVietnamPro"
_FONT_DIR = Path(str(resources.files("fontpkg_be_vietnam_pro") / "files"))
_FONT_FILES = {
    "": "BeVietnamPro-Regular.ttf",
    "B": "BeVietnamPro-Bold.ttf",
    "I": "BeVietnamPro-Italic.ttf",
}

MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")

BODY_PT = 9.0
LINE = 4.6  # mm, a body line
SMALL_PT = 7.5  # tables, notes under signature titles
SMALL_LINE = 3.6
QR_MM = 24.0
QR_QUIET_MODULES = 2
SIGNATURE_SPACE = 14.0  # mm left blank to sign in


# Forms 01 to 05 are one sheet handed over a desk: a long procedure (names of several lines, a
# dozen documents) is set smaller, down to the last scale, rather than spill onto a second page.
# The control slip grows with the ledger and takes the pages it needs.
ONE_PAGE_SCALES = (1.0, 0.9, 0.82)


def render_pdf(form: Form) -> bytes:
    """The PDF document of `form`: one A5 page for forms 01 to 05 (set smaller when it must
    be), as many as its table needs for the control slip (06)."""
    scales = (1.0,) if form.number is FormNumber.CONTROL_SLIP else ONE_PAGE_SCALES
    for scale in scales:
        pdf = _Document(form, scale)
        pdf.draw()
        if pdf.page_no() == 1:
            break
    return bytes(pdf.output())


def _text(value: str) -> str:
    """NFC: a name typed with combining marks prints with the font's precomposed letters."""
    return unicodedata.normalize("NFC", value)


class _Document(FPDF):
    """An A5 page set up for one form, with the text column narrowed beside the QR code."""

    def __init__(self, form: Form, scale: float = 1.0) -> None:
        super().__init__(orientation="P", unit="mm", format=PAGE_MM)
        self.form = form
        # The body's sizes; the header keeps its own.
        self.body_pt, self.body_line = BODY_PT * scale, LINE * scale
        self.small_pt, self.small_line = SMALL_PT * scale, SMALL_LINE * scale
        self.signature_space = SIGNATURE_SPACE * scale
        for style, file in _FONT_FILES.items():
            self.add_font(FONT, style, _FONT_DIR / file)
        self.set_margins(MARGIN, TOP, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN)
        self.set_title(_text(f"{form.title} – {form.dossier_code}"))
        self.set_subject(_text(f"Mẫu số {form.printed_number}, {form.circular}"))
        self.set_author(_text(form.issuer))
        self.set_creator("motcua")
        self.set_lang("vi-VN")
        self.qr_bottom = 0.0
        self.add_page()

    def header(self) -> None:
        """On every page after the first, which pages of which form of which dossier it is."""
        if self.page_no() == 1:
            return
        self.set_font(FONT, "I", SMALL_PT)
        form, page = self.form, self.page_no()
        line = f"Mẫu số {form.printed_number} – Mã hồ sơ {form.dossier_code} – trang {page}"
        self.multi_cell(0, SMALL_LINE, _text(line), align="R", new_x=XPos.LMARGIN)
        self.ln(2)

    def draw(self) -> None:
        self.header_block()
        self.title_block()
        for block in self.form.blocks:
            if isinstance(block, Fields):
                self.fields(block)
            elif isinstance(block, Paragraph):
                self.paragraph(block)
            else:
                self.table_block(block)
        self.signatures(self.form.signatures)

    # --- the parts of a form ----------------------------------------------------------------

    def header_block(self) -> None:
        """The issuing unit on the left, the national motto and the place and date on the
        right, each underlined by a short rule as official documents are."""
        form, width = self.form, self.epw
        left_w, right_w = width * 0.45, width * 0.55
        self.set_xy(MARGIN, TOP)
        self.set_font(FONT, "", 7.5)
        self.multi_cell(left_w, 3.6, _text(form.issuer.upper()), align="C")
        self.set_x(MARGIN)
        self.set_font(FONT, "B", 7.5)
        self.multi_cell(left_w, 3.6, _text(DESK.upper()), align="C")
        self._rule(MARGIN + left_w / 2, 14.0)
        left_bottom = self.get_y()

        right_x = MARGIN + left_w
        self.set_xy(right_x, TOP)
        self.set_font(FONT, "B", 7.5)
        self.multi_cell(right_w, 3.6, MOTTO[0], align="C")
        self.set_x(right_x)
        self.set_font(FONT, "B", 8)
        self.multi_cell(right_w, 3.8, MOTTO[1], align="C")
        self._rule(right_x + right_w / 2, self.get_string_width(MOTTO[1]))
        self.set_xy(right_x, self.get_y() + 1.5)
        self.set_font(FONT, "I", 8)
        self.multi_cell(right_w, 3.8, _text(form.place_and_date), align="C")
        self.set_y(max(left_bottom, self.get_y()) + 4)

    def title_block(self) -> None:
        """The title, the form's number in its circular, the legal basis, and the dossier code
        with its QR code beside it on form 01."""
        form = self.form
        self.set_font(FONT, "B", 11)
        self.multi_cell(0, 5.5, _text(form.title), align="C", new_x=XPos.LMARGIN)
        self.set_font(FONT, "I", 7.5)
        number = f"(Mẫu số {form.printed_number} – {form.circular})"
        self.multi_cell(0, 3.6, _text(number), align="C", new_x=XPos.LMARGIN)
        self.multi_cell(0, 3.6, _text(form.basis), align="C", new_x=XPos.LMARGIN)
        self.ln(2)
        if form.qr_payload:
            self._qr(form.qr_payload, self.get_y())
        self.set_font(FONT, "B", 9.5)
        self.write(LINE + 0.4, "Mã hồ sơ: ")
        self.write(LINE + 0.4, _text(form.dossier_code))
        self.ln(LINE + 1.6)
        self._after_line()

    def fields(self, block: Fields) -> None:
        for label, value in block.items:
            self.set_font(FONT, "B", self.body_pt)
            self.write(self.body_line, _text(f"{label}: "))
            self.set_font(FONT, "", self.body_pt)
            self.write(self.body_line, _text(value))
            self.ln(self.body_line)
            self._after_line()
        self.ln(1)

    def paragraph(self, block: Paragraph) -> None:
        self.set_font(FONT, "", self.body_pt)
        self.multi_cell(0, self.body_line, _text(block.text), align="L", new_x=XPos.LMARGIN)
        self._after_line()
        self.ln(1)

    def table_block(self, block: Table) -> None:
        """A bordered table below the QR code, its heading row shaded and repeated on a new
        page; the first column (the numbers) centred."""
        self._clear_qr()
        self.set_font(FONT, "B", self.body_pt)
        self.multi_cell(0, self.body_line, _text(block.heading), align="L", new_x=XPos.LMARGIN)
        self.ln(0.5)
        self.set_font(FONT, "", self.small_pt)
        aligns = ("C", *("L" for _ in block.columns[1:]))
        with self.table(
            col_widths=block.widths,
            line_height=self.small_line,
            text_align=aligns,
            padding=0.8,
            headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
            repeat_headings=1,
        ) as table:
            for cells in (block.columns, *block.rows):
                row = table.row()
                for cell in cells:
                    row.cell(_text(cell))
        self.ln(3)

    def signatures(self, blocks: list[Signature]) -> None:
        """Signature blocks side by side (one alone sits on the right), with room to sign."""
        if not blocks:
            return
        self._clear_qr()
        needed = self.small_line * 3 + self.signature_space + 4
        if self.get_y() + needed > self.h - MARGIN:
            self.add_page()
        self.ln(2)
        column = self.epw / 2
        top = self.get_y()
        for index, signature in enumerate(blocks[-2:]):
            x = MARGIN + column * (index + (1 if len(blocks) == 1 else 0))
            self.set_xy(x, top)
            self.set_font(FONT, "B", 8.5)
            self.multi_cell(column, 4, _text(signature.title), align="C")
            self.set_x(x)
            self.set_font(FONT, "I", self.small_pt)
            self.multi_cell(column, self.small_line, _text(signature.note), align="C")
            self.set_xy(x, self.get_y() + self.signature_space)
            self.set_font(FONT, "", 8.5)
            self.multi_cell(column, 4, _text(signature.name), align="C")

    # --- helpers ---------------------------------------------------------------------------

    def _rule(self, centre_x: float, width: float) -> None:
        """A short rule centred under the text just written."""
        y = self.get_y() + 0.6
        self.set_line_width(0.2)
        self.line(centre_x - width / 2, y, centre_x + width / 2, y)
        self.set_y(y + 0.4)

    def _qr(self, payload: str, top: float) -> None:
        """The QR code of `payload` at the top right of the body, drawn module by module
        (horizontal runs of dark modules, one rectangle each); the text column narrows beside
        it until `_after_line` finds the text below it."""
        code = segno.make(payload, error="m", micro=False)
        matrix = code.matrix
        modules = len(matrix) + 2 * QR_QUIET_MODULES
        size = QR_MM / modules
        left = self.w - MARGIN - QR_MM
        self.set_fill_color(0, 0, 0)
        for row_index, row in enumerate(matrix):
            y = top + (row_index + QR_QUIET_MODULES) * size
            column = 0
            while column < len(row):
                if not row[column]:
                    column += 1
                    continue
                start = column
                while column < len(row) and row[column]:
                    column += 1
                x = left + (start + QR_QUIET_MODULES) * size
                self.rect(x, y, (column - start) * size, size, style="F")
        self.qr_bottom = top + QR_MM
        self.set_right_margin(MARGIN + QR_MM + 3)

    def _after_line(self) -> None:
        if self.qr_bottom and self.get_y() >= self.qr_bottom:
            self._clear_qr()

    def _clear_qr(self) -> None:
        """Below the QR code: the full text width again."""
        if self.qr_bottom:
            self.set_y(max(self.get_y(), self.qr_bottom + 1))
            self.set_right_margin(MARGIN)
            self.qr_bottom = 0.0
