"""Reports as files a clerk opens: CSV (UTF-8 with a BOM, so that Excel reads Vietnamese right)
and Excel workbooks (openpyxl), from one description of each table.

A report is a list of `Table`s: its title (the sheet's name), its columns with their Vietnamese
headers and kinds, and its rows. An Excel workbook gets one sheet per table, with a bold, frozen
header row, a filter on it, widths fitted to the content and number formats per kind (integers
with thousands separators, times as `dd/mm/yyyy hh:mm` in Vietnam's time, shares as percentages).
A CSV holds one table; when a report has several, each comes under its title, a blank line
between them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from domain.localtime import VN

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Kind = Literal["text", "int", "time", "share", "yes_no"]

# Excel number formats per kind; `#,##0` shows the reader's own thousands separator.
_NUMBER_FORMATS: dict[Kind, str] = {
    "int": "#,##0",
    "time": "dd/mm/yyyy hh:mm",
    "share": "0.0%",
}
_CSV_TIME = "%d/%m/%Y %H:%M"
_YES_NO = {True: "Có", False: "Không"}
_MIN_WIDTH, _MAX_WIDTH = 8, 60
_SHEET_NAME_LENGTH = 31  # Excel's limit
_ROWS_MEASURED = 1000  # widths are fitted to the header and the first rows


@dataclass(frozen=True)
class Column:
    """A column: the row's `key`, its Vietnamese `header`, and the `kind` of its values."""

    key: str
    header: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    """One table of a report: a sheet in a workbook, a section of a CSV."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]

    def __post_init__(self) -> None:
        if len(self.title) > _SHEET_NAME_LENGTH:
            raise ValueError(f"sheet name {self.title!r} is longer than {_SHEET_NAME_LENGTH}")


def _local(at: datetime) -> datetime:
    """A time as Vietnam's wall clock to the second, without zone: Excel has no time zones, and
    keeps milliseconds only, which no clerk reads."""
    return at.astimezone(VN).replace(tzinfo=None, microsecond=0)


def _csv_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return ""
    if kind == "time":
        return _local(value).strftime(_CSV_TIME)
    if kind == "yes_no":
        return _YES_NO[bool(value)]
    return value


def csv_bytes(tables: Sequence[Table]) -> bytes:
    """The tables as CSV, UTF-8 with a byte-order mark; several under their titles."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    for number, table in enumerate(tables):
        if len(tables) > 1:
            if number:
                writer.writerow([])
            writer.writerow([table.title])
        writer.writerow([c.header for c in table.columns])
        for row in table.rows:
            writer.writerow([_csv_value(row.get(c.key), c.kind) for c in table.columns])
    return text.getvalue().encode("utf-8-sig")


def _xlsx_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "time":
        return _local(value)
    if kind == "yes_no":
        return _YES_NO[bool(value)]
    return value


def _width(table: Table, column: Column) -> float:
    shown = [column.header] + [
        str(_csv_value(row.get(column.key), column.kind)) for row in table.rows[:_ROWS_MEASURED]
    ]
    widest = max(len(line) for value in shown for line in value.splitlines() or [""])
    return float(min(_MAX_WIDTH, max(_MIN_WIDTH, widest + 2)))


def _write_sheet(sheet: WriteOnlyWorksheet, table: Table) -> None:
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(table, column)
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(table.columns))
    sheet.auto_filter.ref = f"A1:{last}{len(table.rows) + 1}"
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        cells = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=_xlsx_value(row.get(column.key), column.kind))
            if column.kind in _NUMBER_FORMATS:
                cell.number_format = _NUMBER_FORMATS[column.kind]
            cells.append(cell)
        sheet.append(cells)


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """The tables as an Excel workbook, one sheet each (written row by row: a long list of
    refused attempts never sits in memory as a whole worksheet)."""
    workbook = Workbook(write_only=True)
    for table in tables:
        _write_sheet(workbook.create_sheet(table.title), table)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
