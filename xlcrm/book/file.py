"""The file engine: python-calamine reads, openpyxl writes, saved atomically after a backup.

Reads go through calamine (fast, no formulas evaluated, no macros run). The first write loads the book into
openpyxl (keep_vba); `save()` writes a temp file beside the book, repairs what openpyxl drops, checks that nobody
changed the book since it was read, backs the old file up and swaps the new one in with os.replace.
"""
from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import os
import re
import socket
import stat
import time
from contextlib import contextmanager
from pathlib import Path

import python_calamine as pc

# openpyxl (about 0.8 s to import, python -X importtime) is imported inside the methods that write: a job that only
# reads (search, export, report) never pays for it.

try:
    import fcntl
except ImportError:  # Windows: the lock file alone
    fcntl = None

from .. import schema
from ..messages import BadFile, BadInput, BookLocked, Problem, XlcrmError
from . import fastsave, ooxml
from .base import CAPABILITIES, Book, TableLoc, _range_ends, col_letter
from .base import locate_in_grid as _locate_in_grid
from .base import pick_table as _pick_table

TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy/mm/dd"
DATETIME_FORMAT = "yyyy/mm/dd hh:mm"


def owner_files(path: Path) -> list[Path]:
    """Lock files an office suite leaves beside an open book: Excel's ~$ owner file, LibreOffice's .~lock."""
    n = path.name
    names = {"~$" + n, "~$" + n[2:], f".~lock.{n}#"}
    return [path.with_name(x) for x in sorted(names)]


def owner_program(path: Path) -> str | None:
    """'excel' or 'libreoffice': the suite whose owner file lies beside the book; None when none does."""
    for f in owner_files(Path(path)):
        if f.exists():
            return "libreoffice" if f.name.startswith(".~lock.") else "excel"
    return None


def open_elsewhere(path: Path) -> bool:
    """Whether Excel or LibreOffice has the book open (its owner file lies beside it)."""
    return owner_program(path) is not None


def locked_error(path: Path) -> BookLocked:
    """The refusal for a book open elsewhere, naming the program whose lock file is there."""
    who = owner_program(path)
    return BookLocked("book_locked_lo" if who == "libreoffice" else "book_locked", name=path.name)


def check_not_open(path: Path) -> None:
    if open_elsewhere(path):
        raise locked_error(path)


def fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def write_lock(path: Path, wait: float = 10.0):
    """Only one xlcrm process writes a book at a time: a lock file beside it, held while the book is replaced.

    Where the OS has advisory locks (Linux, macOS) the kernel holds the lock and frees it when its holder dies,
    so a dead writer never blocks the next one and two writers can never both believe they hold it. Elsewhere
    the file itself is the lock (created exclusively, its content written before it appears; a dead local
    holder's lock is taken over). Failing to create the lock (read-only folder, disk full) is a clear message.
    """
    lock = path.with_name(f".~xlcrm.{path.name}.lock")
    me = f"{socket.gethostname()} {os.getpid()}"
    try:
        if fcntl is not None:
            fd = _flock(lock, me, wait, path.name)
        else:
            fd = None
            _exclusive_file(lock, me, wait, path.name)
    except OSError as e:
        raise _write_error(e, path) from None
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)  # while still holding it: a waiter then finds a fresh file, never this one
        if fd is not None:
            os.close(fd)


def _flock(lock: Path, me: str, wait: float, name: str) -> int:
    deadline = time.monotonic() + wait
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() > deadline:
                raise BookLocked("book_busy", name=name) from None
            time.sleep(0.05)
            continue
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the holder removed the file after we opened it: we locked an orphan, try the new one
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.write(fd, me.encode())
        except BaseException:
            lock.unlink(missing_ok=True)
            os.close(fd)
            raise
        return fd


def _exclusive_file(lock: Path, me: str, wait: float, name: str) -> None:
    deadline = time.monotonic() + wait
    tmp = lock.with_name(f"{lock.name}.{os.getpid()}")
    tmp.write_text(me)
    try:
        while True:
            try:
                os.link(tmp, lock)  # atomic, and the lock never exists without its holder's name in it
                return
            except FileExistsError:
                if _stale(lock):
                    lock.unlink(missing_ok=True)
                    continue
                if time.monotonic() > deadline:
                    raise BookLocked("book_busy", name=name) from None
                time.sleep(0.1)
    finally:
        tmp.unlink(missing_ok=True)


