"""CSV and XLSX files of exports: formulas neutralised, text kept as text, UTF-8 with a BOM so
Excel reads Chinese correctly."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


@dataclass
class ExportFile:
    """A built export: the bytes, the file name to offer, its type, how many rows, its SHA-256."""

    content: bytes
    filename: str
    content_type: str
    row_count: int
    sha256: str


_NUMBER_LIKE = re.compile(r"^[+-]?[\d\s().-]*$")


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV/formula injection): a cell starting with = @ or a
    control character, or + / - not followed by a plain number, is prefixed with an apostrophe."""
    if not value:
        return value
    if value[0] in "=@\t\r" or (value[0] in "+-" and not _NUMBER_LIKE.match(value)):
        return "'" + value
    return value


def csv_bytes(headers: list[str], rows) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read the file as UTF-8


def xlsx_bytes(headers: list[str], rows, sheet_title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    sheet.append(headers)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text: never a formula (no injection), nor a number Excel would reformat
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
