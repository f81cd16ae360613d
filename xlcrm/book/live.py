"""The live engine: the same table interface over a workbook open in Excel, through xlwings.

Used by the ribbon (`xw.Book.caller()`). Each primitive is one or two COM calls on a whole block of cells; the
shared logic (keeping staff columns, journal, undo) is in `base.Book`. Excel itself saves the book.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile

from .base import CAPABILITIES, Book, TableLoc, _range_ends, col_letter, locate_in_grid, pick_table

DATE_FORMAT = "yyyy/mm/dd"
XL_SHEET_VERY_HIDDEN = 2
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
        for j, v in enumerate(rows[-1] if n > 1 else ()):      # a single row: Excel itself shows a date as a date
            if isinstance(v, dt.date) and j not in date_cols:
                s.range((row + 1, col + j), (row + n - 1, col + j)).number_format = DATE_FORMAT

    def _put_column(self, sheet, row, col, values):
        if not values:
            return
        # one COM call for the run; customer text is never a formula (see _put)
        self.xw.sheets[sheet].range((row, col)).value = [
            ["'" + v if isinstance(v, str) and v[:1] in FORMULA_START else v] for v in values]

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
        if hidden == "very":
            ws.api.Visible = XL_SHEET_VERY_HIDDEN                # not offered under 再表示; xlwings has no word for it
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

    # Everything below uses xlwings' own API (0.37: conditional formats, validation, borders, chart axes), not COM,
    # except page setup, which xlwings does not cover. Line charts are left out: xlwings draws no dashed lines, and
    # the dashboard places its matplotlib figures as pictures instead (write_report decides by `capabilities`).
    def capabilities(self):
        return CAPABILITIES - {"line_charts"}

    def set_number_formats(self, sheet, formats):
        sh = self.xw.sheets[sheet]
        for rng, fmt in formats.items():
            sh.range(rng).number_format = fmt

    def set_widths(self, sheet, widths, *, at_least=False):
        sh = self.xw.sheets[sheet]
        for col, w in widths.items():
            r = sh.range(f"{col}:{col}")
            r.column_width = max(r.column_width or 0, w) if at_least else w

    def set_font(self, sheet, cells, *, bold=False, size=None, color=None):
        sh = self.xw.sheets[sheet]
        for rng in cells:
            font = sh.range(rng).font
            font.bold = bool(bold)
            if size:
                font.size = size
            if color:
                font.color = "#" + color

    def set_row_heights(self, sheet, heights):
        sh = self.xw.sheets[sheet]
        for row, h in heights.items():
            sh.range(f"{row}:{row}").row_height = h

    def centre(self, sheet, ranges):
        sh = self.xw.sheets[sheet]
        for rng in ranges:
            sh.range(rng).horizontal_alignment = "center"

    def fill(self, sheet, rng, color, *, border=None):
        r = self.xw.sheets[sheet].range(rng)
        r.color = "#" + color
        if border:
            r.borders.set("all", line_style="continuous", weight="thin", color="#" + border)

    def add_list_validation(self, sheet, rng, options, *, replace=True):
        # Excel keeps one validation per cell: setting it replaces the last refresh's on these cells
        self.xw.sheets[sheet].range(rng).data_validation.set_list([str(o) for o in options])

    def add_formula_highlight(self, sheet, rng, formula, fill, *, match=()):
        sh = self.xw.sheets[sheet]
        for rule in list(sh.cells.conditional_formats):
            f = (rule.formula or "").lstrip("=")
            if f and (f == formula or bool(match) and all(m in f for m in match)):
                rule.delete()
        sh.range(rng).conditional_formats.add_custom("=" + formula, fill_color="#" + fill)

    def add_color_scale(self, sheet, rng, *, low="FFFFFF", high="2E75B6"):
        self.xw.sheets[sheet].range(rng).conditional_formats.add_color_scale(["#" + low, "#" + high])

    def add_chart(self, sheet, chart):
        if chart.kind != "bar":
            return False
        sh = self.xw.sheets[sheet]
        at = sh.range(chart.anchor)
        cm = 72 / 2.54
        c = sh.charts.add(left=at.left, top=at.top, width=chart.width_cm * cm, height=chart.height_cm * cm)
        c.chart_type = ("bar" if chart.horizontal else "column") + ("_stacked" if chart.stacked else "_clustered")
        categories = chart.categories
        if chart.series_in_first_row:   # the series names' row: the categories start one row lower
            (cc, cr0), (cc1, cr1) = _range_ends(categories)
            categories = f"{col_letter(cc)}{cr0 - 1}:{col_letter(cc1)}{cr1}"
        c.set_source_data(sh.range(f"{categories},{chart.values}"))
        c.title = chart.title
        c.legend.visible = chart.legend is not None
        if chart.legend is not None:
            c.legend.position = chart.legend
        if chart.horizontal and chart.top_down:
            c.category_axis.reverse_order = True                 # the first row on top
        if chart.number_format:
            c.value_axis.number_format = chart.number_format
        if chart.y_min is not None:
            c.value_axis.minimum_scale = chart.y_min
        series = list(c.series)
        if chart.series_name and not chart.series_in_first_row and series:
            series[0].name = chart.series_name
        for s, color in zip(series, chart.colors):
            s.fill_color = "#" + color
        return True

    def add_picture(self, sheet, anchor, png, *, name, width_cm, height_cm):
        sh = self.xw.sheets[sheet]
        cm = 72 / 2.54
        fd, path = tempfile.mkstemp(suffix=".png")      # xlwings places a picture from a file (or a figure)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(png)
            sh.pictures.add(path, name=f"xlcrm_{name}", update=True, anchor=sh.range(anchor),
                            width=width_cm * cm, height=height_cm * cm)
        finally:
            os.unlink(path)
        return True

    def page_setup(self, sheet, *, landscape=True, fit_width=True, title_rows=None, paper=None, print_area=None):
        sh = self.xw.sheets[sheet]
        ps = sh.api.PageSetup                                    # Excel's PageSetup (Windows COM)
        if landscape:
            ps.Orientation = 2                                   # xlLandscape
        if paper == "A4":
            ps.PaperSize = 9                                     # xlPaperA4
        if fit_width:
            ps.Zoom = False
            ps.FitToPagesWide, ps.FitToPagesTall = 1, False
        if title_rows:
            ps.PrintTitleRows = f"${title_rows[0]}:${title_rows[1]}"
        if print_area:
            sh.page_setup.print_area = print_area

    def page_breaks(self, sheet, rows):
        sh = self.xw.sheets[sheet]                               # Excel's Worksheet (Windows COM): page setup
        sh.api.ResetAllPageBreaks()
        for r in rows:
            sh.api.HPageBreaks.Add(sh.api.Rows(r))               # Before: the row the new page starts with

    def _inherit_look(self, sheet, body_top, rows, cols):
        s = self.xw.sheets[sheet]
        if rows[0] - 1 <= body_top - 1:
            return
        for c in range(cols[0], cols[1] + 1):     # the number format of the row above, column by column
            fmt = s.range((rows[0] - 1, c)).number_format
            s.range((rows[0], c), (rows[1], c)).number_format = fmt

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

    def save(self, *, last: bool = False):
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