def _stale(lock: Path) -> bool:
    try:
        host, pid = lock.read_text().split()
        if host != socket.gethostname():
            return False
        os.kill(int(pid), 0)
        return False
    except ProcessLookupError:
        return True
    except FileNotFoundError:
        return True
    except (ValueError, PermissionError):  # unreadable, or the process exists under another user
        return False


def _reason(e: OSError) -> str:
    return os.strerror(e.errno) if e.errno else type(e).__name__


def _write_error(e: OSError, path: Path) -> XlcrmError:
    """The message for a failed write: disk full and read-only get their own sentence, the rest the OS reason."""
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return XlcrmError("disk_full", name=path.name)
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return XlcrmError("read_only", name=path.name)
    return XlcrmError("write_failed", name=path.name, reason=_reason(e))


class FileBook(Book):
    """A workbook file (.xlsx/.xlsm) on disk.

    `read_only`: for commands that only read (search, export, report, survey --json, `rfm`/`lapse` on a book).
    Such a book may be open in Excel: it is read as last saved (the bytes on disk, read once), and it can never
    be saved.
    """

    def __init__(self, path, *, lang: str | None = None, backups: int | None = None, wait: float = 10.0,
                 read_only: bool = False):
        super().__init__(lang)
        self.path = Path(path).absolute()
        self.backups = backups
        self.wait = wait
        self.read_only = read_only
        if not self.path.exists():
            raise BadFile("book_not_found", name=self.path.name)
        if not read_only:
            check_not_open(self.path)
        # One snapshot of the file for everything: the safety checks, the fingerprint, calamine now and openpyxl
        # at the first write. Re-reading the path later could mix in a version someone saved meanwhile.
        try:
            self._bytes = self.path.read_bytes()
        except PermissionError:
            if read_only and open_elsewhere(self.path):   # an office suite that denies even reading
                raise locked_error(self.path) from None
            raise
        ooxml.check_package(self.path, self._bytes)
        self._fingerprint = hashlib.sha256(self._bytes).hexdigest()
        try:
            self._cal = pc.CalamineWorkbook.from_filelike(io.BytesIO(self._bytes), load_tables=True)
        except Exception:
            raise BadFile("not_a_workbook", name=self.path.name) from None
        self._wb = None
        self._grid_cache = (None, None)
        self._dirty = False
        self._touched: set[str] = set()  # sheets written this session: read back from openpyxl, the rest from calamine

    # --- openpyxl, loaded on the first write --------------------------------------------------------------------
    @property
    def wb(self):
        if self._wb is None:
            import openpyxl
            # check_package already refused any DTD; defusedxml is the second fence should one slip through
            if not openpyxl.DEFUSEDXML and not openpyxl.LXML:
                raise XlcrmError("book_unsafe", name=self.path.name)
            try:
                vba = self.path.suffix.lower() in (".xlsm", ".xltm")
                # keep_links: external-link parts are kept as opaque data (never fetched) so staff's formulas
                # that refer to other workbooks are not orphaned by a save
                self._wb = openpyxl.load_workbook(io.BytesIO(self._bytes), keep_vba=vba, keep_links=True,
                                                  rich_text=False)
            except XlcrmError:
                raise
            except Exception:  # openpyxl reports bad XML as ValueError/KeyError/…: the file is damaged
                raise BadFile("book_damaged", name=self.path.name, sheet="*") from None
        return self._wb

    def _cal_grid(self, sheet: str) -> list[list]:
        """A sheet's cells from calamine; the last one is kept, as locating a table and reading it come in pairs
        (parsing a million-row sheet once instead of twice saves a third of the read)."""
        if self._grid_cache[0] != sheet:
            self._grid_cache = (None, None)
            with self._reading(sheet):
                self._grid_cache = (sheet, self._cal.get_sheet_by_name(sheet).to_python(skip_empty_area=False))
        return self._grid_cache[1]

    @contextmanager
    def _reading(self, sheet: str):
        """calamine parses a sheet only when asked: a torn or malformed part surfaces here, as a clear message."""
        try:
            yield
        except XlcrmError:
            raise
        except Exception:
            raise BadFile("book_damaged", name=self.path.name, sheet=sheet) from None

    # --- engine primitives ------------------------------------------------------------------------------------
    def table_names(self) -> list[str]:
        if self._wb is None:
            return list(self._cal.table_names)
        return [t.displayName for ws in self._wb.worksheets for t in ws.tables.values()]

    def sheet_names(self) -> list[str]:
        return list(self._cal.sheet_names) if self._wb is None else list(self._wb.sheetnames)

    def _locate(self, name: str) -> TableLoc | None:
        fast = self._locate_cal(name)
        if self._wb is None or (fast is not None and fast.sheet not in self._touched):
            return fast  # untouched this session: calamine reads it ten times faster than openpyxl
        return self._locate_xl(name)

    def _locate_cal(self, name):
        folded = name.lower()
        on_sheet = []
        for tn in self._cal.table_names:
            with self._reading(tn):
                t = self._cal.get_table_by_name(tn)
            (r0, c0), (r1, _c1) = t.start, t.end
            loc = TableLoc(tn, t.sheet, r0, c0 + 1, list(t.columns), r1 - r0 + 1, True)
            if tn.lower() == folded:
                return loc
            if t.sheet == name:
                on_sheet.append(loc)
        if name not in self._cal.sheet_names:
            return None
        return _pick_table(name, on_sheet) or _locate_in_grid(name, name, self._cal_grid(name))

    def _locate_xl(self, name):
        from openpyxl.utils.cell import range_boundaries
        folded = name.lower()
        on_sheet = []
        for ws in self._wb.worksheets:
            for t in ws.tables.values():
                tn = t.displayName
                c0, r0, c1, r1 = range_boundaries(t.ref)
                headers = [ws.cell(r0, c).value for c in range(c0, c1 + 1)]
                loc = TableLoc(tn, ws.title, r0, c0, headers, r1 - r0, True)
                if tn.lower() == folded:
                    return loc
                if ws.title == name:
                    on_sheet.append(loc)
        if name not in self._wb.sheetnames:
            return None
        picked = _pick_table(name, on_sheet)
        if picked is not None:
            return picked
        ws = self._wb[name]
        grid = [list(r) for r in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column,
                                               values_only=True)]
        return _locate_in_grid(name, name, grid)

    def _values(self, loc: TableLoc) -> list[list]:
        n = len(loc.headers)
        if self._wb is None or loc.sheet not in self._touched:
            if loc.listobject:
                with self._reading(loc.sheet):
                    rows = self._cal.get_table_by_name(loc.name).to_python()
            else:
                grid = self._cal_grid(loc.sheet)
                rows = [r[loc.first_col - 1:loc.first_col - 1 + n] for r in
                        grid[loc.header_row:loc.header_row + loc.rows]]
            return [[None if v == "" else v for v in (list(r) + [None] * n)[:n]] for r in rows]
        ws = self._wb[loc.sheet]
        return [list(r) for r in ws.iter_rows(min_row=loc.header_row + 1, max_row=loc.header_row + loc.rows,
                                               min_col=loc.first_col, max_col=loc.first_col + n - 1,
                                               values_only=True)]

    def _put(self, sheet, row, col, rows, text_cols=frozenset(), date_cols=frozenset(), formula_cols=frozenset()):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
        self._dirty = True
        self._touched.add(sheet)
        ws = self.wb[sheet]
        cells = ws._cells            # ws.cell() validates each call: a sixth of a large write
        for i, values in enumerate(rows):
            for j, v in enumerate(values):
                cell = cells.get((row + i, col + j))
                if cell is None:
                    if v is None:
                        continue     # a blank written into a blank cell
                    cell = Cell(ws, row=row + i, column=col + j)
                    ws._add_cell(cell)
                if isinstance(cell, MergedCell):
                    if v is None:
                        continue  # nothing to write, and a merged cell shows nothing of its own anyway
                    raise BadInput([Problem(sheet, row + i, str(rows[0][j]) if len(rows) > 1 else "", "merged_cell",
                                            cell=f"{col_letter(col + j)}{row + i}")])
                if isinstance(v, str) and (ILLEGAL_CHARACTERS_RE.search(v) or "\r" in v):
                    v = _escape_controls(v)
                cell.value = v
                if cell.data_type == "f" and (j not in formula_cols or i == 0):
                    cell.data_type = "s"  # customer text like '=1+1' is text, never a formula
                if i == 0 and len(rows) > 1:
                    continue
                if j in text_cols and isinstance(v, str):  # '@' on a date or number cell would hide what it is
                    cell.number_format = TEXT_FORMAT
                elif isinstance(v, dt.datetime):
                    cell.number_format = DATETIME_FORMAT if (v.hour or v.minute) else DATE_FORMAT
                elif isinstance(v, dt.date):
                    cell.number_format = DATE_FORMAT

    def _clear(self, sheet, row, col, nrows, ncols):
        self._dirty = True
        self._touched.add(sheet)
        ws = self.wb[sheet]
        for r in range(row, row + nrows):
            for c in range(col, col + ncols):
                cell = ws.cell(r, c)
                if cell.value is not None:
                    cell.value = None

    def _ensure_sheet(self, sheet, hidden=False):
        if sheet in self.wb.sheetnames:
            return False
        self._dirty = True
        self._touched.add(sheet)
        ws = self.wb.create_sheet(sheet)
        if hidden:
            ws.sheet_state = "hidden"
        return True

    # --- report sheets (openpyxl) ----------------------------------------------------------------------------
    def reset_sheet(self, sheet):
        self._dirty = True
        self._touched.add(sheet)
        wb = self.wb
        if sheet in wb.sheetnames:
            idx = wb.sheetnames.index(sheet)
            wb.remove(wb[sheet])
            wb.create_sheet(sheet, idx)
        else:
            wb.create_sheet(sheet)

    def capabilities(self):
        return CAPABILITIES

    def _ws(self, sheet: str):
        """The openpyxl worksheet of `sheet`: the one way report primitives reach openpyxl."""
        return self.wb[sheet]

    def _cells(self, sheet: str, rng: str):
        ws = self._ws(sheet)
        self._dirty = True
        return [c for row in (ws[rng] if ":" in rng else [[ws[rng]]]) for c in row]

    def set_number_formats(self, sheet, formats):
        for rng, fmt in formats.items():
            for c in self._cells(sheet, rng):
                c.number_format = fmt

    def set_widths(self, sheet, widths, *, at_least=False):
        ws = self._ws(sheet)
        self._dirty = True
        for col, w in widths.items():
            dim = ws.column_dimensions[col]
            dim.width = max(dim.width or 0, w) if at_least else w

    def set_font(self, sheet, cells, *, bold=False, size=None, color=None):
        from openpyxl.styles import Font
        for rng in cells:
            for c in self._cells(sheet, rng):
                c.font = Font(bold=bold or None, size=size, color=color)

    def set_row_heights(self, sheet, heights):
        ws = self._ws(sheet)
        self._dirty = True
        for row, h in heights.items():
            ws.row_dimensions[row].height = h

    def centre(self, sheet, ranges):
        from openpyxl.styles import Alignment
        for rng in ranges:
            for c in self._cells(sheet, rng):
                c.alignment = Alignment(horizontal="center")

    def fill(self, sheet, rng, color, *, border=None):
        from openpyxl.styles import Border, PatternFill, Side
        side = Side(style="thin", color=border) if border else None
        for c in self._cells(sheet, rng):
            c.fill = PatternFill("solid", start_color=color, end_color=color)
            if side:
                c.border = Border(top=side, bottom=side, left=side, right=side)

    def add_list_validation(self, sheet, rng, options, *, replace=True):
        from openpyxl.worksheet.datavalidation import DataValidation
        ws = self._ws(sheet)
        self._dirty = True
        formula = '"' + ",".join(map(str, options)) + '"'
        if replace:
            ws.data_validations.dataValidation = [v for v in ws.data_validations.dataValidation
                                                  if v.formula1 != formula]
        dv = DataValidation(type="list", formula1=formula, allow_blank=True)
        dv.add(rng)
        ws.add_data_validation(dv)

    def add_formula_highlight(self, sheet, rng, formula, fill, *, match=()):
        from openpyxl.formatting.rule import FormulaRule
        from openpyxl.styles import PatternFill
        ws = self._ws(sheet)
        self._dirty = True
        cf = ws.conditional_formatting

        def ours(rule):
            f = rule.formula[0] if rule.formula else None
            return f is not None and (f == formula or bool(match) and all(m in f for m in match))
        # openpyxl offers no removal: its ConditionalFormattingList keeps the rules per range in _cf_rules
        for area in list(cf._cf_rules):
            cf._cf_rules[area] = [r for r in cf._cf_rules[area] if not ours(r)]
            if not cf._cf_rules[area]:
                del cf._cf_rules[area]
        cf.add(rng, FormulaRule(formula=[formula], fill=PatternFill("solid", start_color=fill, end_color=fill)))

    def add_color_scale(self, sheet, rng, *, low="FFFFFF", high="2E75B6"):
        from openpyxl.formatting.rule import ColorScaleRule
        self._dirty = True
        self._ws(sheet).conditional_formatting.add(rng, ColorScaleRule(start_type="num", start_value=0,
                                                                       start_color=low, end_type="max",
                                                                       end_color=high))

    def add_chart(self, sheet, chart):
        from openpyxl.chart import BarChart, LineChart, Reference, Series
        ws = self._ws(sheet)
        (vc0, vr0), (vc1, vr1) = _range_ends(chart.values)
        (cc, cr0), (_, cr1) = _range_ends(chart.categories)
        bar = chart.kind == "bar"
        ch = BarChart() if bar else LineChart()
        if bar:
            ch.type, ch.gapWidth = ("bar" if chart.horizontal else "col"), chart.gap_width
            if chart.stacked:
                ch.grouping, ch.overlap = "stacked", 100
        ch.title = chart.title
        if chart.series_in_first_row:
            ch.add_data(Reference(ws, min_col=vc0, max_col=vc1, min_row=vr0, max_row=vr1), titles_from_data=True)
        else:
            for col in range(vc0, vc1 + 1):
                ch.series.append(Series(Reference(ws, min_col=col, min_row=vr0, max_row=vr1),
                                        title=chart.series_name or None))
        ch.set_categories(Reference(ws, min_col=cc, min_row=cr0, max_row=cr1))
        for s, color in zip(ch.series, chart.colors):
            if bar:
                s.graphicalProperties.solidFill = color
            else:
                s.graphicalProperties.line.solidFill = color
        for s, dash in zip(ch.series, chart.dashes):
            if dash:
                s.graphicalProperties.line.dashStyle = dash
        if not bar:
            for s in ch.series:
                s.smooth = False
        if bar and chart.horizontal and chart.top_down:
            ch.x_axis.scaling.orientation = "maxMin"    # the first row on top, as in the sheet
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        if chart.number_format:
            ch.y_axis.numFmt = chart.number_format
        if chart.y_min is not None:
            ch.y_axis.scaling.min = chart.y_min
        if not chart.gridlines:
            ch.y_axis.majorGridlines = None
        if chart.legend is None:
            ch.legend = None
        else:
            ch.legend.position = {"bottom": "b", "right": "r", "top": "t", "left": "l"}[chart.legend]
        ch.width, ch.height = chart.width_cm, chart.height_cm
        ws.add_chart(ch, chart.anchor)
        self._dirty = True
        return True

    def add_picture(self, sheet, anchor, png, *, name, width_cm, height_cm):
        from openpyxl.drawing.image import Image
        img = Image(io.BytesIO(png))
        px = 96 / 2.54                       # openpyxl sizes images in pixels at 96 dpi
        img.width, img.height = round(width_cm * px), round(height_cm * px)
        self._ws(sheet).add_image(img, anchor)
        self._dirty = True
        return True

    def page_setup(self, sheet, *, landscape=True, fit_width=True, title_rows=None, paper=None, print_area=None):
        ws = self._ws(sheet)
        self._dirty = True
        if landscape:
            ws.page_setup.orientation = "landscape"
        if paper == "A4":
            ws.page_setup.paperSize = ws.PAPERSIZE_A4
        if fit_width:
            ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
        if title_rows:
            ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
        if print_area:
            ws.print_area = print_area

    def _formulas(self, sheet, r0, c0, r1, c1):
        ws = self.wb[sheet]
        return {(cell.row, cell.column): cell.value
                for row in ws.iter_rows(min_row=r0, max_row=min(r1, ws.max_row), min_col=c0, max_col=c1)
                for cell in row if cell.data_type == "f"}

    def _put_formula(self, sheet, row, col, formula):
        self._dirty = True
        self.wb[sheet].cell(row, col).value = formula

    def _first_filled(self, sheet, r0, c0, r1, c1):
        ws = self.wb[sheet]
        r1 = min(r1, ws.max_row)
        c1 = min(c1, ws.max_column)
        for i, row in enumerate(ws.iter_rows(min_row=r0, max_row=r1, min_col=c0, max_col=c1, values_only=True)):
            for j, v in enumerate(row):
                if v not in (None, ""):
                    return r0 + i, c0 + j
        return None

    def _define_table(self, loc: TableLoc, new: bool) -> None:
        from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
        ws = self.wb[loc.sheet]
        ref = (f"{col_letter(loc.first_col)}{loc.header_row}:"
               f"{col_letter(loc.first_col + len(loc.headers) - 1)}{loc.header_row + max(loc.rows, 1)}")
        existing = next((t for t in ws.tables.values() if t.displayName.lower() == loc.name.lower()), None)
        if existing is None and not _can_be_table(ws, loc, ref):
            return  # staff's plain range stays a plain range: Excel would 'repair' (delete) such a table
        if existing is None:
            t = Table(displayName=_table_name(loc.name), ref=ref)
            t.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
            ws.add_table(t)
            if new and loc.header_row == 1 and loc.first_col == 1:
                ws.freeze_panes = "A2"
                _autowidth(ws, loc)
        else:
            old = {c.name: c for c in existing.tableColumns}
            cols = []
            for i, h in enumerate(loc.headers, start=1):
                c = old.get(str(h)) or TableColumn(id=i, name=str(h))
                c.id = i
                cols.append(c)
            existing.tableColumns = cols
            existing.ref = ref
            if existing.autoFilter is not None:
                existing.autoFilter.ref = ref

    # --- saving -----------------------------------------------------------------------------------------------
    def save(self) -> Path | None:
        """Write the changes: temp file, repair, check nobody changed the book, backup, atomic replace.

        Returns the backup's path, or None when there was nothing to write. Whatever fails — disk full, a
        read-only folder, a kill — the book on disk is the old one or the new one, and no half-written temp
        file or backup is left behind.
        """
        if not self._dirty and not self._journal_rows:
            return None
        if self.read_only:
            raise RuntimeError("a book opened read-only is never saved")
        self._flush_journal()
        self._step("step_saving", name=self.path.name)
        with write_lock(self.path, self.wait):
            check_not_open(self.path)
            if fingerprint(self.path) != self._fingerprint:
                raise BookLocked("book_changed", name=self.path.name)
            try:
                self._remove_dead_temps()
            except OSError:
                pass  # someone else's leftovers must not stop this save
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if not mode & 0o222:  # marked read-only by its owner (root could replace it anyway: do not)
                raise XlcrmError("read_only", name=self.path.name)
            tmp = self.path.with_name(f".{self.path.stem}.xlcrm-{os.getpid()}{self.path.suffix}")
            backup = None
            try:
                _create_private(tmp)  # never readable by others while it holds customer data
                fastsave.save(self._wb, tmp)
                ooxml.restore_parts(self.path, tmp)
                pc.CalamineWorkbook.from_path(str(tmp)).close()  # it must open before it replaces anything
                os.chmod(tmp, mode)
                _fsync(tmp)
                backup = self._backup(mode)
                os.replace(tmp, self.path)
                _fsync_dir(self.path.parent)
            except BaseException as e:
                for leftover in (tmp, ooxml.parts_temp(tmp)):
                    leftover.unlink(missing_ok=True)
                if backup is not None and self.path.exists() and fingerprint(self.path) == self._fingerprint:
                    backup.unlink(missing_ok=True)  # the replace did not happen: this copy backs up nothing new
                if isinstance(e, OSError):
                    raise _write_error(e, self.path) from None
                raise
        self._fingerprint = fingerprint(self.path)
        self._dirty = False
        return backup

    def _remove_dead_temps(self) -> None:
        """Temp files of writers that were killed mid-save (the book itself was never touched by them)."""
        pattern = re.compile(r"\.(?:" + re.escape(f"{self.path.stem}.xlcrm-") + r"(\d+)" + re.escape(self.path.suffix)
                             + "|" + re.escape(self.path.stem) + r"-[\d-]+" + re.escape(self.path.suffix)
                             + r"\.xlcrm-(\d+))")
        candidates = list(self.path.parent.glob(f".{self.path.stem}.xlcrm-*"))
        if self.backup_dir().is_dir():
            candidates += list(self.backup_dir().glob(f".{self.path.stem}-*.xlcrm-*"))
        for tmp in candidates:
            m = pattern.match(tmp.name)
            if m is None:
                continue
            try:
                os.kill(int(m.group(1) or m.group(2)), 0)
            except ProcessLookupError:
                tmp.unlink(missing_ok=True)
            except PermissionError:
                pass

    def backup_dir(self) -> Path:
        return self.path.with_name(f"{self.path.stem}_backup")

    def _backup(self, mode: int) -> Path | None:
        """Copy the current file into <stem>_backup/ beside the book (same permissions); keep the newest N.

        N is `backups` if given, else バックアップ保存数 on 設定 (default 10); 0 means no backup, for a book
        this process has just created (the demo) and nothing could be lost.
        """
        import shutil
        keep = self.backups if self.backups is not None else (self._settings or {}).get("backups", 10)
        if keep <= 0:
            return None
        d = self.backup_dir()
        d.mkdir(exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        dest = d / f"{self.path.stem}-{stamp}{self.path.suffix}"
        # copied under a hidden name and renamed when complete: a half-copied backup must never look like one
        part = d / f".{dest.name}.xlcrm-{os.getpid()}"
        try:
            fd = os.open(part, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, mode & 0o600)  # widened to `mode` when full
            with os.fdopen(fd, "wb") as out, open(self.path, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            shutil.copystat(self.path, part)
            os.replace(part, dest)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        olds = sorted(d.glob(f"{self.path.stem}-*{self.path.suffix}"))
        for old in olds[:-keep]:
            old.unlink(missing_ok=True)
        return dest

    def close(self) -> None:
        if self._cal is not None:
            self._cal.close()
        self._wb = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _create_private(path: Path) -> None:
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    os.close(fd)


def _escape_controls(s: str) -> str:
    """Control characters (and CR) as Excel itself stores them (_x000B_), so they survive instead of breaking the save.

    openpyxl refuses them (IllegalCharacterError, whose message carries the cell's text) although Excel accepts
    them from a paste; calamine reads _xHHHH_ back as the character, so a read-write round trip is lossless.
    """
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    s = s.replace("\r", "_x000D_")  # XML would turn a bare CR into LF on reading
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", s)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if os.name == "posix":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _table_name(name: str) -> str:
    """An Excel table name: no spaces or punctuation, not starting with a digit."""
    out = "".join(ch if (ch.isalnum() or ch in "_") else "_" for ch in name)
    return out if out[:1].isalpha() or out[:1] == "_" else "_" + out


def _can_be_table(ws, loc: TableLoc, ref: str) -> bool:
    """An Excel Table needs distinct, non-blank header texts and no merged cells inside it."""
    from openpyxl.worksheet.cell_range import CellRange
    names = [str(h).strip().lower() for h in loc.headers if h not in (None, "")]
    if len(names) != len(loc.headers) or len(set(names)) != len(names):
        return False
    area = CellRange(ref)
    return not any(area.isdisjoint(m) is False for m in ws.merged_cells.ranges)


def _autowidth(ws, loc: TableLoc) -> None:
    import unicodedata
    for i, h in enumerate(loc.headers):
        letter = col_letter(loc.first_col + i)
        values = [h] + [ws.cell(loc.header_row + r, loc.first_col + i).value for r in range(1, min(loc.rows, 200) + 1)]
        width = max((sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(v))
                     for v in values if v is not None), default=8)
        ws.column_dimensions[letter].width = min(max(width + 2, 8), 60)
