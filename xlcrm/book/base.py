"""What both engines share: tables as DataFrames, writes that keep staff's columns, the journal and undo.

An engine supplies a handful of primitives (locate a table, read its cells, put cells, define a table); everything
a job sees — `read`, `write_table`, `update_columns`, `write_range`, `journal`, `undo_last` — is written once here.
"""
from __future__ import annotations

import base64
import datetime as dt
import getpass
import json
import math
import re
import unicodedata
import uuid
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import messages, schema, settings as settings_mod
from ..messages import BadInput, Problem
from .report import Chart, Report

JOURNAL = "変更履歴"
JOURNAL_HEADERS = ["日時", "処理", "実行者", "内容", "変更ID", "取消"]
JOURNAL_RETIRED = ("Summary",)   # the English column of books written before 内容 followed 言語 (#13)
UNDO_SHEET = "_xlcrm_undo"   # hidden: before-images of the last changes, so 取り消し can restore them
UNDO_KEEP = 20               # changes kept undoable
UNDO_MAX_CHARS = 20_000_000  # and at most this much undo data in the book (backups hold the rest)
_STAMP = re.compile(r"^(?:更新|Updated): \d{4}-\d{2}-\d{2} \d{2}:\d{2}$")  # a report's refresh time
_CHUNK = 30000               # a cell holds 32,767 characters at most
HEADER_SCAN_ROWS = 30        # a table typed on a sheet has its header row within these
# what an engine may offer beyond values (Book.capabilities)
CAPABILITIES = frozenset({"number_formats", "widths", "fonts", "validations", "conditional_formats", "color_scales",
                          "fills", "bar_charts", "line_charts", "pictures", "page_setup", "page_breaks"})


@dataclass
class TableLoc:
    """Where a table sits: header at (header_row, first_col), 1-based; `rows` data rows below it."""

    name: str
    sheet: str
    header_row: int
    first_col: int
    headers: list
    rows: int
    listobject: bool


