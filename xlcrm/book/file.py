"""The file engine: python-calamine reads, openpyxl writes, saved atomically after a backup.

Reads go through calamine (fast, no formulas evaluated, no macros run). The first write loads the book into
openpyxl (keep_vba); `save()` writes a temp file beside the book, repairs what openpyxl drops, checks that nobody
changed the book since it was read, backs the old file up and swaps the new one in with os.replace.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import stat
import time
from contextlib import contextmanager
from pathlib import Path

import python_calamine as pc

from .. import schema
from ..messages import BookLocked, XlcrmError
from . import ooxml
from .base import Book, TableLoc, col_letter

TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy/mm/dd"
DATETIME_FORMAT = "yyyy/mm/dd hh:mm"
HEADER_SCAN_ROWS = 30


def owner_files(path: Path) -> list[Path]:
    """Lock files an office suite leaves beside an open book: Excel's ~$ owner file, LibreOffice's .~lock."""
    n = path.name
    names = {"~$" + n, "~$" + n[2:], f".~lock.{n}#"}
    return [path.with_name(x) for x in sorted(names)]


def check_not_open(path: Path) -> None:
    for f in owner_files(path):
        if f.exists():
            raise BookLocked("book_locked", name=path.name)


def fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def write_lock(path: Path, wait: float = 10.0):
    """Only one xlcrm process writes a book at a time (a lock file beside it; a dead holder's lock is taken over)."""
    lock = path.with_name(f".~xlcrm.{path.name}.lock")
    me = f"{socket.gethostname()} {os.getpid()}"
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.write(fd, me.encode())
            os.close(fd)
            break
        except FileExistsError:
            if _stale(lock):
                lock.unlink(missing_ok=True)
                continue
            if time.monotonic() > deadline:
                raise BookLocked("book_busy", name=path.name) from None
            time.sleep(0.1)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _stale(lock: Path) -> bool:
    try:
        host, pid = lock.read_text().split()
        if host != socket.gethostname():
            return False
        os.kill(int(pid), 0)
        return False
    except ProcessLookupError:
        return True
    except (ValueError, FileNotFoundError):
        return True
    except PermissionError:  # the process exists under another user
        return False


class FileBook(Book):
    """A workbook file (.xlsx/.xlsm) on disk."""

    def __init__(self, path, *, lang: str | None = None, backups: int | None = None, wait: float = 10.0):
        super().__init__(lang)
        self.path = Path(path).absolute()
        self.backups = backups
        self.wait = wait
        if not self.path.exists():
            raise XlcrmError("book_not_found", name=self.path.name)
        check_not_open(self.path)
        ooxml.check_package(self.path)
        self._fingerprint = fingerprint(self.path)
        try:
            self._cal = pc.CalamineWorkbook.from_path(str(self.path), load_tables=True)
        except Exception:
            raise XlcrmError("not_a_workbook", name=self.path.name) from None
        self._wb = None
        self._dirty = False
        self._touched: set[str] = set()  # sheets written this session: read back from openpyxl, the rest from calamine

    # --- openpyxl, loaded on the first write --------------------------------------------------------------------
    @property
    def wb(self):
        if self._wb is None:
            import openpyxl  # uses defusedxml when it is installed (it is a dependency)
            self._wb = openpyxl.load_workbook(self.path, keep_vba=self.path.suffix.lower() in (".xlsm", ".xltm"),
                                              keep_links=False, rich_text=False)
        return self._wb

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
        for tn in self._cal.table_names:
            if tn.lower() == folded:
                t = self._cal.get_table_by_name(tn)
                (r0, c0), (r1, _c1) = t.start, t.end
                return TableLoc(tn, t.sheet, r0, c0 + 1, list(t.columns), r1 - r0 + 1, True)
        if name not in self._cal.sheet_names:
            return None
        grid = self._cal.get_sheet_by_name(name).to_python(skip_empty_area=False)
        return _locate_in_grid(name, name, grid)

    def _locate_xl(self, name):
        folded = name.lower()
        for ws in self._wb.worksheets:
            for t in ws.tables.values():
                tn = t.displayName
                if tn.lower() == folded:
                    from openpyxl.utils.cell import range_boundaries
                    c0, r0, c1, r1 = range_boundaries(t.ref)
                    headers = [ws.cell(r0, c).value for c in range(c0, c1 + 1)]
                    return TableLoc(tn, ws.title, r0, c0, headers, r1 - r0, True)
        if name not in self._wb.sheetnames:
            return None
        ws = self._wb[name]
        grid = [list(r) for r in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column,
                                               values_only=True)]
        return _locate_in_grid(name, name, grid)

    def _values(self, loc: TableLoc) -> list[list]:
        n = len(loc.headers)
        if self._wb is None or loc.sheet not in self._touched:
            if loc.listobject:
                rows = self._cal.get_table_by_name(loc.name).to_python()
            else:
                grid = self._cal.get_sheet_by_name(loc.sheet).to_python(skip_empty_area=False)
                rows = [r[loc.first_col - 1:loc.first_col - 1 + n] for r in
                        grid[loc.header_row:loc.header_row + loc.rows]]
            return [[None if v == "" else v for v in (list(r) + [None] * n)[:n]] for r in rows]
        ws = self._wb[loc.sheet]
        return [list(r) for r in ws.iter_rows(min_row=loc.header_row + 1, max_row=loc.header_row + loc.rows,
                                               min_col=loc.first_col, max_col=loc.first_col + n - 1,
                                               values_only=True)]

    def _put(self, sheet, row, col, rows, text_cols=frozenset(), date_cols=frozenset(), formula_cols=frozenset()):
        self._dirty = True
        self._touched.add(sheet)
        ws = self.wb[sheet]
        for i, values in enumerate(rows):
            for j, v in enumerate(values):
                cell = ws.cell(row + i, col + j)
                cell.value = v
                if cell.data_type == "f" and (j not in formula_cols or i == 0):
                    cell.data_type = "s"  # customer text like '=1+1' is text, never a formula
                if i == 0 and len(rows) > 1:
                    continue
                if j in text_cols:
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

    def _define_table(self, loc: TableLoc, new: bool) -> None:
        from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
        ws = self.wb[loc.sheet]
        ref = (f"{col_letter(loc.first_col)}{loc.header_row}:"
               f"{col_letter(loc.first_col + len(loc.headers) - 1)}{loc.header_row + max(loc.rows, 1)}")
        existing = next((t for t in ws.tables.values() if t.displayName.lower() == loc.name.lower()), None)
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

        Returns the backup's path, or None when there was nothing to write.
        """
        if not self._dirty and not self._journal_rows:
            return None
        self._flush_journal()
        with write_lock(self.path, self.wait):
            check_not_open(self.path)
            if fingerprint(self.path) != self._fingerprint:
                raise BookLocked("book_changed", name=self.path.name)
            self._remove_dead_temps()
            tmp = self.path.with_name(f".{self.path.stem}.xlcrm-{os.getpid()}{self.path.suffix}")
            try:
                self._wb.save(tmp)
                ooxml.restore_parts(self.path, tmp)
                pc.CalamineWorkbook.from_path(str(tmp)).close()  # it must open before it replaces anything
                os.chmod(tmp, stat.S_IMODE(self.path.stat().st_mode))
                _fsync(tmp)
                backup = self._backup()
                os.replace(tmp, self.path)
                _fsync_dir(self.path.parent)
            except OSError as e:
                tmp.unlink(missing_ok=True)
                raise XlcrmError("write_failed", name=self.path.name,
                                 reason=os.strerror(e.errno) if e.errno else type(e).__name__) from None
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        self._fingerprint = fingerprint(self.path)
        self._dirty = False
        return backup

    def _remove_dead_temps(self) -> None:
        """Temp files of writers that were killed mid-save (the book itself was never touched by them)."""
        for tmp in self.path.parent.glob(f".{self.path.stem}.xlcrm-*{self.path.suffix}"):
            try:
                os.kill(int(tmp.stem.rsplit("-", 1)[1]), 0)
            except ProcessLookupError:
                tmp.unlink(missing_ok=True)
            except (ValueError, PermissionError, IndexError):
                pass

    def backup_dir(self) -> Path:
        return self.path.with_name(f"{self.path.stem}_backup")

    def _backup(self) -> Path:
        """Copy the current file into <stem>_backup/ beside the book (same permissions); keep the newest N."""
        import shutil
        d = self.backup_dir()
        d.mkdir(exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        dest = d / f"{self.path.stem}-{stamp}{self.path.suffix}"
        shutil.copy2(self.path, dest)
        keep = self.backups if self.backups is not None else 10
        olds = sorted(d.glob(f"{self.path.stem}-*{self.path.suffix}"))
        for old in olds[:-keep] if keep > 0 else []:
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


def _locate_in_grid(name: str, sheet: str, grid: list[list]) -> TableLoc | None:
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
    headers = [row[i] if row[i] not in (None, "") else None for i in range(c0, c1 + 1)]
    last = best
    for r in range(best + 1, len(grid)):
        if any(v not in (None, "") for v in grid[r][c0:c1 + 1]):
            last = r
    return TableLoc(name, sheet, best + 1, c0 + 1, headers, last - best, False)


def _autowidth(ws, loc: TableLoc) -> None:
    import unicodedata
    for i, h in enumerate(loc.headers):
        letter = col_letter(loc.first_col + i)
        values = [h] + [ws.cell(loc.header_row + r, loc.first_col + i).value for r in range(1, min(loc.rows, 200) + 1)]
        width = max((sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(v))
                     for v in values if v is not None), default=8)
        ws.column_dimensions[letter].width = min(max(width + 2, 8), 60)
