"""Save an openpyxl workbook with a faster cell writer.

openpyxl spends about 80% of a large save building one XML element per cell and serialising it through
et_xmlfile (about 50 µs a cell here: 25 s for a 100k-row customer table). Plain values — numbers, text, dates,
booleans, blanks — are by far most cells; this writer emits those as text directly and hands every other cell
(formulas, rich text, comments, hyperlinks, errors) to openpyxl's own cell writer, so the file is the same XML
(tests/test_fastsave.py compares both writers' sheets in canonical form). XlsxWriter is faster still but cannot
edit an existing workbook, which is what a save here is.

Tied to openpyxl's writer internals (pinned in pyproject.toml); with lxml installed, openpyxl uses another
serializer, and the stock save is used.
"""
from __future__ import annotations

import datetime as dt
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import LXML
from openpyxl.cell import _writer as cell_writer
from openpyxl.compat import safe_string
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet import _writer as ws_writer
from openpyxl.writer import excel

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;",
                               "\r": "&#13;", "\t": "&#09;"})


class _FastWorksheetWriter(ws_writer.WorksheetWriter):
    def write_row(self, xf, row, row_idx):
        attrs = {"r": f"{row_idx}"}
        attrs.update(self.ws.row_dimensions.get(row_idx, {}))
        raw = xf._file                                   # et_xmlfile's text sink
        epoch = self.ws.parent.epoch
        iso = self.ws.parent.iso_dates
        with xf.element("row", attrs):
            parts = []
            for cell in row:
                value = cell._value
                styled = cell.has_style
                if cell._comment is not None or cell.hyperlink is not None:
                    raw("".join(parts))
                    parts = []
                    _stock_row_cell(self, xf, cell)
                    continue
                if value is None and not styled:
                    continue
                t = cell.data_type
                head = f'<c r="{cell.coordinate}"' + (f' s="{cell.style_id}"' if styled else "")
                if t == "s" and type(value) is str:
                    if value == "":
                        parts.append(f'{head} t="inlineStr" />')
                        continue
                    stripped = value.strip()
                    space = ' xml:space="preserve"' if stripped and stripped != value else ""
                    parts.append(f'{head} t="inlineStr"><is><t{space}>{value.translate(_TEXT_ESCAPES)}</t></is></c>')
                elif t == "n" or t == "b":
                    if value is None:
                        parts.append(f'{head} t="{t}" />')
                    else:
                        parts.append(f'{head} t="{t}"><v>{safe_string(value)}</v></c>')
                elif t == "d" and not iso and isinstance(value, (dt.datetime, dt.date)) and (
                        getattr(value, "tzinfo", None) is None):
                    parts.append(f'{head} t="n"><v>{safe_string(to_excel(value, epoch))}</v></c>')
                else:
                    raw("".join(parts))
                    parts = []
                    cell_writer.etree_write_cell(xf, self.ws, cell, styled)
            raw("".join(parts))


    def write_tables(self):
        # openpyxl names a table's columns from its header row, but fetches the whole table range to read that
        # one row (a second of cell lookups for a 100k-row table): give it the header row only
        for table in self.ws.tables.values():
            if not table.tableColumns and table.headerRowCount:
                min_col, min_row, max_col, _ = range_boundaries(table.ref)
                table._initialise_columns()
                header = next(self.ws.iter_rows(min_row=min_row, max_row=min_row, min_col=min_col, max_col=max_col))
                for cell, col in zip(header, table.tableColumns):
                    col.name = str(cell.value)
        super().write_tables()


def _stock_row_cell(writer, xf, cell):
    """What openpyxl's write_row does for one cell with a comment or hyperlink."""
    if cell._comment is not None:
        writer.ws._comments.append(ws_writer.CommentRecord.from_cell(cell))
    if cell._value is None and not cell.has_style and not cell._comment:
        return
    cell_writer.etree_write_cell(xf, writer.ws, cell, cell.has_style)


class _FastExcelWriter(excel.ExcelWriter):
    def write_worksheet(self, ws):
        if self.workbook.write_only:
            return super().write_worksheet(ws)
        ws._drawing = excel.SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        writer = _FastWorksheetWriter(ws)
        writer.write()
        ws._rels = writer._rels
        self._archive.write(writer.out, ws.path[1:])
        self.manifest.append(ws)
        writer.cleanup()


def save(wb, path) -> None:
    """`wb.save(path)` with the fast cell writer (the stock save where it does not apply)."""
    if LXML or wb.read_only or wb.write_only:
        wb.save(path)
        return
    with ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        wb.properties.modified = dt.datetime.now(tz=dt.timezone.utc).replace(tzinfo=None)
        _FastExcelWriter(wb, archive).save()