def col_letter(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell_value(v):
    """A Python value a cell can hold: NaN/NaT/NA become empty, numpy scalars plain, timestamps datetimes."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, str) and v == "":
        return None
    return v


def _cell_values(s: pd.Series) -> list:
    """[_cell_value(v) for v in s], with numbers converted in one step (100,000-row columns of RFM scores)."""
    kind = s.dtype.kind
    if kind in "iub" and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        return s.tolist()
    if kind == "f" and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        values = s.to_numpy()
        out = values.tolist()
        for i in np.flatnonzero(np.isnan(values)).tolist():
            out[i] = None
        return out
    if kind == "M" and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        # datetimes in one step (NaT → None); microseconds are all a cell keeps
        return s.to_numpy().astype("datetime64[us]").tolist()
    # text columns: most values are non-empty strings, kept as they are without a call each
    return [v if type(v) is str and v else _cell_value(v) for v in s.to_numpy(dtype=object).tolist()]


def _key_texts(s: pd.Series) -> np.ndarray:
    return np.array(schema.parse_texts(s.tolist()), dtype=object)


def _same_header(a, b) -> bool:
    f = lambda x: unicodedata.normalize("NFKC", str(x)).strip().lower()  # noqa: E731
    return f(a) == f(b)


class Book:
    """A workbook seen as tables. Subclasses implement the primitives marked 'engine'."""

    path = None
    # called as progress(message_key, **kw) at each step (reading 顧客, writing 注文, saving): the ribbon shows
    # it in Excel's status bar in the book's language, so a long job shows where it is
    progress = None

    def __init__(self, lang: str | None = None):
        self.lang = lang
        self._last_step = None
        self._journal_rows: list[list] = []
        self._undo_ops: list[dict] = []
        self._settings = None

    def _step(self, key: str, **kw) -> None:
        if self.progress is None or (key, kw) == self._last_step:   # a report written block by block: one step
            return
        self._last_step = (key, kw)
        self.progress(key, **kw)

    # --- engine primitives ------------------------------------------------------------------------------------
    def _locate(self, name: str) -> TableLoc | None:
        raise NotImplementedError

    def _values(self, loc: TableLoc) -> list[list]:
        raise NotImplementedError

    def _put(self, sheet: str, row: int, col: int, rows: list[list], text_cols: set[int] = frozenset(),
             date_cols: set[int] = frozenset(), formula_cols: set[int] = frozenset()) -> None:
        """Write a block of values. Text starting with '=' is written as text, except in `formula_cols`."""
        raise NotImplementedError

    def _put_column(self, sheet: str, row: int, col: int, values: list) -> None:
        """Write `values` down one column from (row, col): data cells only, no header row among them (what
        `write_cells` and its undo write). Values as `_put` writes them: text starting with '=' stays text. This
        default puts one cell at a time; an engine may write the run at once."""
        for i, v in enumerate(values):
            self._put(sheet, row + i, col, [[v]])

    def _clear(self, sheet: str, row: int, col: int, nrows: int, ncols: int) -> None:
        raise NotImplementedError

    def _define_table(self, loc: TableLoc, new: bool) -> None:
        raise NotImplementedError

    def _ensure_sheet(self, sheet: str, hidden: bool | str = False) -> bool:
        """Create the sheet if missing; True if it was created. `hidden`: True hides it; "very" makes it very
        hidden (Excel's xlSheetVeryHidden: not listed under 再表示, only VBA shows it), what xlcrm's own helper
        sheets are. An engine that cannot tell the two apart hides it."""
        raise NotImplementedError

    def _formulas(self, sheet: str, r0: int, c0: int, r1: int, c1: int) -> dict:
        """{(row, col): formula} of the block's formula cells. Engines that cannot tell return {}."""
        return {}

    def _put_formula(self, sheet: str, row: int, col: int, formula) -> None:
        raise NotImplementedError

    def _first_filled(self, sheet: str, r0: int, c0: int, r1: int, c1: int) -> tuple[int, int] | None:
        """The first non-empty cell (row, col) in the block, or None. Engines that cannot tell return None."""
        return None

    def _check_free(self, loc: TableLoc, new_rows: int, new_cols: int, headers) -> None:
        """Refuse to grow a table over cells staff typed below or right of it (nothing is overwritten silently),
        or past the sheet's last row or column (the file would be written, and Excel could not open it)."""
        _check_fits(loc.sheet, loc.header_row, loc.first_col, new_rows, new_cols)
        bottom_old = loc.header_row + max(loc.rows, 1)
        bottom_new = loc.header_row + max(new_rows, 1)
        right_old = loc.first_col + len(loc.headers) - 1
        right_new = loc.first_col + new_cols - 1
        blocks = []
        if right_new > right_old:
            blocks.append((loc.header_row, right_old + 1, bottom_new, right_new))
        if bottom_new > bottom_old:
            blocks.append((bottom_old + 1, loc.first_col, bottom_new, min(right_old, right_new)))
        for r0, c0, r1, c1 in blocks:
            hit = self._first_filled(loc.sheet, r0, c0, r1, c1)
            if hit is not None:
                r, c = hit
                i = c - loc.first_col
                column = str(headers[i]) if 0 <= i < len(headers) else col_letter(c)
                raise BadInput([Problem(loc.sheet, r, column, "cell_occupied", cell=f"{col_letter(c)}{r}")])

    def user(self) -> str:
        try:
            return getpass.getuser()
        except Exception:  # no login name (service account, container)
            return ""

    # --- reading ----------------------------------------------------------------------------------------------
    def table_names(self) -> list[str]:
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        return self._locate(name) is not None

    def locate(self, name: str) -> TableLoc | None:
        """Where table `name` (a schema key or a sheet's table) sits now: sheet, header row, first column,
        headers, data rows. None if there is no such table."""
        return self._locate(_sheet_name(name))

    def read_raw(self, name: str) -> pd.DataFrame | None:
        """The table as typed in the sheet: headers as written, raw cell values, index = sheet row numbers."""
        loc = self._locate(name)
        if loc is None:
            return None
        values = self._values(loc)
        while values and all(v in (None, "") for v in values[-1]):
            values.pop()  # an empty table keeps one blank row; trailing blank rows are no data
        headers = [h if h not in (None, "") else f"列{col_letter(loc.first_col + i)}" for i, h in enumerate(loc.headers)]
        df = pd.DataFrame(values, columns=headers, dtype=object) if values else pd.DataFrame(
            {h: pd.Series(dtype=object) for h in headers})
        df.index = pd.RangeIndex(loc.header_row + 1, loc.header_row + 1 + len(df))
        df.attrs["letters"] = {h: col_letter(loc.first_col + i) for i, h in enumerate(headers)}
        df.attrs["sheet"] = loc.sheet
        return df

    def read(self, name: str, *, required: bool = True, columns=None) -> pd.DataFrame | None:
        """A schema table (customers/顧客, orders/注文, contacts/対応履歴, settings/設定), conformed and typed.
        `columns`: the keys a job needs, when not all: the others are not parsed, checked or returned (RFM reads
        顧客ID from 顧客 — a 生年月日 typed wrong is not its business)."""
        t = schema.table(name)
        self._step("step_reading", sheet=t.ja)
        raw = self.read_raw(t.ja)
        if raw is None and t.ja != t.key:
            raw = self.read_raw(t.key)
        if raw is None:
            if required:
                raise BadInput([Problem(t.ja, None, t.ja, "missing_table", table=t.ja)])
            return None
        return schema.conform(raw, t, sheet=raw.attrs.get("sheet", t.ja), only=columns)

    def settings(self, overrides: dict | None = None) -> settings_mod.Settings:
        if self._settings is None or overrides:
            table = self.read("settings", required=False)
            self._settings = settings_mod.load(table, overrides)
        return self._settings

    # --- writing ----------------------------------------------------------------------------------------------
    def write_table(self, name: str, df: pd.DataFrame, *, key: str | None = None, sheet: str | None = None,
                    at: str = "A1", text_columns=(), formula_columns=(), hidden: bool = False,
                    reorder: bool = False, retire=()) -> TableLoc:
        """Create or replace table `name` with `df` (columns = headers to write).

        Columns that staff added to the table (headers not in `df`) are kept: matched by `key` when given,
        otherwise by row position. A new table goes to cell `at` of sheet `sheet` (default: `name`); an existing
        one is rewritten where it stands. Values in
        `formula_columns` that start with '=' are written as formulas (e.g. HYPERLINK); anywhere else such
        text stays text, so customer data never becomes a formula. A `hidden` table's sheet is created very
        hidden (xlcrm's own state, nothing for staff to open).

        An existing table keeps staff's column order; with `reorder` it takes `df`'s order instead (staff's own
        columns follow at the right): a sheet the job owns whose layout changed. `retire`: headers of the job's
        earlier layout that are dropped rather than kept as staff's columns.
        """
        name = _sheet_name(name)
        self._step("step_writing", sheet=sheet or name)
        old = self._locate(name)
        headers = [str(c) for c in df.columns]
        body = df.copy()
        if old is not None:
            before = self.read_raw(name)
            self._remember("table", name, before)
            # a column whose header staff left blank is still their column: named 列X as read_raw names it
            synthetic = {f"列{col_letter(old.first_col + i)}" for i, h in enumerate(old.headers) if h in (None, "")}
            old_headers = list(before.columns)
            extra = [h for h in old_headers if not any(_same_header(h, x) for x in headers)
                     and not any(_same_header(h, x) for x in retire)]
            if extra:
                kept = before[extra].reset_index(drop=True)
                if key is not None and key in before.columns and key in body.columns:
                    kept.index = before[key].map(lambda v: "" if v is None else str(v)).to_numpy()
                    kept = kept[~kept.index.duplicated()]
                    kept = kept.reindex(body[key].map(lambda v: "" if v is None else str(v)).to_numpy())
                else:
                    kept = kept.reindex(range(len(body)))
                kept.index = body.index
                for h in extra:
                    body[h] = kept[h].to_numpy()
            # keep staff's column order; new columns go to the right
            if reorder:
                order = headers + [h for h in old_headers if h in body.columns and h not in headers]
            else:
                order = [h for h in old_headers if h in body.columns]
                order += [h for h in body.columns if h not in order]
            body = body[order]
            # an Excel Table keeps its own name (staff's "テーブル1" holding 顧客): never a second Table over it
            loc = TableLoc(old.name if old.listobject else name, old.sheet, old.header_row, old.first_col,
                           list(body.columns), len(body), old.listobject)
            blank = {c for i, c in enumerate(body.columns) if c in synthetic and c == f"列{col_letter(loc.first_col + i)}"}
            self._check_free(old, len(body), len(body.columns), list(body.columns))
            formulas = self._formulas(old.sheet, old.header_row + 1, old.first_col, old.header_row + old.rows,
                                      old.first_col + len(old.headers) - 1) if old.rows else {}
            self._clear(old.sheet, old.header_row, old.first_col, old.rows + 1, len(old.headers))
        else:
            self._remember("new_table", name, None)
            target = sheet or name
            top, left = _parse_cell(at)
            _check_fits(target, top, left, len(body), len(body.columns))
            self._ensure_sheet(target, hidden="very" if hidden else False)
            loc = TableLoc(name, target, top, left, list(body.columns), len(body), True)
        self._write_frame(loc, body, text_columns, formula_columns, blank if old is not None else ())
        if old is not None and formulas:
            self._keep_formulas(old, loc, before, body, formulas)
        self._define_table(loc, new=old is None or not old.listobject)
        return loc

    def _keep_formulas(self, old: TableLoc, loc: TableLoc, before: pd.DataFrame, body: pd.DataFrame,
                       formulas: dict) -> None:
        """Put staff's formulas back where a rewrite left the cell's value as it was (an import appends rows to 顧客:
        the 年齢 =DATEDIF(...) column must stay formulas, not become their last values — or blanks)."""
        old_headers = list(before.columns)
        cols = {h: j for j, h in enumerate(body.columns)}
        for (r, c), f in formulas.items():
            i, h = r - old.header_row - 1, old_headers[c - old.first_col]
            if h not in cols or i >= len(body) or i >= len(before):
                continue
            if _same_value(body[h].iloc[i], before[h].iloc[i]):
                self._put_formula(loc.sheet, r, loc.first_col + cols[h], f)

    def _write_frame(self, loc: TableLoc, body: pd.DataFrame, text_columns=(), formula_columns=(), blank=()):
        # a header cell staff left blank is read as 列X; it is written back blank, not as that made-up name
        rows = [[None if c in blank else str(c) for c in body.columns]]
        text_cols, date_cols = set(), set()
        formula_cols = {i for i, c in enumerate(body.columns) if c in formula_columns}
        for i, c in enumerate(body.columns):
            s = body[c]
            if pd.api.types.is_datetime64_any_dtype(s):
                date_cols.add(i)
            elif c in text_columns or (s.dtype == object or pd.api.types.is_string_dtype(s)) and _looks_numeric_text(s):
                text_cols.add(i)
        cols = [_cell_values(body[c]) for c in body.columns]
        rows += [list(row) for row in zip(*cols)] if cols else [[] for _ in range(len(body))]
        if len(body) == 0:
            rows.append([None] * len(body.columns))  # an Excel table needs a data row
        self._put(loc.sheet, loc.header_row, loc.first_col, rows, text_cols, date_cols, formula_cols)

    def append_rows(self, name: str, df: pd.DataFrame, *, text_columns=()) -> TableLoc:
        """Add the rows of `df` (columns = headers) below table `name`: only those cells are written and the table
        grows over them (recording one contact in a 200,000-row 対応履歴 writes one row). The new rows look like
        the rows above; undo takes them away. A table that does not exist yet, has no rows, or lacks one of `df`'s
        headers is written whole by `write_table`."""
        name = _sheet_name(name)
        loc = self._locate(name)
        t = _schema_table(name)
        headers = [None if h is None else str(h) for h in (loc.headers if loc is not None else [])]
        where = {c: _find_header(headers, str(c), t) for c in df.columns}
        if loc is None or not loc.rows or any(h is None for h in where.values()):
            body = df if loc is None else pd.concat([self.read_raw(name), df], ignore_index=True)
            return self.write_table(name, body, text_columns=text_columns)
        if not len(df):
            return loc
        self._step("step_writing", sheet=loc.sheet)
        self._check_free(loc, loc.rows + len(df), len(headers), headers)
        self._remember("appended", name, {"rows": loc.rows})
        values = {where[c]: _cell_values(df[c]) for c in df.columns}
        rows = [[values[h][i] if h in values else None for h in headers] for i in range(len(df))]
        first = loc.header_row + loc.rows + 1
        self._put(loc.sheet, first, loc.first_col, rows)
        self._inherit_look(loc.sheet, loc.header_row + 1, (first, first + len(df) - 1),
                           (loc.first_col, loc.first_col + len(headers) - 1))
        text = [h for h in headers if h is not None and any(_same_header(h, str(x)) for x in text_columns)]
        if text and "number_formats" in self.capabilities():
            last = first + len(df) - 1
            self.set_number_formats(loc.sheet, {f"{col_letter(loc.first_col + headers.index(h))}{first}:"
                                                f"{col_letter(loc.first_col + headers.index(h))}{last}": "@"
                                                for h in text})
        grown = TableLoc(loc.name, loc.sheet, loc.header_row, loc.first_col, loc.headers, loc.rows + len(df),
                         loc.listobject)
        self._define_table(grown, new=False)
        return grown

    def _inherit_look(self, sheet: str, body_top: int, rows: tuple[int, int], cols: tuple[int, int]) -> None:
        """The rows `rows` just written below a table whose data begins at row `body_top` take the look of the
        row above them, in columns `cols`."""

    def update_columns(self, name: str, df: pd.DataFrame, *, key: str) -> dict:
        """Set the columns of `df` (other than `key`) in table `name`, row by row matched on `key`.

        Only those columns are touched; missing columns are added at the right of the table. Rows of the table
        that `df` does not mention get those cells cleared (the job owns the columns). Returns counts.
        """
        name = _sheet_name(name)
        self._step("step_writing", sheet=name)
        loc = self._locate(name)
        if loc is None:
            raise BadInput([Problem(name, None, name, "missing_table", table=name)])
        raw = self.read_raw(name)
        t = _schema_table(name)
        key_header = _find_header(raw.columns, key, t)
        if key_header is None:
            raise BadInput([Problem(loc.sheet, None, key, "missing_column", name=key)])
        keys = _key_texts(raw[key_header])
        src = df.copy()
        src.index = _key_texts(src[key])
        src = src[~src.index.duplicated()].drop(columns=[key])
        target = src.reindex(keys)
        have = set(src.index)
        matched = sum(k in have for k in keys.tolist())
        headers = list(loc.headers)
        before = {}
        for c in src.columns:
            h = _find_header(headers, c, t)
            if h is None:
                headers.append(c)
                before[c] = None
            else:
                before[c] = raw[h].tolist()
        self._remember("columns", name, {"key": key_header, "keys": keys.tolist(), "before": before,
                                         "added": [c for c in src.columns if before[c] is None]})
        grew = len(headers) != len(loc.headers)
        if grew:
            self._check_free(loc, loc.rows, len(headers), headers)
            loc = TableLoc(loc.name, loc.sheet, loc.header_row, loc.first_col, headers, loc.rows, loc.listobject)
        # columns side by side in the sheet (RFM's eleven) are put as one block: one call, one write a row
        runs: list[list[tuple[int, str]]] = []
        for j, c in sorted((headers.index(_find_header(headers, c, t)), c) for c in src.columns):
            if runs and runs[-1][-1][0] == j - 1:
                runs[-1].append((j, c))
            else:
                runs.append([(j, c)])
        for run in runs:
            values = [_cell_values(target[c]) for _j, c in run]
            dates = {k for k, (_j, c) in enumerate(run) if pd.api.types.is_datetime64_any_dtype(target[c])}
            self._put(loc.sheet, loc.header_row, loc.first_col + run[0][0],
                      [[headers[j] for j, _c in run]] + [list(r) for r in zip(*values)], date_cols=dates)
        if grew:
            self._define_table(loc, new=False)
        return {"matched": matched, "unmatched": int(len(src) - matched)}

    def read_range(self, sheet: str, cell: str, nrows: int, ncols: int) -> list[list]:
        """The raw values of an `nrows` × `ncols` block of loose cells from `cell` (a form, a query cell);
        [] when the sheet does not exist."""
        if sheet not in self.sheet_names():
            return []
        r, c = _parse_cell(cell)
        rows = self._values(TableLoc(sheet, sheet, r - 1, c, [None] * ncols, nrows, False))
        return [list(row) + [None] * (ncols - len(row)) for row in rows]

    def write_range(self, sheet: str, cell: str, rows: list[list], *, clear: tuple[int, int] | None = None) -> None:
        """Write a small report block at `cell` (e.g. "A1"); `clear` = (rows, cols) to blank first."""
        self._step("step_writing", sheet=sheet)
        self._ensure_sheet(sheet)
        r, c = _parse_cell(cell)
        if clear:
            self._clear(sheet, r, c, *clear)
        self._put(sheet, r, c, [[_cell_value(v) for v in row] for row in rows])

    def write_cells(self, sheet: str, cells: dict, *, number_formats: dict | None = None) -> int:
        """Set single cells in place, {(row, col): value} (1-based), leaving every other cell as it is; what they
        held is remembered, so 取り消し (undo) puts it back. A cell holding staff's formula is left alone (as far
        as the engine can tell formulas). `number_formats` {(row, col): format} dresses the cells written, as far
        as the engine can (a date typed as text becomes a date shown as yyyy/mm/dd). Returns how many cells were
        written."""
        if not cells:
            return 0
        self._step("step_writing", sheet=sheet)
        by_col: dict[int, list[int]] = {}
        for r, c in cells:
            by_col.setdefault(c, []).append(r)
        before = []
        for c, rows in sorted(by_col.items()):
            rows.sort()
            formulas = self._formulas(sheet, rows[0], c, rows[-1], c)
            rows[:] = [r for r in rows if (r, c) not in formulas]
            if not rows:
                continue
            r0, r1 = rows[0], rows[-1]
            block = self._values(TableLoc(sheet, sheet, r0 - 1, c, [None], r1 - r0 + 1, False))
            for r in rows:
                old = block[r - r0][0] if r - r0 < len(block) and block[r - r0] else None
                before.append([r, c, _jsonable(old)])
            for run in _runs(rows):    # one block per run of adjacent rows: one call, not one per cell
                self._put_column(sheet, run[0], c, [_cell_value(cells[(r, c)]) for r in run])
        if not before:
            return 0
        self._remember("cells", sheet, {"cells": before})
        written = {(r, c) for r, c, _ in before}
        if number_formats and "number_formats" in self.capabilities():
            by_fmt: dict[str, list[str]] = {}
            for (r, c), fmt in number_formats.items():
                if (r, c) in written:
                    by_fmt.setdefault(fmt, []).append((r, c))
            for fmt, where in by_fmt.items():
                self.set_number_formats(sheet, {rng: fmt for rng in _ranges(where)})
        return len(written)

    # --- generated report sheets (dashboard, journey, ...) --------------------------------------------------------
    # A generated sheet is blanked and written again on every refresh. Jobs describe it as a `Report` value and call
    # `write_report`; the primitives below are all a job may ask of an engine (no openpyxl or xlwings in jobs).
    # An engine says what it can draw through `capabilities()`; a primitive outside them raises NotImplementedError.
    def prefetch(self, *names: str, writes: tuple[str, ...] = ()) -> None:
        """A job about to read these tables (schema keys or names), and then to write those of `writes`, says so:
        an engine may start reading them all at once. Reading is the same either way."""

    def release(self, *names: str) -> None:
        """A job done reading these tables (and not writing them) says so: an engine may let go of what it keeps of
        them. Reading them again still works."""

    def pushdown(self, what: str, **kw):
        """Work done where the data is: a database store answers some jobs' heavy part in SQL (`what` = "rfm").
        None: the job computes it from the tables it reads, as it does on every workbook."""
        return None

    def refresh_view(self, rule) -> dict | None:
        """Show the store's customers that `rule` (設定「表示する顧客」) names on this book's sheets. None: the book
        holds the truth itself, so there is no view to refresh."""
        return None

    def capabilities(self) -> frozenset[str]:
        """What this engine can do beyond cell values: a subset of `CAPABILITIES`."""
        return frozenset()

    def _volatile(self, sheet: str, row: int, col: int) -> None:
        """The cell holds the refresh time ("更新: 2024-06-30 09:15"): if nothing else on the sheet changed, the
        engine may keep the old one, so an unchanged report leaves the book unwritten."""

    def _unable(self, what: str):
        return NotImplementedError(f"{type(self).__name__} cannot {what}")

    def reset_sheet(self, sheet: str) -> None:
        """Make `sheet` blank (values, formats, charts and xlcrm's pictures go), creating it if missing; it keeps
        its place among the sheets. Clearing a fixed range instead would leave a used range far larger than the
        report."""
        raise NotImplementedError

    def set_number_formats(self, sheet: str, formats: dict[str, str]) -> None:
        """{"C6:C10": "0.0%", "B4": "#,##0"}: a number format per cell or range."""
        raise self._unable("set number formats")

    def set_widths(self, sheet: str, widths: dict[str, float], *, at_least: bool = False) -> None:
        """Column widths in characters ({"A": 22}); `at_least` keeps a column staff made wider."""
        raise self._unable("set column widths")

    def set_font(self, sheet: str, cells, *, bold: bool = False, size: float | None = None,
                 color: str | None = None) -> None:
        """The font of each cell or range in `cells`: bold, size in points, colour as hex RGB ("595959")."""
        raise self._unable("set fonts")

    def set_row_heights(self, sheet: str, heights: dict[int, float]) -> None:
        """Row heights in points ({1: 26})."""
        raise self._unable("set row heights")

    def centre(self, sheet: str, ranges) -> None:
        """Centre the cells of each range horizontally."""
        raise self._unable("align cells")

    def fill(self, sheet: str, rng: str, color: str, *, border: str | None = None) -> None:
        """A solid background (hex RGB) over `rng`; with `border`, a thin box of that colour round each cell."""
        raise self._unable("fill cells")

    def add_list_validation(self, sheet: str, rng: str, options, *, replace: bool = True) -> None:
        """A drop-down of `options` on `rng`. `replace`: a drop-down of the same options elsewhere on the sheet
        (the last refresh's, sized to last time's rows) goes first, so they never pile up."""
        raise self._unable("add drop-down lists")

    def add_formula_highlight(self, sheet: str, rng: str, formula: str, fill: str, *, match=()) -> None:
        """Tint the rows of `rng` where `formula` (relative to its top-left cell, no leading '=') is true.
        An earlier rule with the same formula, or whose formula contains every string of `match` (the same
        rule on columns that have moved since), is removed first: refreshing never piles rules up."""
        raise self._unable("add conditional formats")

    def add_color_scale(self, sheet: str, rng: str, *, low: str = "FFFFFF", high: str = "2E75B6") -> None:
        """A two-colour scale over `rng`: `low` at zero (or the lowest value), `high` at the highest."""
        raise self._unable("add colour scales")

    def add_chart(self, sheet: str, chart: Chart) -> bool:
        """Draw `chart` (a `report.Chart`); True when the engine drew it."""
        return False

    def add_bar_chart(self, sheet: str, anchor: str, *, title: str, values: str, categories: str,
                      series_name: str = "", horizontal: bool = True, top_down: bool = True,
                      number_format: str | None = "#,##0", color: str = "2E75B6", width_cm: float = 15.0,
                      height_cm: float = 7.5, **more) -> bool:
        """A bar chart of `values` ("B6:B10") by `categories` ("A6:A10") at `anchor`. Horizontal bars read
        top-down in sheet order (a funnel). `more`: the other fields of `report.Chart`. True when drawn."""
        more.setdefault("colors", (color,))
        return self.add_chart(sheet, Chart("bar", anchor, title, values, categories, series_name=series_name,
                                           horizontal=horizontal, top_down=top_down, number_format=number_format,
                                           width_cm=width_cm, height_cm=height_cm, **more))

    def add_line_chart(self, sheet: str, anchor: str, *, title: str, values: str, categories: str,
                       **more) -> bool:
        """A line chart of the columns of `values` by `categories`; `more`: the other fields of `report.Chart`."""
        return self.add_chart(sheet, Chart("line", anchor, title, values, categories, **more))

    def add_picture(self, sheet: str, anchor: str, png: bytes, *, name: str, width_cm: float,
                    height_cm: float) -> bool:
        """A PNG image at `anchor`, `width_cm` × `height_cm`; `name` identifies it on later refreshes."""
        raise self._unable("add pictures")

    def page_setup(self, sheet: str, *, landscape: bool = True, fit_width: bool = True,
                   title_rows: tuple[int, int] | None = None, paper: str | None = None,
                   print_area: str | None = None) -> None:
        """How the sheet prints: landscape, one page wide (any number of pages tall), rows repeated on every
        page (`title_rows` = (first, last)), paper "A4", a print area ("A1:H40")."""
        raise self._unable("set up pages")

    def page_breaks(self, sheet: str, rows: list[int]) -> None:
        """Manual page breaks: a new printed page begins above each row of `rows`; the sheet's earlier manual
        breaks go."""
        raise self._unable("set page breaks")

    def format_sheet(self, sheet: str, *, number_formats: dict | None = None, bold=(), title: str | None = "A1",
                     notes=(), centre=(), widths: dict | None = None) -> None:
        """Dress a report sheet: number formats per range ({"C6:C10": "0.0%"}), bold block titles, a large
        `title` cell, small grey `notes` cells, centred ranges, column widths ({"A": 22}). It prints landscape,
        one page wide (owners print the dashboard for the Monday meeting)."""
        if number_formats:
            self.set_number_formats(sheet, number_formats)
        if bold:
            self.set_font(sheet, bold, bold=True)
        if title:
            self.set_font(sheet, [title], bold=True, size=16)
            self.set_row_heights(sheet, {_parse_cell(title)[0]: 26})
        if notes:
            self.set_font(sheet, notes, size=9, color="595959")
        if centre:
            self.centre(sheet, centre)
        if widths:
            self.set_widths(sheet, widths)
        self.page_setup(sheet, landscape=True, fit_width=True)

    def dress_table(self, name: str, *, number_formats: dict | None = None, widths: dict | None = None,
                    lists: dict | None = None, exact_widths: bool = False, print_setup: bool = True,
                    landscape: bool = True, header: bool = False) -> TableLoc | None:
        """Dress the columns of table `name` a job writes, by header: number formats on the data cells
        ({"購入金額": "¥#,##0"}), widths ({"購入金額": 11}; a column staff made wider stays so, unless
        `exact_widths`), drop-downs ({"判定": ["統合", "別人", "保留"]}), and A4 printing one page wide with the
        header row on every page. `header`: the header row dressed as the template's tables (white bold on dark
        blue, centred) — for a sheet the job owns. Headers the table lacks are skipped; each step only as far as
        the engine can (`capabilities`). Returns where the table is (None if there is none)."""
        loc = self.locate(name)
        if loc is None:
            return None
        caps = self.capabilities()
        names = [None if h is None else str(h) for h in loc.headers]

        def letter(h):
            i = next((i for i, x in enumerate(names) if x is not None and _same_header(x, h)), None)
            return None if i is None else col_letter(loc.first_col + i)
        first, last = loc.header_row + 1, loc.header_row + loc.rows
        if number_formats and loc.rows and "number_formats" in caps:
            fmts = {f"{lt}{first}:{lt}{last}": f for h, f in number_formats.items() if (lt := letter(h))}
            if fmts:
                self.set_number_formats(loc.sheet, fmts)
        if widths and "widths" in caps:
            ws = {lt: w for h, w in widths.items() if (lt := letter(h))}
            if ws:
                self.set_widths(loc.sheet, ws, at_least=not exact_widths)
        if lists and loc.rows and "validations" in caps:
            for h, options in lists.items():
                lt = letter(h)
                if lt and options:
                    self.add_list_validation(loc.sheet, f"{lt}{first}:{lt}{last}", list(options))
        if header and {"fills", "fonts"} <= caps:
            row = f"{col_letter(loc.first_col)}{loc.header_row}:{col_letter(loc.first_col + len(names) - 1)}{loc.header_row}"
            self.fill(loc.sheet, row, HEADER_FILL, border="FFFFFF")
            self.set_font(loc.sheet, [row], bold=True, color="FFFFFF")
            self.centre(loc.sheet, [row])
        if print_setup and "page_setup" in caps:
            self.page_setup(loc.sheet, landscape=landscape, fit_width=True, paper="A4",
                            title_rows=(loc.header_row, loc.header_row))
        return loc

    def write_report(self, sheet: str, report: Report) -> int:
        """Regenerate `sheet` from `report`: blank it, write the blocks, format, then the charts and colour scales
        the engine can draw — or, when it lacks one a chart needs and the report offers pictures, the pictures
        instead. Returns how many charts or pictures were drawn."""
        self.reset_sheet(sheet)
        for cell, rows in report.blocks:
            self.write_range(sheet, cell, rows)
            r0, c0 = _parse_cell(cell)
            for i, row in enumerate(rows):
                for j, v in enumerate(row):
                    if isinstance(v, str) and _STAMP.match(v):
                        self._volatile(sheet, r0 + i, c0 + j)
        self.format_sheet(sheet, number_formats=report.number_formats, bold=report.bold, title=report.title,
                          notes=report.notes, centre=list(report.centre) + _number_headers(report.blocks),
                          widths=report.widths)
        caps = self.capabilities()
        if report.page_breaks and "page_breaks" in caps:
            self.page_breaks(sheet, report.page_breaks)
        needed = {c.capability for c in report.charts} | ({"color_scales"} if report.color_scales else set())
        if report.pictures is not None and not needed <= caps and "pictures" in caps:
            return sum(bool(self.add_picture(sheet, p.anchor, p.png, name=p.name, width_cm=p.width_cm,
                                             height_cm=p.height_cm)) for p in report.pictures())
        if "color_scales" in caps:
            for rng in report.color_scales:
                self.add_color_scale(sheet, rng)
        return sum(bool(self.add_chart(sheet, c)) for c in report.charts if c.capability in caps)

    # --- journal and undo -------------------------------------------------------------------------------------
    def journal(self, job: str, summary_ja: str, summary_en: str = "") -> None:
        """Record a change (who, when, what) in the 変更履歴 sheet when the book is saved."""
        self._journal_rows.append([job, summary_ja, summary_en])

    def _remember(self, op: str, name: str, before) -> None:
        if name in (JOURNAL, UNDO_SHEET):
            return
        if op == "table" and before is not None:
            before = {"headers": list(map(str, before.columns)),
                      "rows": [[_jsonable(v) for v in row] for row in before.itertuples(index=False)]}
        self._undo_ops.append({"op": op, "name": name, "before": before})

    def _flush_journal(self) -> None:
        """Append journal rows and the undo record; called by the engine just before it persists."""
        progress, self.progress = self.progress, None      # part of saving, not steps of their own
        try:
            self._write_journal()
        finally:
            self.progress = progress

    def _write_journal(self) -> None:
        if not self._journal_rows and not self._undo_ops:
            return
        now = dt.datetime.now().replace(microsecond=0)
        change_id = now.strftime("%Y%m%d-%H%M%S-") + f"{uuid.uuid4().int % 100000:05d}"   # digits, no "bff"
        jobs = [r[0] for r in self._journal_rows] or ["(write)"]
        undoable = bool(self._undo_ops)
        if undoable:
            self._save_undo(change_id, jobs[0])
        self._undo_ops = []
        old = self.read_raw(JOURNAL)
        rows = []
        if old is not None:
            cols = list(old.columns)
            rows = [[(r[cols.index(h)] if h in cols else None) for h in JOURNAL_HEADERS]
                    for r in old.to_numpy(dtype=object).tolist()]
        lang, who = self._journal_voice()
        for job, ja, en in self._journal_rows or [["(write)", "", ""]]:
            rows.append([now, job_label(job, lang), who, en if lang == "en" and en else ja,
                         change_id if undoable else "", None])
        self._journal_rows = []
        loc = self.write_table(JOURNAL, pd.DataFrame(rows, columns=JOURNAL_HEADERS), text_columns=("変更ID",),
                               retire=JOURNAL_RETIRED)
        if loc is not None and loc.rows:
            self.dress_table(JOURNAL, number_formats={"日時": "yyyy/mm/dd hh:mm", "取消": "yyyy/mm/dd hh:mm"},
                             widths=JOURNAL_WIDTHS, exact_widths=False, header=True)

    def _journal_voice(self) -> tuple[str, str]:
        """(language of 処理 and 内容, who ran it) from 設定: 言語, and 実行者名 — else the one name of 担当者一覧,
        else the Windows (Excel) user name. A 設定 that cannot be read leaves Japanese and the user name."""
        try:
            s = self._settings if self._settings is not None else self.settings()
        except Exception:  # noqa: BLE001 — the change itself is recorded whatever 設定 holds
            return "ja", self.user()
        staff = list(s.staff or ())
        who = s.operator or (staff[0] if len(staff) == 1 else "") or self.user()
        return s.lang, who

    def _save_undo(self, change_id: str, job: str) -> None:
        # zlib + base64: before-images of a whole customer table compress about tenfold
        payload = base64.b64encode(zlib.compress(
            json.dumps(self._undo_ops, ensure_ascii=False, default=_jsonable).encode("utf-8"), 6)).decode("ascii")
        chunks = [payload[i:i + _CHUNK] for i in range(0, len(payload), _CHUNK)] or [""]
        old = self.read_raw(UNDO_SHEET)
        keep = [] if old is None else old.to_numpy(dtype=object).tolist()
        ids = list(dict.fromkeys(r[0] for r in keep))
        size = {i: 0 for i in ids}
        for r in keep:
            size[r[0]] += len(str(r[3] or ""))
        total = len(payload)
        drop = set()
        for i in reversed(ids):  # newest first: keep while under both limits
            if len(ids) - len(drop) >= UNDO_KEEP or total + size[i] > UNDO_MAX_CHARS:
                drop.add(i)
            else:
                total += size[i]
        keep = [r for r in keep if r[0] not in drop]
        keep += [[change_id, job, i, c] for i, c in enumerate(chunks)]
        self.write_table(UNDO_SHEET, pd.DataFrame(keep, columns=["change_id", "job", "seq", "data"]), hidden=True,
                         text_columns=("change_id", "data"))

    def undo_last(self, change_id: str | None = None) -> str | None:
        """Restore what the last (or the given) change overwrote. Returns the change id undone, or None."""
        undo = self.read_raw(UNDO_SHEET)
        journal = self.read_raw(JOURNAL)
        if undo is None or journal is None or undo.empty:
            return None
        undone = set(journal.loc[journal["取消"].fillna("").astype(str).ne(""), "変更ID"].astype(str))
        ids = [i for i in dict.fromkeys(undo["change_id"].astype(str)) if i not in undone]
        if change_id is None:
            if not ids:
                return None
            change_id = ids[-1]
        elif change_id not in ids:
            return None
        part = undo[undo["change_id"].astype(str) == change_id].sort_values("seq")
        ops = json.loads(zlib.decompress(base64.b64decode("".join(part["data"].fillna("").astype(str)))))
        for op in reversed(ops):
            self._restore(op)
        journal = self.read_raw(JOURNAL)
        mark = journal["変更ID"].astype(str) == change_id
        journal.loc[mark, "取消"] = dt.datetime.now().replace(microsecond=0)
        journal = journal.drop(columns=[c for c in JOURNAL_RETIRED if c in journal.columns])
        self.write_table(JOURNAL, journal.reset_index(drop=True), retire=JOURNAL_RETIRED)
        self.journal("undo", f"変更 {change_id} を取り消しました", f"Change {change_id} undone")
        return change_id

    def _restore(self, op: dict) -> None:
        name, before = op["name"], op["before"]
        if op["op"] == "table" and before is not None:
            df = pd.DataFrame(before["rows"], columns=before["headers"], dtype=object)
            self.write_table(name, df.map(_unjson), reorder=True)
        elif op["op"] == "cells":
            by_col: dict[int, dict[int, object]] = {}
            for r, c, v in before["cells"]:
                by_col.setdefault(c, {})[r] = _unjson(v)
            for c, vals in by_col.items():
                for run in _runs(sorted(vals)):
                    self._put_column(name, run[0], c, [vals[r] for r in run])
        elif op["op"] == "appended":
            df = self.read_raw(name)
            if df is not None and len(df) > before["rows"]:
                self.write_table(name, df.iloc[:before["rows"]].reset_index(drop=True))
        elif op["op"] == "new_table":
            loc = self._locate(name)
            if loc is not None:
                self.write_table(name, pd.DataFrame(columns=[h for h in loc.headers if h not in (None, "")]))
        elif op["op"] == "columns":
            b = before
            df = pd.DataFrame({b["key"]: b["keys"]})
            for c, vals in b["before"].items():
                df[c] = [_unjson(v) for v in vals] if vals is not None else None
            self.update_columns(name, df, key=b["key"])


HEADER_FILL = "1F4E78"    # the template's table headers (xlcrm/build/src/template.json)
JOURNAL_WIDTHS = {"日時": 17, "処理": 16, "実行者": 12, "内容": 80, "変更ID": 22, "取消": 17}


def _number_headers(blocks) -> list[str]:
    """The cells of a report's column headers that stand over numbers (a row of words, the row below it holding a
    number in that column): centred, so 売上 sits over its figures and not over the gap left of them."""
    out = []
    for cell, rows in blocks:
        r0, c0 = _parse_cell(cell)
        for i in range(len(rows) - 1):
            row, below = rows[i], rows[i + 1]
            words = [v for v in row if v not in (None, "")]
            if len(words) < 2 or not all(isinstance(v, str) for v in words):
                continue
            for j, v in enumerate(row):
                x = below[j] if j < len(below) else None
                if isinstance(v, str) and v and isinstance(x, (int, float, np.number)) and not isinstance(x, bool):
                    out.append(f"{col_letter(c0 + j)}{r0 + i}")
    return out


def job_label(job: str, lang: str = "ja") -> str:
    """What 処理 on 変更履歴 says for a job's tag: 名寄せ for dedupe, RFM分析 for rfm (its tag when unknown)."""
    key = f"job_{job.strip('()')}"
    return messages.text(key, lang) if key in messages.CATALOGUE else job


def pick_table(name: str, tables: list[TableLoc]) -> TableLoc | None:
    """The Excel Table on sheet `name` that holds table `name` when staff made it with Ctrl+T ("テーブル1").

    Reading around it as a plain range would work, but writing would then lay a second Table over the first,
    which Excel treats as a corrupt file. With several, the one whose headers know most of the schema's columns.
    """
    if not tables:
        return None
    try:
        t = schema.table(name)
    except KeyError:
        return tables[0] if len(tables) == 1 else None

    def score(loc):
        hmap = schema.header_map([str(h) for h in loc.headers if h not in (None, "")], t)
        return sum(1 for k in hmap.values() if k in t.by_key)
    best = max(tables, key=score)
    return best if score(best) > 0 or len(tables) == 1 else None


def locate_in_grid(name: str, sheet: str, grid: list[list]) -> TableLoc | None:
    """A table typed on a sheet without being an Excel Table: find its header row (it need not be row 1)."""
    try:
        t = schema.table(name)
    except KeyError:
        t = None
    best, best_score = None, 0
    for r, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        cells = [v for v in row if v not in (None, "")]
        if not cells:
            continue
        if t is None:
            best = r
            break
        hmap = schema.header_map([str(v) for v in cells], t)
        score = sum(1 for k in hmap.values() if k in t.by_key)
        if score > best_score:
            best, best_score = r, score
    if best is None:
        return None
    row = grid[best]
    cols = [i for i, v in enumerate(row) if v not in (None, "")]
    c0, c1 = cols[0], cols[-1]
    last = best
    for r in range(best + 1, len(grid)):
        if any(v not in (None, "") for v in grid[r][c0:c1 + 1]):
            last = r
    # Data right of the last header (an extension number under a merged 電話番号 header) belongs to the table:
    # left out, a job adding a column would write straight over it.
    while any(c1 + 1 < len(grid[r]) and grid[r][c1 + 1] not in (None, "") for r in range(best + 1, last + 1)):
        c1 += 1
    headers = [row[i] if i < len(row) and row[i] not in (None, "") else None for i in range(c0, c1 + 1)]
    return TableLoc(name, sheet, best + 1, c0 + 1, headers, last - best, False)


MAX_ROWS, MAX_COLS = 1_048_576, 16_384  # an Excel sheet


def _check_fits(sheet: str, header_row: int, first_col: int, rows: int, cols: int) -> None:
    if header_row + max(rows, 1) > MAX_ROWS or first_col + cols - 1 > MAX_COLS:
        raise BadInput([Problem(sheet, None, sheet, "sheet_full", rows=rows, cols=cols)])


def _same_value(a, b) -> bool:
    a, b = _cell_value(a), _cell_value(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


def _jsonable(v):
    v = _cell_value(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return {"$date": v.isoformat()}
    return v


def _unjson(v):
    if isinstance(v, dict) and "$date" in v:
        return dt.datetime.fromisoformat(v["$date"])
    return v


def _looks_numeric_text(s: pd.Series) -> bool:
    """Text like '0120…' or '0060001' must stay text: Excel would eat the leading zero of a number."""
    sample = s.dropna().head(200)
    text = sample[sample.map(lambda v: isinstance(v, str))].astype(str)  # a date or number cell is not text
    return bool(len(sample)) and text.str.fullmatch(r"[0-9０-９][0-9０-９\-]*").sum() > len(sample) / 2


def _sheet_name(name: str) -> str:
    """Schema tables may be named by their English key; the workbook uses the Japanese name."""
    t = _schema_table(name)
    return t.ja if t is not None else name


def _schema_table(name: str):
    try:
        return schema.table(name)
    except KeyError:
        return None


def _find_header(headers, wanted: str, t) -> str | None:
    for h in headers:
        if h is not None and _same_header(h, wanted):
            return h
    if t is not None:
        hmap = schema.header_map([h for h in headers if h is not None], t)
        for h, k in hmap.items():
            if k == wanted or _same_header(t.header(k), wanted):
                return h
    return None


def _parse_cell(cell: str) -> tuple[int, int]:
    letters = "".join(ch for ch in cell if ch.isalpha()).upper()
    digits = "".join(ch for ch in cell if ch.isdigit())
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(digits), col


def _runs(rows: list[int]) -> list[list[int]]:
    """Sorted row numbers as runs of adjacent rows: [2, 3, 4, 7] -> [[2, 3, 4], [7]]."""
    out: list[list[int]] = []
    for r in rows:
        if out and r == out[-1][-1] + 1:
            out[-1].append(r)
        else:
            out.append([r])
    return out


def _ranges(cells) -> list[str]:
    """(row, col) cells as ranges of adjacent rows per column: [(2, 3), (3, 3), (9, 3)] -> ["C2:C3", "C9"]."""
    by_col: dict[int, list[int]] = {}
    for r, c in cells:
        by_col.setdefault(c, []).append(r)
    out = []
    for c, rows in sorted(by_col.items()):
        for run in _runs(sorted(set(rows))):
            a, b = f"{col_letter(c)}{run[0]}", f"{col_letter(c)}{run[-1]}"
            out.append(a if a == b else f"{a}:{b}")
    return out


def _range_ends(rng: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """"B6:B10" -> ((col, row) of B6, (col, row) of B10); a single cell is both ends."""
    a, _, b = rng.partition(":")
    (r0, c0), (r1, c1) = _parse_cell(a), _parse_cell(b or a)
    return (c0, r0), (c1, r1)
