"""CSV and XLSX files of exports: formulas neutralised, text kept as text, UTF-8 with a BOM so
Excel reads Chinese correctly."""
from __future__ import annotations

import csv
import io
import re

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
