"""The live engine: the same table interface over a workbook open in Excel, through xlwings.

Used by the ribbon (`xw.Book.caller()`). Each primitive is one or two COM calls on a whole block of cells; the
shared logic (keeping staff columns, journal, undo) is in `base.Book`. Excel itself saves the book.
"""
from __future__ import annotations

import datetime as dt

from .base import Book, TableLoc, col_letter, locate_in_grid, pick_table

DATE_FORMAT = "yyyy/mm/dd"
FORMULA_START = ("=", "+", "-", "@")


class LiveBook(Book):
    def __init__(self, xw_book, *, lang: str | None = None, **_ignored):
        super().__init__(lang)
        self.xw = xw_book
        self.path = getattr(xw_book, "fullname", None)

    def table_names(self) -> list[str]:
        return [t.name for s in self.xw.sheets for t in s.tables]

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.xw.sheets]

    def _find(self, name):
        for s in self.xw.sheets:
            for t in s.tables:
                if t.name.lower() == name.lower():
                    return s, t
        return None, None

    @staticmethod
    def _loc(sheet, t) -> TableLoc:
        rng = t.range
        headers = t.header_row_range.options(ndim=1).value
        body = t.data_body_range
        return TableLoc(t.name, sheet.name, rng.row, rng.column, list(headers),
                        0 if body is None else body.rows.count, True)

    def _locate(self, name: str) -> TableLoc | None:
        sheet, t = self._find(name)
        if t is not None:
            return self._loc(sheet, t)
        if name not in self.sheet_names():
            return None
        s = self.xw.sheets[name]
        # a Ctrl+T table keeps Excel's name (テーブル1): use it, never overlap it
        picked = pick_table(name, [self._loc(s, t) for t in s.tables])
        if picked is not None:
            return picked
        used = self.xw.sheets[name].used_range
        grid = used.options(ndim=2).value or []
        pad = [[None] * (used.column - 1) + list(r) for r in grid]
        loc = locate_in_grid(name, name, [[None]] * (used.row - 1) + pad)
        return loc

    def _values(self, loc: TableLoc) -> list[list]:
        if loc.rows == 0:
            return []
        s = self.xw.sheets[loc.sheet]
        rng = s.range((loc.header_row + 1, loc.first_col), (loc.header_row + loc.rows, loc.first_col + len(loc.headers) - 1))
        return rng.options(ndim=2).value

    def _put(self, sheet, row, col, rows, text_cols=frozenset(), date_cols=frozenset(), formula_cols=frozenset()):
        s = self.xw.sheets[sheet]
        if not rows:
            return
        n = len(rows)
        for j in text_cols:  # before the values, or Excel turns '0120…' into a number
            s.range((row + 1, col + j), (row + max(n - 1, 1), col + j)).number_format = "@"
        # Excel parses a string assigned through COM as if typed: '=…', '+…', '-…' and '@…' would become formulas.
        # A leading apostrophe keeps customer text as text (Excel does not store the apostrophe in the value).
        values = [["'" + v if isinstance(v, str) and v[:1] in FORMULA_START and (j not in formula_cols or i == 0)
                   else v for j, v in enumerate(r)] for i, r in enumerate(rows)]
        s.range((row, col)).value = values
        for j in date_cols:
            s.range((row + 1, col + j), (row + max(n - 1, 1), col + j)).number_format = DATE_FORMAT
        for j, v in enumerate(rows[-1]):
            if isinstance(v, dt.date) and j not in date_cols:
                s.range((row + 1, col + j), (row + n - 1, col + j)).number_format = DATE_FORMAT

    def _first_filled(self, sheet, r0, c0, r1, c1):
        grid = self.xw.sheets[sheet].range((r0, c0), (r1, c1)).options(ndim=2).value or []
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                if v not in (None, ""):
                    return r0 + i, c0 + j
        return None

    def _clear(self, sheet, row, col, nrows, ncols):
        if nrows and ncols:
            self.xw.sheets[sheet].range((row, col), (row + nrows - 1, col + ncols - 1)).clear_contents()

    def _ensure_sheet(self, sheet, hidden=False):
        if sheet in self.sheet_names():
            return False
        ws = self.xw.sheets.add(sheet, after=self.xw.sheets[-1])
        if hidden:
            ws.visible = False
        return True

    # --- report sheets (xlwings) -------------------------------------------------------------------------------
    def reset_sheet(self, sheet):
        if sheet not in self.sheet_names():
            self._ensure_sheet(sheet)
            return
        sh = self.xw.sheets[sheet]
        for pic in list(sh.pictures):
            if pic.name.startswith("xlcrm_"):
                pic.delete()
        for chart in list(sh.charts):
            chart.delete()
        sh.clear()

    def format_sheet(self, sheet, *, number_formats=None, bold=(), title="A1", notes=(), centre=(), widths=None):
        sh = self.xw.sheets[sheet]
        for rng, fmt in (number_formats or {}).items():
            sh.range(rng).number_format = fmt
        for cell in bold:
            sh.range(cell).font.bold = True
        if title:
            sh.range(title).font.size = 16
            sh.range(title).font.bold = True
        for cell in notes:
            sh.range(cell).font.size = 9
            sh.range(cell).font.color = (89, 89, 89)
        for rng in centre:
            sh.range(rng).api.HorizontalAlignment = -4108      # xlCenter
        for col, w in (widths or {}).items():
            sh.range(f"{col}:{col}").column_width = w
        ps = sh.api.PageSetup
        ps.Orientation = 2                                      # xlLandscape
        ps.Zoom = False
        ps.FitToPagesWide, ps.FitToPagesTall = 1, False

    def add_bar_chart(self, sheet, anchor, *, title, values, categories, series_name="", horizontal=True,
                      top_down=True, number_format="#,##0", color="2E75B6", width_cm=15.0, height_cm=7.5):
        sh = self.xw.sheets[sheet]
        at = sh.range(anchor)
        cm = 72 / 2.54
        chart = sh.charts.add(left=at.left, top=at.top, width=width_cm * cm, height=height_cm * cm)
        chart.chart_type = "bar_clustered" if horizontal else "column_clustered"
        chart.set_source_data(sh.range(f"{categories},{values}"))
        c = chart.api[1]                                        # Excel's Chart object (Windows COM)
        c.HasTitle = True
        c.ChartTitle.Text = title
        c.HasLegend = False
        if horizontal and top_down:
            c.Axes(1).ReversePlotOrder = True                  # xlCategory: the first row on top
        c.Axes(2).TickLabels.NumberFormat = number_format     # xlValue
        c.Axes(2).MinimumScale = 0                             # bars from zero
        c.SeriesCollection(1).Format.Fill.ForeColor.RGB = int(color[4:6] + color[2:4] + color[0:2], 16)  # BGR
        return True

    def _define_table(self, loc: TableLoc, new: bool) -> None:
        s = self.xw.sheets[loc.sheet]
        rng = s.range((loc.header_row, loc.first_col),
                      (loc.header_row + max(loc.rows, 1), loc.first_col + len(loc.headers) - 1))
        _, t = self._find(loc.name)
        if t is None:
            s.tables.add(source=rng, name=loc.name, table_style_name="TableStyleMedium2", has_headers=True)
        else:
            t.resize(rng)

    def user(self) -> str:
        try:
            return self.xw.app.api.UserName
        except Exception:  # not on Windows COM
            return super().user()

    def save(self):
        """Write the journal; Excel (or AutoSave) saves the file itself."""
        self._flush_journal()
        return None

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


__all__ = ["LiveBook", "col_letter"]
