"""The file engine: python-calamine reads, the package is edited in place, saved atomically after a backup.

Reads go through calamine (fast, no formulas evaluated, no macros run). Writes are collected per sheet and rendered
at `save()` into only the parts they change: the rows a job wrote, its table parts, styles it needed, workbook and
relationship entries for new sheets. Every other part of the file is copied byte for byte (package.py). The new
file is written beside the book, checked, the old one backed up and the new one swapped in with os.replace.
"""
from __future__ import annotations

import datetime as dt
import errno
import bisect
import hashlib
import io
import math
import os
import posixpath
import re
import socket
import stat
import time
import unicodedata
from contextlib import contextmanager
from html import escape, unescape
from pathlib import Path

import python_calamine as pc

# openpyxl (about 0.8 s to import, python -X importtime) is imported only to serialise charts and pictures of report
# sheets (no workbook is ever loaded into it): a job that only reads or writes cells never pays for it.

try:
    import fcntl
except ImportError:  # Windows: the lock file alone
    fcntl = None

from ..messages import BadFile, BadInput, BookLocked, Problem, XlcrmError
from . import ooxml
from .base import CAPABILITIES, Book, TableLoc, _range_ends, _schema_table, col_letter
from .package import (CT_CHART, CT_DRAWING, CT_SHEET, CT_STYLES, CT_TABLE, OFFICE_REL, T_CALCCHAIN, T_DRAWING, T_SHEET,
                      T_STYLES, T_TABLE, Package, Rels, attrs, rels_path, resolve, set_attr)
from .sheetxml import MAIN_NS, SKELETON, SheetXml, cells_of, col_number, letter, patch_row, row_index, tail_start
from .styles import MINIMAL_STYLES, Styles
from . import ahead
from .ahead import parsed as _parsed
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


class _Table:
    """An Excel Table (ListObject) part: its name, place and columns, edited as text."""

    def __init__(self, sheet: str, part: str, text: str):
        self.sheet, self.part, self.text, self.orig = sheet, part, text, text
        m = re.search(r"<(?:\w+:)?table\b([^>]*)>", text)
        head = attrs(m.group(1)) if m else {}
        self.name = head.get("displayName") or head.get("name") or ""
        self.id = int(head.get("id", 0) or 0)
        self.ref = head.get("ref", "A1:A2")
        self.header_rows = int(head.get("headerRowCount", 1) or 0)
        self.totals = int(head.get("totalsRowCount", 0) or 0)
        self.columns = [_unescape_x(attrs(m.group(1)).get("name", "")) for m in
                        re.finditer(r"<(?:\w+:)?tableColumn\b([^>]*?)/?>", text)]

    def loc(self) -> TableLoc:
        (c0, r0), (_c1, r1) = _range_ends(self.ref)
        return TableLoc(self.name, self.sheet, r0, c0, list(self.columns), r1 - r0 - self.totals, True)

    def update(self, ref: str, headers: list[str]) -> None:
        text = self.text
        m = re.search(r"<(?:\w+:)?table\b[^>]*>", text)
        text = text[:m.start()] + set_attr(m.group(0), "ref", ref) + text[m.end():]
        m = re.search(r"<(?:\w+:)?autoFilter\b[^>]*?/?>", text)
        if m:
            text = text[:m.start()] + set_attr(m.group(0), "ref", ref) + text[m.end():]
        if headers != self.columns:
            els = {}
            ids = []
            for m in re.finditer(r"<((?:\w+:)?)tableColumn\b([^>]*?)(?:/>|>.*?</(?:\w+:)?tableColumn>)", text, re.S):
                a = attrs(m.group(2))
                els[_unescape_x(a.get("name", ""))] = m.group(0)
                ids.append(int(a.get("id", 0) or 0))
            p = re.match(r"<((?:\w+:)?)", re.search(r"<(?:\w+:)?tableColumns\b", text).group(0)).group(1)
            nxt = max(ids + [0]) + 1
            out = []
            for h in headers:
                if h in els:
                    out.append(els[h])
                else:
                    out.append(f'<{p}tableColumn id="{nxt}" name="{escape(_escape_x(h))}"/>')
                    nxt += 1
            m = re.search(r"<(?:\w+:)?tableColumns\b.*?</(?:\w+:)?tableColumns>", text, re.S)
            text = (text[:m.start()] + f'<{p}tableColumns count="{len(headers)}">' + "".join(out)
                    + f"</{p}tableColumns>" + text[m.end():])
            self.columns = list(headers)
        self.text, self.ref = text, ref


# Rows that only gain cells at their right end take a lean path in _render_sheet; False renders every row by the
# general path (the tests check that both give the same bytes)
LEAN_ROWS = True
PREFETCH_BYTES = 1 << 20    # a sheet stored larger is read in the background (Book.prefetch)


class _Sheet:
    """What a job did to one worksheet this session, kept until the book is saved."""

    def __init__(self, name: str, part: str, text: str | None, grid: list[list], cur: list[list] | None = None,
                 rows=None):
        self.name, self.part = name, part
        self.text = text                 # the part's text as on disk; None: a new or blanked sheet
        self.orig = grid                 # values as read (calamine), for telling what really changed
        self.cur = cur if cur is not None else [list(r) for r in grid]
        self.rows = rows                 # SheetXml.rows() of `text`, when worked out ahead (see prefetch)
        self.written: set[int] = set()   # columns written: only those can differ from what was read
        self.dirty: set[int] = set()
        self.formulas: dict[tuple[int, int], str] = {}
        self.fmt: dict[int, list] = {}   # column -> [(first row, last row, style changes)]
        self.body_top: dict[int, int] = {}
        self.widths: dict[int, tuple[float, bool]] = {}
        self.guessed: set[int] = set()   # widths the engine guessed for a new table: a job's own widths replace them
        self.breaks: list[int] | None = None     # rows a printed page begins at (manual page breaks)
        self.heights: dict[int, float] = {}
        self.validations: list[tuple[str, str, bool]] = []
        self.highlights: list[tuple] = []
        self.page: dict | None = None
        self.charts: list = []
        self.pictures: list = []
        self.freeze: str | None = None
        self.new = False
        self.reset = False
        self.hidden = False
        self.volatile: set[tuple[int, int]] = set()
        self.cleared: list[tuple[int, int, int, int]] = []   # blanked blocks: their formulas go even if unread
        self.dated_numbers = False       # a number written in a cell formatted as a date (calamine reads a day)

    def row(self, r: int) -> list:
        while len(self.cur) < r:
            self.cur.append([])
        return self.cur[r - 1]


class FileBook(Book):
    """A workbook file (.xlsx/.xlsm) on disk, read by calamine and edited as a package in place.

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
        self.notices: list[tuple[str, dict]] = []
        if not self.path.exists():
            raise BadFile("book_not_found", name=self.path.name)
        if not read_only:
            check_not_open(self.path)
        # One snapshot of the file for everything: the safety checks, the fingerprint, the reads and the parts
        # copied into the new file. Re-reading the path later could mix in a version someone saved meanwhile.
        started = ahead.take(self.path)     # the bytes read and the sheets parsed since the command began
        try:
            self._bytes = started[0] if started else self.path.read_bytes()
        except PermissionError:
            if read_only and open_elsewhere(self.path):   # an office suite that denies even reading
                raise locked_error(self.path) from None
            raise
        ooxml.check_package(self.path, self._bytes)
        self._fingerprint = hashlib.sha256(self._bytes).hexdigest()
        try:
            self._cal = pc.CalamineWorkbook.from_filelike(io.BytesIO(self._bytes), load_tables=True)
            self._pkg = Package(self._bytes)
            self._read_workbook()
        except XlcrmError:
            raise
        except Exception:
            raise BadFile("not_a_workbook", name=self.path.name) from None
        self._grids: dict[str, list] = {}
        self._pending: dict = {}    # sheet -> its cells being read in the background (prefetch)
        self._ahead: dict = started[1] if started else {}     # likewise, started before the book was opened
        self._scanned_aside: set[str] = set()   # parts scanned for formulas beside their reading (prefetch)
        self._warming: dict = {}    # sheet -> what writing it needs, made ready in the background (prefetch)
        self._sheets: dict[str, _Sheet] = {}
        self._tables: list[_Table] | None = None
        self._names: dict[tuple[str, str], str | None] = {}     # (sheet, defined name) -> formula
        self._checked: set[str] = set()
        self._no_formulas: set[str] = set()     # parts found to hold no formula
        self._touched: set[str] = set()     # sheets changed since the last render
        self._refs: dict[str, list[str]] = {}  # formulas of each part as on disk that refer to cells

    # --- the package's map ------------------------------------------------------------------------------------
    def _read_workbook(self) -> None:
        root = Rels(self._pkg.text("_rels/.rels"))
        doc = next((r for r in root.items() if r.get("Type", "").endswith("/officeDocument")), None)
        self._wb_part = resolve("", doc["Target"]) if doc else "xl/workbook.xml"
        wb = self._pkg.text(self._wb_part)
        rels = self._pkg.rels(self._wb_part)
        self._wb_sheets = []      # [{name, part, attrs}] in workbook order (worksheets only have a part)
        for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*?)/?>", wb):
            a = attrs(m.group(1))
            rid = next((v for k, v in a.items() if k.endswith(":id") or k == "id"), None)
            rel = rels.get(rid) if rid else None
            part = resolve(self._wb_part, rel["Target"]) if rel and rel.get("Type") == T_SHEET else None
            self._wb_sheets.append({"name": a.get("name", ""), "part": part, "attrs": a})
        pr = re.search(r"<(?:\w+:)?workbookPr\b([^>]*)", wb)
        self._date1904 = bool(pr) and attrs(pr.group(1)).get("date1904", "0").lower() in ("1", "true")
        style = next((r for r in rels.items() if r.get("Type") == T_STYLES), None)
        self._styles_part = resolve(self._wb_part, style["Target"]) if style else None

    def _sheet_part(self, sheet: str) -> str | None:
        return next((s["part"] for s in self._wb_sheets if s["name"] == sheet), None)

    def _table_defs(self) -> list[_Table]:
        if self._tables is None:
            self._tables = []
            for s in self._wb_sheets:
                if not s["part"] or not self._pkg.has(s["part"]):
                    continue
                for r in self._pkg.rels(s["part"]).by_type(T_TABLE):
                    part = resolve(s["part"], r["Target"])
                    if self._pkg.has(part):
                        with self._reading(s["name"]):
                            self._tables.append(_Table(s["name"], part, self._pkg.text(part)))
        return self._tables

    # --- reading ----------------------------------------------------------------------------------------------
    def _cal_grid(self, sheet: str) -> list[list]:
        """A sheet's cells from calamine. The last three are kept: a job reads 顧客, 注文 and 対応履歴, then writes 顧客 — parsing
        a large sheet once instead of twice saves a third of the job."""
        grid = self._grids.pop(sheet, None)
        if grid is None:
            key = self._shared_key(sheet) if _SHARING else None
            grid = _SHARED.pop(key, None) if key else None
            if grid is not None:
                _SHARED[key] = grid     # the last used are the ones kept
        if grid is None:
            pending = self._pending.pop(sheet, None) or self._ahead.pop(sheet, None)
            if pending is not None:
                self._while_waiting(pending)
            with self._reading(sheet):
                grid = pending.result() if pending is not None else _parsed(self._cal, sheet)
            if key and len(grid) > SHARE_ROWS:
                _share(key, grid)
        self._grids[sheet] = grid
        # the last three large sheets are kept, and every small one (設定, a list of staff, a 1,000-row 顧客): a job
        # that reads 顧客 or 対応履歴 again does not parse it again
        large = [k for k, g in self._grids.items() if len(g) > SHARE_ROWS]
        for k in large[:-3]:
            del self._grids[k]
        return grid

    def _shared_key(self, sheet: str) -> tuple | None:
        """What names a sheet's cells as read in this process: the book, the part, and the part's CRC and size as
        stored (a part a save copied raw is the same part)."""
        return self._part_key(self._sheet_part(sheet))

    def _part_key(self, part: str | None) -> tuple | None:
        info = self._pkg.infos.get(part) if part and part not in self._pkg.new else None
        return (str(self.path), part, info.CRC, info.file_size, info.compress_size) if info else None

    def prefetch(self, *names: str, writes: tuple[str, ...] = ()) -> None:
        """Read these tables' sheets in the background, each with its own calamine reader (it lets go of Python's
        lock while it parses): 顧客 and 注文 take the time of the larger on two cores, not of both. Each sheet's
        check for formulas without their values (zlib, which lets go too) is done beside it. For the sheets of
        `writes`, what writing them needs (where the rows are in the part, a copy of the cells to change) is made
        ready once they are read — while the job waits for the larger sheet, not after."""
        import concurrent.futures
        for x in dict.fromkeys(map(self._sheet_of, names)):
            if x in self._ahead and x not in self._sheets and x not in self._grids:
                self._pending[x] = self._ahead.pop(x)       # started before the book was opened (ahead.py)
        sheets = [x for x in dict.fromkeys(map(self._sheet_of, names)) if x and x not in self._grids
                  and x not in self._sheets and x not in self._pending and x in self._cal.sheet_names
                  and not (_SHARING and self._shared_key(x) in _SHARED)]
        # worth a thread only for a sheet that takes a while (a 1,000-customer book's are read in milliseconds)
        sheets = [x for x in sheets if self._pkg.stored_size(self._sheet_part(x)) > PREFETCH_BYTES]
        warm = [x for x in map(self._sheet_of, writes) if (x in sheets or x in self._pending)
                and x not in self._warming and x not in self._sheets]
        if not sheets and not warm:
            return
        pool = concurrent.futures.ThreadPoolExecutor(len(sheets) + len(warm), thread_name_prefix="xlcrm-read")
        for sheet in sheets:
            self._scanned_aside.add(self._sheet_part(sheet))
            self._pending[sheet] = pool.submit(self._read_in_background, sheet)
        for sheet in warm:
            self._warming[sheet] = pool.submit(self._ready_to_write, sheet, self._pending[sheet])
        pool.shutdown(wait=False)

    def _sheet_of(self, name: str) -> str | None:
        """The sheet of a table (a schema key or a name), as Book.read looks for it."""
        t = _schema_table(name)
        for n in ([t.ja, t.key] if t else [name]):
            table = next((x for x in self._table_defs() if x.name.lower() == n.lower()), None)
            sheet = table.sheet if table else n if n in self.sheet_names() else None
            if sheet:
                return sheet
        return None

    def _ready_to_write(self, sheet: str, read) -> tuple:
        """(the cells read, a copy to change, where its rows are in the part) of a sheet a job will write."""
        grid = read.result()
        return grid, [list(r) for r in grid], row_index(self._pkg.chunks(self._sheet_part(sheet)))

    def read(self, name: str, *, required: bool = True, columns=None):
        """Book.read; while reads are shared (sharing_reads: the demo's run of jobs in one process) a large table
        no job has changed since (注文, 対応履歴) is conformed once, each job given its own copy."""
        t = _schema_table(name) if _SHARING else None
        sheet = self._sheet_of(name) if t else None
        key = self._shared_key(sheet) if sheet and sheet not in self._sheets else None
        if key is None:
            return super().read(name, required=required, columns=columns)
        grid = _SHARED.pop(key, None)
        if grid is not None:
            _SHARED[key] = grid     # its cells used too (the last used are kept): a job that reads other columns
        key += (t.key, tuple(columns) if columns else None)
        hit = _FRAMES.get(key)
        if hit is None:
            hit = super().read(name, required=required, columns=columns)
            if hit is None or len(hit) <= SHARE_ROWS:
                return hit
            for k in list(_FRAMES)[:-3]:
                del _FRAMES[k]
            _FRAMES[key] = hit
        return hit.copy()

    def release(self, *names: str) -> None:
        for name in names:
            loc = self.locate(name)
            if loc is not None and loc.sheet not in self._sheets:
                self._grids.pop(loc.sheet, None)   # 注文's 370,000 rows of cells, once the job has its frame

    def _formula_free(self, part: str) -> bool:
        """Whether the part as on disk holds no formula element, scanned 4 MB at a time (remembered; while reads are
        shared, for the run of jobs)."""
        key = self._part_key(part) if _SHARING else None
        if key in _FORMULA_FREE:
            self._no_formulas.add(part)
        if part not in self._no_formulas:
            tail = b""
            with self._pkg.zip.open(part) as f:
                while chunk := f.read(4 << 20):
                    if _has_formula(tail + chunk):
                        return False
                    tail = chunk[-64:]      # a tag cut between two chunks is found whole
            self._no_formulas.add(part)
            if key:
                _FORMULA_FREE.add(key)
        return True

    def _formulas_of(self, part: str) -> list[str]:
        """The formulas of the part as on disk that refer to cells (remembered; see _after_value_changes)."""
        refs = self._refs.get(part)
        if refs is None:
            refs = self._refs[part] = [] if self._formula_free(part) else _formula_refs(self._bytes_of(part))
        return refs

    def _while_waiting(self, pending) -> None:
        """While a sheet is read in the background (注文, the last to arrive), the other sheets are scanned for
        formulas, one at a time until it arrives: a save needs to know whether any could depend on what the job
        writes (most hold none), and the core would be idle. A part that cannot be read is left to the save."""
        for s in self._wb_sheets:
            part = s["part"]
            if pending.done():
                return
            if part and part not in self._refs and part not in self._scanned_aside and part in self._pkg.infos:
                try:
                    if self._formula_free(part):
                        self._refs[part] = []
                except Exception:
                    return

    def _read_in_background(self, sheet: str) -> list[list]:
        part = self._sheet_part(sheet)
        if part and self._pkg.has(part):
            self._formula_free(part)    # zlib lets go of Python's lock too
        cal = pc.CalamineWorkbook.from_filelike(io.BytesIO(self._bytes))
        try:
            return _parsed(cal, sheet)
        finally:
            cal.close()

    def _grid(self, sheet: str) -> list[list]:
        sh = self._sheets.get(sheet)
        return sh.cur if sh is not None else self._cal_grid(sheet)

    @contextmanager
    def _reading(self, sheet: str):
        """A torn or malformed part surfaces when it is read: a clear message, never a traceback."""
        try:
            yield
        except XlcrmError:
            raise
        except Exception:
            raise BadFile("book_damaged", name=self.path.name, sheet=sheet) from None

    def table_names(self) -> list[str]:
        return [t.name for t in self._table_defs()]

    def sheet_names(self) -> list[str]:
        return [s["name"] for s in self._wb_sheets]

    def _locate(self, name: str) -> TableLoc | None:
        folded = name.lower()
        on_sheet = []
        for t in self._table_defs():
            loc = t.loc()
            if t.name.lower() == folded:
                return loc
            if t.sheet == name:
                on_sheet.append(loc)
        if name not in self.sheet_names() or self._sheet_part(name) is None:
            return None
        return _pick_table(name, on_sheet) or _locate_in_grid(name, name, self._grid(name))

    def _values(self, loc: TableLoc) -> list[list]:
        n = len(loc.headers)
        if loc.sheet not in self._sheets:
            self._check_formulas(loc)
        grid = self._grid(loc.sheet)
        c0 = loc.first_col - 1
        rows = grid[loc.header_row:loc.header_row + loc.rows]
        if c0 == 0 and loc.sheet not in self._sheets and len(rows) == loc.rows and all(len(r) == n for r in rows):
            return rows     # a table as wide as its sheet (注文) not written: its rows as read, not copied
        out = []
        for r in rows:
            row = r[c0:c0 + n]
            out.append(row + [None] * (n - len(row)) if len(row) < n else row)
        out += [[None] * n for _ in range(loc.rows - len(out))]
        return out

    def _check_formulas(self, loc: TableLoc) -> None:
        """A formula cell with no cached value (written by a tool that does not calculate) would read as blank:
        name it instead, with what to do."""
        if loc.sheet in self._checked:
            return
        self._checked.add(loc.sheet)
        part = self._sheet_part(loc.sheet)
        if not part or not self._pkg.has(part):
            return
        if loc.sheet in self._pending:      # its check is done beside the reading (which raises its own errors)
            import concurrent.futures
            concurrent.futures.wait([self._pending[loc.sheet]])
        if self._formula_free(part):    # most input sheets hold no formula at all: one fast scan of the bytes
            self._refs[part] = []       # (nor any that could depend on what a job writes)
            return
        data = self._pkg.read(part)
        hits = [m.start() for m in re.finditer(rb"<(?:\w+:)?f[ >/]", data)]
        root = re.search(rb"<(\w+:)?worksheet\b", data)
        p = (root.group(1) or b"") if root else b""
        q = re.escape(p)
        cell = re.compile(rb"<" + q + rb"c\b([^>]*?)>(.*?)</" + q + rb"c>", re.S)
        starts = [m.start() for m in re.finditer(rb"<" + q + rb"c\b", data)]
        seen = set()
        for h in hits:
            i = bisect.bisect_right(starts, h) - 1
            if i < 0 or i in seen:
                continue
            seen.add(i)
            m = cell.match(data, starts[i])
            if m is None:
                continue
            inner = m.group(2)
            if re.search(rb"<" + q + rb"v>[^<]", inner) or b't="str"' in m.group(1):
                continue    # a result is stored (an empty one counts only for a text formula: t="str")
            ref = re.search(rb'\br="([A-Z]+)(\d+)"', m.group(1))
            if not ref:
                continue
            r, c = int(ref.group(2)), col_number(ref.group(1).decode())
            if loc.header_row < r <= loc.header_row + loc.rows and loc.first_col <= c < loc.first_col + len(
                    loc.headers):
                raise BadInput([Problem(loc.sheet, r, str(loc.headers[c - loc.first_col]), "formula_without_value",
                                        cell=f"{ref.group(1).decode()}{r}")])

    # --- writing cells ----------------------------------------------------------------------------------------
    def _touch(self, sheet: str) -> _Sheet:
        self._touched.add(sheet)
        sh = self._sheets.get(sheet)
        if sh is None:
            part = self._sheet_part(sheet)
            if part is None:
                raise BadInput([Problem(sheet, None, sheet, "missing_table", table=sheet)])
            warm = self._warming.pop(sheet, None)
            with self._reading(sheet):
                grid = self._cal_grid(sheet) if sheet in self._cal.sheet_names else []
                text = self._pkg.read(part)     # bytes: see SheetXml
                ready = warm.result() if warm is not None else None
                if ready is not None and ready[0] is grid:      # made ready in the background (prefetch)
                    _grid, cur, rows = ready
                else:
                    cur, rows = None, None
            self._grids.pop(sheet, None)        # from now on the sheet's state is the one place it is read from
            sh = self._sheets[sheet] = _Sheet(sheet, part, text, grid, cur, rows)
        return sh

    def _put(self, sheet, row, col, rows, text_cols=frozenset(), date_cols=frozenset(), formula_cols=frozenset()):
        sh = self._touch(sheet)
        merged = _merged_ranges(sh)
        width = max(map(len, rows), default=0)
        sh.written.update(range(col, col + width))
        if not merged and not formula_cols and not sh.formulas:   # the common case, kept lean: 100k rows
            cur = sh.cur
            last = row + len(rows) - 1
            while len(cur) < last:
                cur.append([])
            if width == 1 and min(map(len, rows)) == 1:     # one column (update_columns): one cell a row
                c = col - 1
                for line, (v,) in zip(cur[row - 1:last], rows):
                    if len(line) <= c:
                        line.extend([None] * (c + 1 - len(line)))
                    line[c] = v
            else:
                for i, values in enumerate(rows):
                    line = cur[row + i - 1]
                    end = col - 1 + len(values)
                    if len(line) < end:
                        line.extend([None] * (end - len(line)))
                    line[col - 1:end] = values
            sh.dirty.update(range(row, last + 1))
            rows_iter = ()
        else:
            rows_iter = enumerate(rows)
        for i, values in rows_iter:
            r = row + i
            line = sh.row(r)
            end = col - 1 + len(values)
            if len(line) < end:
                line.extend([None] * (end - len(line)))
            line[col - 1:end] = values
            sh.dirty.add(r)
            for j in formula_cols:
                v = values[j] if j < len(values) else None
                key = (r, col + j)
                if i > 0 or len(rows) == 1:
                    if isinstance(v, str) and v.startswith("="):
                        sh.formulas[key] = v[1:]
                        line[col - 1 + j] = _cached(v)
                        continue
                sh.formulas.pop(key, None)
            if sh.formulas:
                for j in range(len(values)):
                    if j not in formula_cols:
                        sh.formulas.pop((r, col + j), None)
            if merged:
                for j, v in enumerate(values):
                    if v is not None and _in_merge(merged, r, col + j):
                        raise BadInput([Problem(sheet, r, str(rows[0][j]) if len(rows) > 1 else "", "merged_cell",
                                                cell=f"{col_letter(col + j)}{r}")])
        if len(rows) > 1:
            for j in range(len(rows[0])):
                c = col + j
                sh.body_top[c] = row + 1
                if j in text_cols:
                    sh.fmt.setdefault(c, []).append((row + 1, row + len(rows) - 1, {"text": True}))

    def _inherit_look(self, sheet, body_top, rows, cols):
        sh = self._touch(sheet)
        for c in range(cols[0], cols[1] + 1):
            sh.body_top[c] = body_top       # new cells take the base format of the cell above (see _render_sheet)

    def _put_column(self, sheet, row, col, values):
        sh = self._touch(sheet)
        merged = _merged_ranges(sh)
        sh.written.add(col)
        for i, v in enumerate(values):
            r = row + i
            if merged and v is not None and _in_merge(merged, r, col):
                raise BadInput([Problem(sheet, r, "", "merged_cell", cell=f"{col_letter(col)}{r}")])
            line = sh.row(r)
            if len(line) < col:
                line.extend([None] * (col - len(line)))
            line[col - 1] = v
            sh.formulas.pop((r, col), None)
            sh.dirty.add(r)
        if row > 1:         # cells added below a table's rows take the look of the row above
            sh.body_top.setdefault(col, row)

    def _formulas(self, sheet, r0, c0, r1, c1):
        """{(row, col): "=formula"} of the block's formula cells as on disk (a shared formula's other cells give
        their master's text, or "=" when the text lives elsewhere)."""
        sh = self._sheets.get(sheet)
        text = sh.text if sh is not None else (self._pkg.read(self._sheet_part(sheet)) if
                                               self._sheet_part(sheet) else None)
        out = {(r, c): "=" + f for (r, c), f in (sh.formulas.items() if sh else ())
               if r0 <= r <= r1 and c0 <= c <= c1}
        if not text or not _has_formula(text):
            return out
        xml = SheetXml(text)
        q = re.escape(xml.p)
        nums = xml.rows()[0]
        lo, hi = bisect.bisect_left(nums, r0), bisect.bisect_right(nums, r1)
        for r in nums[lo:hi]:
            row = xml.row_text(r)
            if f"<{xml.p}f" not in row:
                continue
            for c, s0, e0, _a in cells_of(row, xml.p):
                if c0 <= c <= c1 and (r, c) not in out:
                    m = re.search(rf"<{q}f\b[^>]*?(?:/>|>(.*?)</{q}f>)", row[s0:e0], re.S)
                    if m:
                        out[(r, c)] = "=" + unescape(m.group(1) or "")
        return out

    def _put_formula(self, sheet, row, col, formula):
        """Nothing to do: a cell written again with the value it showed keeps its formula and cached value as they
        are on disk (see `_render_sheet`)."""

    def _clear(self, sheet, row, col, nrows, ncols):
        sh = self._touch(sheet)
        sh.written.update(range(col, col + ncols))
        sh.cleared.append((row, col, row + nrows - 1, col + ncols - 1))
        sh.dirty.update(range(row, min(row + nrows, len(sh.cur) + 1)))
        blank = [None] * ncols
        for r in range(row, row + nrows):
            if r > len(sh.cur):
                break
            line = sh.cur[r - 1]
            if len(line) >= col:
                end = min(len(line), col - 1 + ncols)
                line[col - 1:end] = blank[:end - col + 1]
                sh.dirty.add(r)
        if sh.formulas:
            for key in [k for k in sh.formulas if row <= k[0] < row + nrows and col <= k[1] < col + ncols]:
                del sh.formulas[key]

    def _first_filled(self, sheet, r0, c0, r1, c1):
        grid = self._grid(sheet)
        for r in range(r0, min(r1, len(grid)) + 1):
            line = grid[r - 1]
            for c in range(c0, min(c1, len(line)) + 1):
                if line[c - 1] not in (None, ""):
                    return r, c
        return None

    def _ensure_sheet(self, sheet, hidden=False):
        if sheet in self.sheet_names():
            return False
        taken = {s["part"] for s in self._wb_sheets}
        n = 1
        while f"xl/worksheets/sheet{n}.xml" in taken or self._pkg.has(f"xl/worksheets/sheet{n}.xml"):
            n += 1
        part = f"xl/worksheets/sheet{n}.xml"
        self._wb_sheets.append({"name": sheet, "part": part, "attrs": {}, "new": True})
        self._touched.add(sheet)
        sh = self._sheets[sheet] = _Sheet(sheet, part, None, [])
        sh.new = True
        sh.hidden = hidden
        return True

    def reset_sheet(self, sheet):
        if self._ensure_sheet(sheet):
            return
        sh = self._touch(sheet)
        sh.reset = True
        sh.text = None
        sh.orig = []
        sh.cur = []
        sh.dirty.clear()
        sh.formulas.clear()
        sh.cleared.clear()
        for attr in ("fmt", "body_top", "widths", "heights"):
            getattr(sh, attr).clear()
        sh.validations, sh.highlights, sh.charts, sh.pictures = [], [], [], []
        sh.page = sh.freeze = sh.breaks = None
        sh.guessed.clear()
        sh.original = self._pkg.read(sh.part) if self._pkg.has(sh.part) else None  # what "unchanged" compares with
        if self._tables is not None:
            self._tables = [t for t in self._tables if t.sheet != sheet]
        for key in [k for k in self._names if k[0] == sheet]:
            del self._names[key]

    # --- tables -----------------------------------------------------------------------------------------------
    def _define_table(self, loc: TableLoc, new: bool) -> None:
        ref = (f"{col_letter(loc.first_col)}{loc.header_row}:"
               f"{col_letter(loc.first_col + len(loc.headers) - 1)}{loc.header_row + max(loc.rows, 1)}")
        headers = [str(h) for h in loc.headers]
        existing = next((t for t in self._table_defs() if t.name.lower() == loc.name.lower()), None)
        if existing is not None:
            existing.update(ref, headers)
            return
        sh = self._touch(loc.sheet)
        names = [h.strip().lower() for h in headers if h.strip()]
        if len(names) != len(headers) or len(set(names)) != len(names) or any(
                _overlaps(m, ref) for m in _merged_ranges(sh, raw=True)):
            return  # staff's plain range stays a plain range: Excel would 'repair' (delete) such a table
        taken = {t.part for t in self._tables}
        n = 1
        while f"xl/tables/table{n}.xml" in taken or self._pkg.has(f"xl/tables/table{n}.xml"):
            n += 1
        part = f"xl/tables/table{n}.xml"
        tid = max([t.id for t in self._tables] + [0]) + 1
        name = _table_name(loc.name)
        cols = "".join(f'<tableColumn id="{i}" name="{escape(_escape_x(h))}"/>' for i, h in enumerate(headers, 1))
        text = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<table xmlns="{MAIN_NS}" id="{tid}" name="{escape(name)}" displayName="{escape(name)}" '
                f'ref="{ref}"><autoFilter ref="{ref}"/><tableColumns count="{len(headers)}">{cols}</tableColumns>'
                '<tableStyleInfo name="TableStyleMedium2" showFirstColumn="0" showLastColumn="0" '
                'showRowStripes="1" showColumnStripes="0"/></table>')
        t = _Table(loc.sheet, part, text)
        t.orig = None
        self._tables.append(t)
        if new and loc.header_row == 1 and loc.first_col == 1:
            sh.freeze = "A2"
            for i, h in enumerate(headers):
                c = loc.first_col + i
                values = [h] + [sh.cur[r - 1][c - 1] if r <= len(sh.cur) and c <= len(sh.cur[r - 1]) else None
                                for r in range(loc.header_row + 1, loc.header_row + 1 + min(loc.rows, 200))]
                width = max((_text_width(v) for v in values if v is not None), default=8)
                if c not in sh.widths:
                    sh.widths[c] = (min(max(width + 2, 8), 60), False)
                    sh.guessed.add(c)

    # --- formatting (report sheets and the columns a job owns) --------------------------------------------------
    def capabilities(self):
        return CAPABILITIES

    def _volatile(self, sheet, row, col):
        self._touch(sheet).volatile.add((row, col))

    def _style(self, sheet: str, rng: str, change: dict) -> None:
        sh = self._touch(sheet)
        (c0, r0), (c1, r1) = _range_ends(rng)
        for c in range(c0, c1 + 1):
            sh.fmt.setdefault(c, []).append((r0, r1, change))
        sh.dirty.update(range(r0, r1 + 1))

    def set_number_formats(self, sheet, formats):
        for rng, fmt in formats.items():
            self._style(sheet, rng, {"num_fmt": fmt})

    def set_font(self, sheet, cells, *, bold=False, size=None, color=None):
        for rng in cells:
            self._style(sheet, rng, {"font": (bool(bold), size, color)})

    def centre(self, sheet, ranges):
        for rng in ranges:
            self._style(sheet, rng, {"halign": "center"})

    def fill(self, sheet, rng, color, *, border=None):
        self._style(sheet, rng, {"fill": color, "border": border})

    def set_widths(self, sheet, widths, *, at_least=False):
        sh = self._touch(sheet)
        for col, w in widths.items():
            c = col_number(col)
            prev = None if c in sh.guessed else sh.widths.get(c)
            sh.guessed.discard(c)
            sh.widths[c] = (max(prev[0], w), prev[1]) if at_least and prev else (w, at_least)

    def set_row_heights(self, sheet, heights):
        sh = self._touch(sheet)
        sh.heights.update(heights)
        sh.dirty.update(heights)

    def add_list_validation(self, sheet, rng, options, *, replace=True):
        formula = '"' + ",".join(map(str, options)) + '"'
        self._touch(sheet).validations.append((rng, formula, replace))

    def add_formula_highlight(self, sheet, rng, formula, fill, *, match=()):
        self._touch(sheet).highlights.append(("expression", rng, formula, fill, tuple(match)))

    def add_color_scale(self, sheet, rng, *, low="FFFFFF", high="2E75B6"):
        self._touch(sheet).highlights.append(("colorScale", rng, low, high, ()))

    def add_chart(self, sheet, chart):
        sh = self._touch(sheet)
        if sh.text is not None and not sh.reset and b"<drawing" in sh.text:
            return False     # staff's own drawing on the sheet: never rewritten
        sh.charts.append(chart)
        return True

    def add_picture(self, sheet, anchor, png, *, name, width_cm, height_cm):
        sh = self._touch(sheet)
        if sh.text is not None and not sh.reset and b"<drawing" in sh.text:
            return False
        sh.pictures.append((anchor, png, width_cm, height_cm))
        return True

    def page_setup(self, sheet, *, landscape=True, fit_width=True, title_rows=None, paper=None, print_area=None):
        sh = self._touch(sheet)
        sh.page = {"landscape": landscape, "fit_width": fit_width, "paper": paper}
        quoted = "'" + sheet.replace("'", "''") + "'"
        if title_rows:
            self._names[(sheet, "_xlnm.Print_Titles")] = f"{quoted}!${title_rows[0]}:${title_rows[1]}"
        if print_area:
            (c0, r0), (c1, r1) = _range_ends(print_area)
            self._names[(sheet, "_xlnm.Print_Area")] = \
                f"{quoted}!${col_letter(c0)}${r0}:${col_letter(c1)}${r1}"

    def page_breaks(self, sheet, rows):
        self._touch(sheet).breaks = sorted({int(r) for r in rows if int(r) > 1})

    # --- saving -----------------------------------------------------------------------------------------------
    def save(self, *, last: bool = False) -> Path | None:
        """Write the changes: the new package to a temp file, checked, the old file backed up, an atomic replace.

        Returns the backup's path, or None when nothing would change (then nothing is written, not even the
        journal). Whatever fails — disk full, a read-only folder, a kill — the book on disk is the old one or the
        new one, and no half-written temp file or backup is left behind. `last`: the job is done with the book
        (a command's one job), which is closed after writing instead of read afresh.
        """
        if not self._sheets and not self._journal_rows and not self._tables_changed():
            return None
        if self.read_only:
            raise RuntimeError("a book opened read-only is never saved")
        self._grids, self._pending, self._warming = {}, {}, {}     # what is not written is not needed to save
        self._render()
        if not self._pkg.changed():
            self._journal_rows, self._undo_ops = [], []
            return None
        self._touched = set()
        self._flush_journal()
        self._render(again=True)
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
            # the backup is copied (and synced to disk) while the new package is written: both are done before the
            # replace, in the time of the longer
            import concurrent.futures
            had_dir = self.backup_dir().is_dir()
            pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="xlcrm-backup")
            copying = pool.submit(self._backup, mode)
            pool.shutdown(wait=False)
            try:
                _create_private(tmp)  # never readable by others while it holds customer data
                with open(tmp, "wb") as out:
                    self._pkg.write(out)
                pc.CalamineWorkbook.from_path(str(tmp)).close()  # it must open before it replaces anything
                os.chmod(tmp, mode)
                _fsync(tmp)
                backup = copying.result()
                os.replace(tmp, self.path)
                _fsync_dir(self.path.parent)
            except BaseException as e:
                tmp.unlink(missing_ok=True)
                if backup is None:
                    concurrent.futures.wait([copying])
                    backup = None if copying.exception() else copying.result()
                if backup is not None and self.path.exists() and fingerprint(self.path) == self._fingerprint:
                    backup.unlink(missing_ok=True)  # the replace did not happen: this copy backs up nothing new
                    if not had_dir:
                        try:
                            backup.parent.rmdir()   # nor the folder made for it
                        except OSError:
                            pass
                if isinstance(e, OSError):
                    raise _write_error(e, self.path) from None
                raise
        if _SHARING:
            self._carry()
        # from here on the book is the file just written, read afresh (the parts rendered for it let go first: a
        # 100,000-row sheet's bytes are not held twice)
        self._pkg = self._rendered = None
        if last:
            self.close()
            self._sheets = {}
            return backup
        self._bytes = self.path.read_bytes()
        self._fingerprint = hashlib.sha256(self._bytes).hexdigest()
        self._cal.close()
        self._cal = pc.CalamineWorkbook.from_filelike(io.BytesIO(self._bytes), load_tables=True)
        self._pkg = Package(self._bytes)
        self._read_workbook()
        self._sheets, self._tables, self._names = {}, None, {}
        self._grids, self._refs, self._pending, self._warming, self._no_formulas = {}, {}, {}, {}, set()
        return backup

    def _carry(self) -> None:
        """While reads are shared, the cells of each large sheet just written that a job of the run had read (顧客,
        the フォローリスト) are what the next job reads of it, as calamine would read them from the new file (numbers
        as floats, a day as a date): 顧客 is not parsed again after every job of the demo. A sheet with a value
        whose reading back is not certain (a formula, a number in a cell formatted as a date, a time of day finer
        than a second) is left to calamine."""
        import zipfile
        with zipfile.ZipFile(self.path) as z:
            infos = {i.filename: i for i in z.infolist()}
        path = str(self.path)
        for sh in self._sheets.values():
            info = infos.get(sh.part)
            if (not any(k[:2] == (path, sh.part) for k in _SHARED)    # a sheet no job of the run read: not kept
                    or info is None or len(sh.cur) <= SHARE_ROWS or sh.formulas or sh.cleared or sh.reset
                    or sh.dated_numbers):
                continue
            grid = _as_read(sh)
            if grid is not None:
                key = (path, sh.part, info.CRC, info.file_size, info.compress_size)
                _share(key, grid)
                if sh.part in self._no_formulas:    # nor does the job write any (sh.formulas): still none
                    _FORMULA_FREE.add(key)

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
            self._cal = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _tables_changed(self) -> bool:
        return any(t.text != t.orig for t in self._tables or [])

    def _render(self, again: bool = False) -> None:
        """Every part this session changes, into the package (from a clean slate: rendering twice gives the same
        parts). `again`: after the journal was written — a sheet not touched since the last render (顧客, 100,000
        rows) is not rendered a second time: its parts are put back as they came out then."""
        pkg = self._pkg
        pkg.new, pkg.removed = {}, set()
        self._gone: set[str] = set()      # parts removed: their content types go unless written again
        has_styles = bool(self._styles_part) and pkg.has(self._styles_part)
        if again:
            styles = self._last_styles    # the styles the kept sheets' cells point at
        else:
            styles = self._last_styles = Styles(pkg.text(self._styles_part) if has_styles else MINIMAL_STYLES)
            self._rendered = {}
        wb = pkg.text(self._wb_part)
        wb_rels = pkg.rels(self._wb_part)
        values_changed, new_formulas = set(), False
        for s in self._wb_sheets:
            if s.get("new"):
                rid = wb_rels.add(T_SHEET, posixpath.relpath(s["part"], posixpath.dirname(self._wb_part)))
                wb = _add_sheet(wb, s["name"], rid, self._sheets[s["name"]].hidden)
                pkg.set_override(s["part"], CT_SHEET)
        for sh in self._sheets.values():
            kept = self._rendered.get(sh.name) if again and sh.name not in self._touched else None
            if kept is not None:
                changed_cells, uncached, parts = kept
                for part, data in parts.items():
                    pkg.put(part, data)
            else:
                before = dict(pkg.new), set(pkg.removed), set(self._gone)
                text, changed_cells, uncached = self._render_stamped(sh, styles)
                if sh.text is None or text != sh.text:
                    pkg.put(sh.part, text)
                own = {sh.part, rels_path(sh.part)}
                parts = {k: v for k, v in pkg.new.items() if before[0].get(k) is not v}
                # only a sheet whose render wrote nothing but its own part and rels can be put back as it was
                simple = (set(parts) <= own and pkg.removed == before[1] and self._gone == before[2]
                          and all(k in pkg.new for k in before[0]))
                self._rendered[sh.name] = (changed_cells, uncached, parts) if simple else None
            if changed_cells:
                values_changed.add(sh.name)
            new_formulas |= uncached
        for t in self._tables or []:
            if t.orig is None:
                pkg.set_override(t.part, CT_TABLE)
            if t.text != t.orig:
                pkg.put(t.part, t.text)
        pkg.drop_stale_overrides(self._gone)
        if styles.changed:
            if not has_styles:     # a book written without a styles part (it is optional) gets one
                self._styles_part = self._styles_part or "xl/styles.xml"
                wb_rels.add(T_STYLES, posixpath.relpath(self._styles_part, posixpath.dirname(self._wb_part)))
                pkg.set_override(self._styles_part, CT_STYLES)
            pkg.put(self._styles_part, styles.text)
        wb = self._defined_names(wb)
        if values_changed or new_formulas:
            wb = self._after_value_changes(wb, wb_rels, values_changed, new_formulas)
        pkg.put(self._wb_part, wb)
        pkg.put_rels(self._wb_part, wb_rels)

    def _render_stamped(self, sh: _Sheet, styles: Styles) -> tuple[str, bool, bool]:
        """A report whose only change is its refresh time keeps the old time: the part stays as it was."""
        original = getattr(sh, "original", None)
        if sh.volatile and original is not None:
            old = {}
            for r, c in sh.volatile:
                line = sh.row(r)
                old[(r, c)] = line[c - 1] if c <= len(line) else None
            prior = self._prior_values(original, sh.volatile)
            if prior:
                for (r, c), v in prior.items():
                    sh.row(r)[c - 1] = v
                state = (dict(self._pkg.new), set(self._pkg.removed), styles.text,
                         {k: list(v) for k, v in styles._lists.items()}, styles.changed, set(self._gone))
                text, _changed, uncached = self._render_sheet(sh, styles)
                if text == original:
                    return text, False, uncached
                self._pkg.new, self._pkg.removed, styles.text, styles._lists, styles.changed, self._gone = state
                for (r, c), v in old.items():
                    sh.row(r)[c - 1] = v
        return self._render_sheet(sh, styles)

    def _prior_values(self, text: str, cells) -> dict:
        """The stamps' values in the sheet as it was on disk (inline or shared text), or {} if one is missing."""
        xml = SheetXml(text)
        out = {}
        for r, c in cells:
            row = xml.row_text(r)
            hit = next(((s, e) for cc, s, e, _a in cells_of(row, xml.p) if cc == c), None) if row else None
            if hit is None:
                return {}
            t = re.findall(r"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t>", row[hit[0]:hit[1]], re.S)
            if not t:
                return {}
            out[(r, c)] = unescape("".join(t))
        return out

    def _render_sheet(self, sh: _Sheet, styles: Styles) -> tuple[str, bool, bool]:
        xml = SheetXml(sh.text if sh.text is not None else SKELETON.encode(), rows=sh.rows if sh.text is not None else None)
        p = xml.p
        changed_any = False
        style_cache: dict = {}
        date_s: dict = {}
        # the base format of each cell rendered in the row before (rows are rendered in order: a row's cells take
        # after the row just above it, when that row was rendered)
        prev_r, row_s = 0, {}
        written = sorted(sh.written)
        fmt_at = _FormatsByRow(sh.fmt)
        formulas_in: dict[int, list[int]] = {}
        for fr, fc in sh.formulas:
            formulas_in.setdefault(fr, []).append(fc)
        n_orig, n_cur, text_on_disk = len(sh.orig), len(sh.cur), sh.text is not None
        formula_at, body_top, date1904 = sh.formulas.get, sh.body_top, self._date1904
        never, col_styles = 1 << 30, {}     # <cols> is not changed before the rows are done
        unchanged_rows: set = set()
        drawn_rows: set = set()
        above_s: dict[int, dict[int, str]] = {}

        def style_above(r: int, c: int, from_col: int) -> int | None:
            """The format of the cell above (r - 1, c) as that row stands, or None: the row's cells from `from_col`
            read once for all the new cells of row r."""
            tags = above_s.get(r - 1)
            if tags is None:
                above = xml.row_text(r - 1)
                tags = above_s[r - 1] = {cc: a for cc, _s, _e, a in cells_of(
                    above, p, tail_start(above, r - 1, from_col, p))} if above else {}
            hit = tags.get(c)
            return int(attrs(hit).get("s", 0) or 0) if hit else None
        # rows that may take the lean path: a part on disk (as bytes), no formulas, heights or blanked blocks; below
        # the top of every column written or formatted (their new cells take after the row above, not the header)
        lean = LEAN_ROWS and xml.raw and not sh.formulas and not sh.heights and not sh.cleared
        top = max((body_top.get(c, 0) for c in {*written, *sh.fmt}), default=0)
        first_col = min({*written, *sh.fmt}, default=0)
        letters = {c: letter(c) for c in {*written, *sh.fmt}}
        lean_r = 0
        # rows below every row on disk (a table written afresh: 重複候補's 250,000 pairs) take the lean path too,
        # whole: their cells are all new
        below = xml.last_row() if LEAN_ROWS and xml.raw else None
        misses = 0
        order, done = sorted(sh.dirty), 0       # done: the rows up to it were rendered by the lean path
        for k, r in enumerate(order):
            if r <= done:
                continue
            cur = sh.cur[r - 1] if r <= n_cur else []
            orig = sh.orig[r - 1] if r <= n_orig else []
            n_c, n_o = len(cur), len(orig)
            fresh = below is not None and r > below and r > top and r not in formulas_in and r not in sh.heights
            if fresh or lean and r > top:
                # a few thousand rows at a time: their cells' text is held
                plain = 4096 if fresh else xml.rows_left_of(r, first_col, 4096)
                if not plain:
                    misses += 1     # rows that hold cells in these columns already (a job run again): after a
                    lean = misses < 256 and lean    # few hundred, the rest are not looked at for the lean path
                else:
                    misses = 0
                if plain:
                    # the common case of a job adding its columns at the right of a table on disk (RFM's eleven
                    # columns on 100,000 rows of 顧客): the row's cells are all left of them (none was read there),
                    # so the new cells go before </row> as they are. This row and the like rows right below it are
                    # rendered column by column, as the general path below would render them one by one
                    changes = fmt_at(r)
                    run = [r]
                    for r2 in order[k + 1:k + plain]:
                        if r2 != run[-1] + 1 or fmt_at(r2) is not changes or fresh and (
                                r2 in formulas_in or r2 in sh.heights):
                            break
                        run.append(r2)
                    done = run[-1]
                    # the row above holds no cell right of the table but those in row_s when it was rendered by
                    # this path, or when its bytes say so: its cells need not be read
                    if prev_r == r - 1:
                        prev_s, plain_above = row_s, lean_r == r - 1
                    else:
                        prev_s, plain_above = {}, xml.rows_left_of(r - 1, first_col, 1) == 1
                    curs = [sh.cur[r2 - 1] if r2 <= n_cur else [] for r2 in run]
                    texts, bases = [], []
                    for c in sorted({*written, *changes}):
                        inherit = text_on_disk and r - 1 >= body_top.get(c, never)
                        b = prev_s.get(c) if inherit else None
                        if b is None and inherit and not plain_above and r - 1 not in drawn_rows:
                            b = style_above(r, c, first_col)
                        col_base = col_styles.get(c)
                        if col_base is None:
                            col_base = col_styles[c] = xml.col_style(c)
                        must, change = c in changes, changes.get(c, _NO_CHANGE)
                        vals = [row[c - 1] if c <= len(row) else None for row in curs]
                        base0 = b if b is not None else col_base

                        def style(base, v, _ck=change.key, _ch=change):
                            tv = type(v)
                            kind = ("text" if tv is str else _NUMBER if tv is int or tv is float else
                                    "" if tv in _PLAIN else _kind(v))
                            st = style_cache.get((base, kind, _ck))
                            if st is None:
                                st = self._cell_style(styles, base, kind, _ch, style_cache, date_s)
                            return st
                        col_texts, col_bases, any_cell = _lean_column(
                            letters[c], run, vals, must, base0, col_base, inherit, style, p, date1904)
                        if c in written and (any(v is not None for v in vals) if fresh else any_cell):
                            changed_any = True      # a value where none was read
                        texts.append(col_texts)
                        bases.append((c, col_bases))
                    for i, cells in enumerate(zip(*texts)):
                        if not fresh:
                            if any(cells):
                                xml.append_cells(run[i], "".join(filter(None, cells)).encode("utf-8"))
                        elif any(cb[i] is not None for _c, cb in bases):    # a row drawn, as the general path
                            drawn_rows.add(run[i])
                            if any(cells):
                                xml.set_row(run[i], f'<{p}row r="{run[i]}">' + "".join(filter(None, cells))
                                            + f"</{p}row>")
                    # the last row with any cell of these columns is the one the row below takes after
                    lit = [i for i in range(len(run)) if any(cb[i] is not None for _c, cb in bases)]
                    if lit:
                        i = lit[-1]
                        prev_r = lean_r = run[i]
                        row_s = {c: cb[i] for c, cb in bases if cb[i] is not None}
                    continue
            changed = set()     # only columns written can differ from what was read
            if cur != orig:
                for c in written:
                    a = cur[c - 1] if c <= n_c else None
                    b = orig[c - 1] if c <= n_o else None
                    if a is not b and not _same(a, b):
                        changed.add(c)
            changes = fmt_at(r)
            cols = changed.union(changes) if changes else set(changed)
            if r in formulas_in:
                cols.update(formulas_in[r])
            height = sh.heights.get(r)
            blanked = [(c0, c1) for r0, c0, r1, c1 in sh.cleared if r0 <= r <= r1] if sh.cleared else ()
            if not cols and height is None and not blanked:
                continue
            row_text = xml.row_text(r)
            start = tail_start(row_text, r, min(cols), p) if row_text and cols and not blanked else None
            same_key = None
            if start is not None and not changed and height is None and r not in formulas_in:
                # a row whose values are as read and whose cells look like a row already found unchanged (same
                # formats asked, same cell styles, same kinds of value) is unchanged too: a refresh that changes
                # nothing over 100,000 rows does not weigh every cell of every row
                tags = _start_tags(p).findall(row_text, start)
                if len(tags) == row_text.count(f"<{p}c ", start):     # every cell's reference read first
                    same_key = (id(changes), tuple(tags),
                                tuple(_value_kind(cur[c - 1] if c <= n_c else None) for c in sorted(cols)))
                    if same_key in unchanged_rows:
                        continue
            parsed = cells_of(row_text, p, start) if row_text else []
            existing = {c: (s0, e0, a) for c, s0, e0, a in parsed}
            if blanked:
                for c, (s0, e0, _a) in existing.items():
                    # a formula whose result was never stored reads as blank: blanking it must still remove it
                    if (c not in cols and any(c0 <= c <= c1 for c0, c1 in blanked)
                            and (cur[c - 1] if c <= n_c else None) is None and "<" in row_text[s0:e0][2:]):
                        cols.add(c)
            if not cols and height is None:
                continue
            edits = {}
            prev_s = row_s if prev_r == r - 1 else {}
            prev_r, row_s = r, {}
            for c in sorted(cols):
                v = cur[c - 1] if c <= n_c else None
                old = existing.get(c)
                if old:
                    m = _S_ATTR.search(old[2])
                    base = int(m.group(1)) if m else 0
                else:
                    # a row added to a table on disk looks like the rows above it (its base format, not the job's
                    # changes); a sheet drawn afresh has no rows to take after
                    inherit = text_on_disk and r - 1 >= body_top.get(c, never)
                    base = prev_s.get(c) if inherit else None
                    if base is None and inherit and r - 1 not in drawn_rows:
                        base = style_above(r, c, min(cols))
                    if base is None and text_on_disk and body_top.get(c) == r + 1:
                        # a column added to a table's header row looks like the header cell at its left
                        left = [cc for cc in existing if cc < c]
                        base = int(attrs(existing[max(left)][2]).get("s", 0) or 0) if left else None
                    if base is None:
                        base = col_styles.get(c)
                        if base is None:
                            base = col_styles[c] = xml.col_style(c)
                row_s[c] = base
                tv = type(v)
                kind = ("text" if tv is str else _NUMBER if tv is int or tv is float else
                        "" if tv in _PLAIN else _kind(v))
                change = changes.get(c, _NO_CHANGE)
                s = style_cache.get((base, kind, change.key))
                if s is None:
                    s = self._cell_style(styles, base, kind, change, style_cache, date_s)
                f = formula_at((r, c)) if formulas_in else None
                value_changed = c in changed
                if old and not value_changed and f is None and s == base and not (
                        v is None and "<" in row_text[old[0]:old[1]][2:]):
                    continue
                if value_changed or f is not None:
                    changed_any = True
                ref = f"{letter(c)}{r}"
                if f is None and not (old and "ph=" in old[2]):
                    edits[c] = _written_cell(ref, s, v, p, date1904)
                else:
                    edits[c] = _cell_xml(ref, s, v, f, p, date1904,
                                         attrs(old[2]) if old and "ph=" in old[2] else _NO_ATTRS)
            if edits or height is not None:
                xml.set_row(r, patch_row(row_text, r, edits, p, height, existing=parsed, start=start))
                if row_text is None:
                    drawn_rows.add(r)   # a new row: its only cells are the ones just drawn (and remembered)
            elif same_key is not None:
                unchanged_rows.add(same_key)
        if sh.widths:
            widths = {}
            for c, (w, at_least) in sh.widths.items():
                old = xml.col_width(c)
                widths[c] = max(old or 0, w) if at_least else w
            xml.set_col_widths(widths)
        if sh.freeze:
            xml.freeze(sh.freeze, int(re.sub(r"\D", "", sh.freeze)))
        extent = max(len(sh.cur), xml.max_row())
        width = max((len(r) for r in sh.cur), default=0)
        if extent and width:
            if sh.text is None:     # readers that trust it (openpyxl's read-only mode) size rows by it
                xml.set("dimension", f'<{p}dimension ref="A1:{col_letter(width)}{extent}"/>')
            else:
                xml.set_dimension(f"A1:{col_letter(width)}{extent}")
        self._render_validations(sh, xml)
        self._render_highlights(sh, xml, styles)
        rels = self._pkg.rels(sh.part)
        if sh.reset:
            self._drop_owned(sh, rels)
        if sh.page:
            self._render_page(sh, xml)
        if sh.breaks is not None:     # replaced, never piled up: a break after row r-1 starts a page at row r
            brks = "".join(f'<{p}brk id="{r - 1}" max="16383" man="1"/>' for r in sh.breaks)
            xml.set("rowBreaks", f'<{p}rowBreaks count="{len(sh.breaks)}" manualBreakCount="{len(sh.breaks)}">'
                                 f"{brks}</{p}rowBreaks>" if sh.breaks else None)
        if sh.charts or sh.pictures:
            rid = self._render_drawing(sh, rels)
            xml.set("drawing", f'<{p}drawing r:id="{rid}"/>')
        tables = [t for t in self._tables or [] if t.sheet == sh.name]
        have = {resolve(sh.part, r["Target"]) for r in rels.by_type(T_TABLE)}
        for t in tables:
            if t.part not in have:
                rels.add(T_TABLE, posixpath.relpath(t.part, posixpath.dirname(sh.part)))
        if tables and any(t.part not in have for t in tables):
            parts = "".join(f'<{p}tablePart r:id="{r["Id"]}"/>' for r in rels.by_type(T_TABLE))
            xml.set("tableParts", f'<{p}tableParts count="{len(rels.by_type(T_TABLE))}">{parts}</{p}tableParts>')
        if rels.items() or self._pkg.has(rels_path(sh.part)):
            self._pkg.put_rels(sh.part, rels)
        text = xml.render()
        sh.dated_numbers = any(k[1] == _NUMBER and styles.is_date(st) for k, st in style_cache.items())
        uncached = any(r > len(sh.cur) or c > len(sh.cur[r - 1]) or sh.cur[r - 1][c - 1] is None
                       for r, c in sh.formulas)
        return text, changed_any, uncached

    def _cell_style(self, styles: Styles, base: int, kind: str, change: _Change, cache: dict, date_s: dict) -> int:
        """The format of a cell of base format `base` holding a value of `kind` (_kind) with `change` asked."""
        want = {k: v2 for k, v2 in change.items() if k != "text" and v2 not in (None, False)}
        if change.get("text") and kind == "text":
            want.setdefault("num_fmt", TEXT_FORMAT)
        if kind in ("date", "datetime") and "num_fmt" not in want:
            if base not in date_s:
                date_s[base] = styles.is_date(base)
            if not date_s[base]:
                want["num_fmt"] = DATETIME_FORMAT if kind == "datetime" else DATE_FORMAT
        s = styles.derive(base, **want) if want else base
        cache[(base, kind, change.key)] = s
        return s

    def _render_validations(self, sh: _Sheet, xml: SheetXml) -> None:
        if not sh.validations:
            return
        p = xml.p
        old = xml.get("dataValidations")
        items = []
        head = f"<{p}dataValidations>"
        if old:
            q = re.escape(p)
            items = [m.group(0) for m in re.finditer(
                rf"<{q}dataValidation\b(?:[^>]*?/>|[^>]*?>.*?</{q}dataValidation>)", old, re.S)]
            head = old.split(">", 1)[0] + ">"
            if head.endswith("/>"):
                head = head[:-2].rstrip() + ">"
        for rng, formula, replace in sh.validations:
            if replace:
                items = [x for x in items if _formula1(x) != formula]
            items.append(f'<{p}dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1" '
                         f'sqref="{rng}"><{p}formula1>{escape(formula, quote=False)}</{p}formula1>'
                         f"</{p}dataValidation>")
        xml.set("dataValidations", set_attr(head, "count", str(len(items))) + "".join(items)
                + f"</{p}dataValidations>")

    def _render_highlights(self, sh: _Sheet, xml: SheetXml, styles: Styles) -> None:
        if not sh.highlights:
            return
        p = xml.p
        blocks = [(b, [unescape(x) for x in re.findall(r"<(?:\w+:)?formula>(.*?)</(?:\w+:)?formula>", b, re.S)])
                  for b in xml.get_all("conditionalFormatting")]
        for kind, rng, *rest in sh.highlights:      # in order: a later rule replaces an earlier one of the same kind
            if kind == "expression":
                formula, match = rest[0], rest[2]
                blocks = [(b, fs) for b, fs in blocks
                          if not any(f == formula or (match and all(m in f for m in match)) for f in fs)]
            blocks.append(((kind, rng, *rest), [rest[0]] if kind == "expression" else []))
        prio = max([int(x) for b, _fs in blocks if isinstance(b, str) for x in re.findall(r'priority="(\d+)"', b)]
                   + [0])
        out = []
        for b, _fs in blocks:
            if isinstance(b, str):
                out.append(b)
                continue
            kind, rng, *rest = b
            prio += 1
            if kind == "expression":
                dxf = styles.dxf_fill(rest[1])
                out.append(f'<{p}conditionalFormatting sqref="{rng}"><{p}cfRule type="expression" dxfId="{dxf}" '
                           f'priority="{prio}"><{p}formula>{escape(rest[0], quote=False)}</{p}formula></{p}cfRule>'
                           f"</{p}conditionalFormatting>")
            else:
                out.append(f'<{p}conditionalFormatting sqref="{rng}"><{p}cfRule type="colorScale" '
                           f'priority="{prio}"><{p}colorScale><{p}cfvo type="num" val="0"/><{p}cfvo type="max"/>'
                           f'<{p}color rgb="FF{rest[0]}"/><{p}color rgb="FF{rest[1]}"/></{p}colorScale></{p}cfRule>'
                           f"</{p}conditionalFormatting>")
        xml.set_all("conditionalFormatting", out)

    def _render_page(self, sh: _Sheet, xml: SheetXml) -> None:
        p = xml.p
        page = sh.page
        old = xml.get("pageSetup")
        tag, rest = (old.split(">", 1)[0] + ">", old.split(">", 1)[1]) if old else (f"<{p}pageSetup/>", "")
        if page["landscape"]:
            tag = set_attr(tag, "orientation", "landscape")
        if page["paper"] == "A4":
            tag = set_attr(tag, "paperSize", "9")
        if page["fit_width"]:
            tag = set_attr(set_attr(tag, "fitToWidth", "1"), "fitToHeight", "0")
            xml.set_fit_to_page()
        new = tag + rest
        if new != old:
            if xml.get("pageMargins") is None:
                xml.set("pageMargins", f'<{p}pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
                                       f'header="0.3" footer="0.3"/>')
            xml.set("pageSetup", new)

    def _drop_owned(self, sh: _Sheet, rels: Rels) -> None:
        """A blanked sheet's drawing (with its charts and pictures), tables and comments go with its cells."""
        for r in rels.items():
            if r.get("TargetMode") == "External":
                continue
            part = resolve(sh.part, r["Target"])
            if r["Type"] in (T_DRAWING, T_TABLE) or r["Type"].endswith(("/comments", "/vmlDrawing")):
                if r["Type"] == T_DRAWING and self._pkg.has(part):
                    for rr in self._pkg.rels(part).items():
                        if rr.get("TargetMode") != "External":
                            child = resolve(part, rr["Target"])
                            if self._shared(child, part):
                                continue
                            self._pkg.remove(child)
                            self._pkg.remove(rels_path(child))
                            self._gone.add(child)
                    self._pkg.remove(rels_path(part))
                self._pkg.remove(part)
                self._gone.add(part)
                rels.remove(r["Id"])

    def _shared(self, part: str, owner: str) -> bool:
        """Whether a part (a picture) is also used by another drawing than `owner`."""
        for name in self._pkg.names():
            if name.endswith(".rels") and "/drawings/_rels/" in name and name != rels_path(owner):
                for r in Rels(self._pkg.text(name)).items():
                    if resolve(name.replace("_rels/", "").removesuffix(".rels"), r.get("Target", "")) == part:
                        return True
        return False

    def _render_drawing(self, sh: _Sheet, rels: Rels) -> str:
        from openpyxl.chart import BarChart, LineChart, Reference, Series
        from openpyxl.drawing.image import Image
        from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
        from openpyxl.xml.functions import tostring
        drawing = SpreadsheetDrawing()
        quoted = "'" + sh.name.replace("'", "''") + "'"
        for chart in sh.charts:
            ch = _chart(chart, quoted, BarChart, LineChart, Reference, Series)
            part = self._pkg.free_name("xl/charts/chart{}.xml")
            ch._id = int(re.search(r"(\d+)\.xml$", part).group(1))
            self._pkg.put(part, tostring(ch._write()))
            self._pkg.set_override(part, CT_CHART)
            drawing.charts.append(ch)
        for anchor, png, w, h in sh.pictures:
            img = Image(io.BytesIO(png))
            px = 96 / 2.54                       # openpyxl sizes images in pixels at 96 dpi
            img.width, img.height = round(w * px), round(h * px)
            img.anchor = anchor
            part = self._pkg.free_name("xl/media/image{}.png")
            img._id = int(re.search(r"(\d+)\.png$", part).group(1))
            self._pkg.put(part, png)
            self._pkg.ensure_default("png", "image/png")
            drawing.images.append(img)
        part = self._pkg.free_name("xl/drawings/drawing{}.xml")
        self._pkg.put(part, tostring(drawing._write()))
        self._pkg.put(rels_path(part), tostring(drawing._write_rels()))
        self._pkg.set_override(part, CT_DRAWING)
        return rels.add(T_DRAWING, posixpath.relpath(part, posixpath.dirname(sh.part)))

    def _defined_names(self, wb: str) -> str:
        if not self._names:
            return wb
        p = re.search(r"<(\w+:)?workbook\b", wb).group(1) or ""
        index = {s["name"]: i for i, s in enumerate(self._wb_sheets)}
        for (sheet, name), value in sorted(self._names.items()):
            i = index[sheet]
            pat = re.compile(r'<(?:\w+:)?definedName\b[^>]*name="' + re.escape(name) + r'"[^>]*localSheetId="'
                             + str(i) + r'"[^>]*>.*?</(?:\w+:)?definedName>|<(?:\w+:)?definedName\b[^>]*localSheetId="'
                             + str(i) + r'"[^>]*name="' + re.escape(name) + r'"[^>]*>.*?</(?:\w+:)?definedName>',
                             re.S)
            el = f'<{p}definedName name="{name}" localSheetId="{i}">{escape(value, quote=False)}</{p}definedName>'
            found = pat.search(wb)
            if found:       # replaced where it stands: the names keep their order, an unchanged one its bytes
                if unescape(re.sub(r"<[^>]+>", "", found.group(0))) != value:
                    wb = wb[:found.start()] + (el if value is not None else "") + wb[found.end():]
                continue
            if value is None:
                continue
            m = re.search(r"</(?:\w+:)?definedNames>", wb)
            if m:
                wb = wb[:m.start()] + el + wb[m.start():]
            else:
                wb = _insert_before(wb, ("calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr",
                                         "smartTagTypes", "webPublishing", "fileRecoveryPr", "webPublishObjects",
                                         "extLst"), f"<{p}definedNames>{el}</{p}definedNames>")
        return wb

    def _after_value_changes(self, wb: str, wb_rels: Rels, changed: set[str], new_formulas: bool) -> str:
        """Formulas that depend on what was written are recalculated when the book is next opened (and the job says
        so); a calculation chain that may no longer match is dropped (Excel rebuilds it)."""
        depends = new_formulas
        for s in self._wb_sheets:
            if depends or not s["part"] or s.get("new") or not self._pkg.has(s["part"]):
                continue
            refs = self._formulas_of(s["part"])
            if (s["name"] in changed and refs) or any(_refers_to(refs, n) for n in changed if n != s["name"]):
                depends = True
        if not depends:
            return wb
        for r in wb_rels.by_type(T_CALCCHAIN):
            part = resolve(self._wb_part, r["Target"])
            self._pkg.remove(part)
            self._pkg.set_override(part, None)
            wb_rels.remove(r["Id"])
        m = re.search(r"<(?:\w+:)?calcPr\b[^>]*?/?>", wb)
        if m:
            tag = set_attr(m.group(0), "fullCalcOnLoad", "1")
            wb = wb[:m.start()] + tag + wb[m.end():]
        else:
            p = re.search(r"<(\w+:)?workbook\b", wb).group(1) or ""
            wb = _insert_before(wb, ("oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
                                     "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"),
                                f'<{p}calcPr fullCalcOnLoad="1"/>')
        if ("recalc_on_open", {}) not in self.notices:
            self.notices.append(("recalc_on_open", {}))
        return wb

    def _bytes_of(self, part: str) -> bytes:
        return self._pkg.zip.read(part) if part in self._pkg.infos else b""


def _create_private(path: Path) -> None:
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    os.close(fd)


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


_PLAIN = frozenset({int, float, bool, type(None)})
_NUMBER = "n"   # the kind of a number (asks nothing of its format, like a blank; told apart: see _Sheet.dated_numbers)


_START_TAGS: dict[str, re.Pattern] = {}


def _start_tags(p: str) -> re.Pattern:
    """Each cell's column and attributes but its row, and whether it is empty (<c r="B7" s="3"/>)."""
    pat = _START_TAGS.get(p)
    if pat is None:
        pat = _START_TAGS[p] = re.compile(rf'<{re.escape(p)}c r="([A-Z]+)\d+"([^>]*)>')
    return pat


def _value_kind(v):
    """What, of a value, decides how its cell is written when the value is as it was read."""
    t = type(v)
    return t if t is str or t in _PLAIN else _kind(v)


def _kind(v) -> str:
    """What a value asks of its cell's number format."""
    return ("datetime" if isinstance(v, dt.datetime) and (v.hour or v.minute) else
            "date" if isinstance(v, (dt.date, dt.datetime)) else "text" if isinstance(v, str) else "")


_S_ATTR = re.compile(r'''\ss\s*=\s*["'](\d+)["']''')
_NO_ATTRS: dict = {}


class _Change(dict):
    """The style changes a job asked for on one cell, with a key to cache the style they give."""

    def __init__(self, *args):
        super().__init__(*args)
        self.key = tuple(sorted(self.items()))


_NO_CHANGE = _Change()


class _FormatsByRow:
    """{column: changes} asked for on row r. Jobs format whole column runs, so rows fall into a few classes (the
    spans covering them): each class is worked out once, not once per row of a 100,000-row table."""

    def __init__(self, fmt: dict[int, list]):
        self.fmt = fmt
        self.spans = sorted({(r0, r1) for runs in fmt.values() for r0, r1, _ch in runs})
        self.classes: dict[tuple, dict[int, _Change]] = {}
        # rows between two consecutive span ends are in the same spans: one lookup per stretch, not per row
        self.bounds = sorted({r0 for r0, _r1 in self.spans} | {r1 + 1 for _r0, r1 in self.spans})
        self.by_stretch: dict[int, dict[int, _Change]] = {}

    def __call__(self, r: int) -> dict[int, _Change]:
        i = bisect.bisect_right(self.bounds, r)
        hit = self.by_stretch.get(i)
        if hit is None:
            hit = self.by_stretch[i] = self._for_row(r)
        return hit

    def _for_row(self, r: int) -> dict[int, _Change]:
        key = tuple(i for i, (r0, r1) in enumerate(self.spans) if r0 <= r <= r1)
        hit = self.classes.get(key)
        if hit is None:
            hit = {}
            for c, runs in self.fmt.items():
                inside = [ch for r0, r1, ch in runs if r0 <= r <= r1]
                if inside:
                    merged = {}
                    for ch in inside:
                        merged.update(ch)
                    hit[c] = _Change(merged)
            self.classes[key] = hit
        return hit


def _cell_xml(ref: str, s: int, v, f: str | None, p: str, date1904: bool, old: dict) -> str | None:
    """One cell's XML: the value typed as Excel types it, text inline (sharedStrings is never rewritten)."""
    head = f'<{p}c r="{ref}"' + (f' s="{s}"' if s else "") + (f' ph="{old["ph"]}"' if old.get("ph") else "")
    if f is not None:
        fx = f"<{p}f>{_xml_text(f)}</{p}f>"
        if v is None:
            return f"{head}>{fx}</{p}c>"
        if isinstance(v, str):
            return f'{head} t="str">{fx}<{p}v>{_xml_text(v)}</{p}v></{p}c>'
        return f"{head}>{fx}<{p}v>{_number(v, date1904)}</{p}v></{p}c>"
    if v is None:
        return f"{head}/>" if s else None
    if isinstance(v, bool):
        return f'{head} t="b"><{p}v>{int(v)}</{p}v></{p}c>'
    return _value_xml(head, v, p, date1904)


def _written_cell(ref: str, s: int, v, p: str, date1904: bool) -> str | None:
    """A cell a job writes without a formula, as _cell_xml writes it — the common kinds (whole numbers, text, days)
    without its checks: 100,000 rows of them."""
    tv = type(v)
    head = f'<{p}c r="{ref}" s="{s}"' if s else f'<{p}c r="{ref}"'
    if tv is int or tv is float and v.is_integer() and -1e15 < v < 1e15:
        return f"{head}><{p}v>{int(v)}</{p}v></{p}c>"
    if v is None:
        return f"{head}/>" if s else None
    if tv is str or tv is float:
        return _value_xml(head, v, p, date1904)
    if tv is dt.datetime and v.tzinfo is None and not (v.hour or v.minute or v.second or v.microsecond):
        return f"{head}><{p}v>{(v - _EPOCH[date1904]).days}</{p}v></{p}c>"
    return _cell_xml(ref, s, v, None, p, date1904, _NO_ATTRS)


def _lean_column(L: str, run: list[int], vals: list, must: bool, base0: int, col_base: int, inherit: bool,
                 style, p: str, date1904: bool) -> tuple[list, list, bool]:
    """The new cells of one column over a run of rows of the lean path, as the general path writes them one by one:
    (their texts, their base formats, None where a row gets no cell; whether any row gets one). A row's cell takes
    after the cell above (base0, then itself) until a row without one; below that, the column's format."""
    vt, ct, epoch = f"><{p}v>", f"</{p}v></{p}c>", _EPOCH[date1904]
    if must and vals:
        # every row gets a cell of the same base format: a column of whole numbers or of days (and blanks) is
        # written in one pass (RFM's scores, sums and dates over 100,000 rows)
        kinds = set(map(type, vals))
        numbers = kinds <= {int, type(None)} or kinds <= {float, type(None)} and _whole_floats(vals) or (
            kinds <= {int, float, type(None)} and all(
                v is None or type(v) is int or v.is_integer() and -1e15 < v < 1e15 for v in vals))
        days = not numbers and kinds <= {dt.datetime, type(None)} and all(
            v is None or v.tzinfo is None and not (v.hour or v.minute or v.second or v.microsecond) for v in vals)
        if numbers or days:
            value = next(v for v in vals if v is not None) if kinds != {type(None)} else None
            st = style(base0, value)
            head = f'" s="{st}"' if st else '"'
            st0 = style(base0, None)
            blank = f'" s="{st0}"/>' if st0 else None
            pre = f'<{p}c r="{L}'
            if numbers and float not in kinds:
                texts = [f"{pre}{r2}{head}{vt}{v}{ct}" if v is not None else
                         blank and f"{pre}{r2}{blank}" for r2, v in zip(run, vals)]
            elif numbers:
                texts = [f"{pre}{r2}{head}{vt}{int(v)}{ct}" if v is not None else
                         blank and f"{pre}{r2}{blank}" for r2, v in zip(run, vals)]
            else:
                texts = [f"{pre}{r2}{head}{vt}{(v - epoch).days}{ct}" if v is not None else
                         blank and f"{pre}{r2}{blank}" for r2, v in zip(run, vals)]
            return texts, [base0] * len(vals), True
    texts, bases = [], []
    base, made = base0, {}      # made: (base, kind) -> the rest of the start tag after the reference
    for r2, v in zip(run, vals):
        tv = type(v)
        if v is None and not must:
            texts.append(None)
            bases.append(None)
            base = col_base
            continue
        bases.append(base)
        # the kinds a job writes by the hundred thousand, as _written_cell writes them: whole numbers, days, text
        if tv is int or tv is float and v.is_integer() and -1e15 < v < 1e15:
            kind = ""
        elif tv is dt.datetime and v.tzinfo is None and not (v.hour or v.minute or v.second or v.microsecond):
            kind = "date"
        elif tv is str:
            kind = "text"
        else:
            texts.append(_written_cell(f"{L}{r2}", style(base, v), v, p, date1904))
            if not inherit:
                base = col_base
            continue
        head = made.get((base, kind))
        if head is None:
            st = style(base, v)
            head = made[(base, kind)] = f'" s="{st}"' if st else '"'
        if kind == "":
            texts.append(f'<{p}c r="{L}{r2}{head}{vt}{int(v)}{ct}')
        elif kind == "date":
            texts.append(f'<{p}c r="{L}{r2}{head}{vt}{(v - epoch).days}{ct}')
        elif v == v.strip() and "\n" not in v and not _SPECIAL.search(v):     # text as it is (_value_xml's)
            texts.append(f'<{p}c r="{L}{r2}{head} t="inlineStr"><{p}is><{p}t>{v}</{p}t></{p}is></{p}c>')
        else:
            texts.append(_value_xml(f'<{p}c r="{L}{r2}{head}', v, p, date1904))
        if not inherit:
            base = col_base
    return texts, bases, bool(texts) and any(b is not None for b in bases)


def _whole_floats(vals: list) -> bool:
    """Whether the floats of `vals` (and blanks) are all whole numbers written without an exponent, in C loops."""
    xs = [v for v in vals if v is not None]
    return not xs or all(map(float.is_integer, xs)) and -1e15 < min(xs) and max(xs) < 1e15


def _value_xml(head: str, v, p: str, date1904: bool) -> str:
    """A cell of text or a number (no formula), from its start tag's text `head`."""
    if isinstance(v, str):
        space = ' xml:space="preserve"' if v != v.strip() or "\n" in v else ""
        return f'{head} t="inlineStr"><{p}is><{p}t{space}>{_xml_text(v)}</{p}t></{p}is></{p}c>'
    num = _number(v, date1904)
    if num is None:
        return f'{head} t="inlineStr"><{p}is><{p}t>{_xml_text(str(v))}</{p}t></{p}is></{p}c>'
    return f"{head}><{p}v>{num}</{p}v></{p}c>"


_EPOCH = {False: dt.datetime(1899, 12, 30), True: dt.datetime(1904, 1, 1)}


def _number(v, date1904: bool) -> str | None:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.replace(tzinfo=None)
        d = v - _EPOCH[date1904]
        return _number(d.days + d.seconds / 86400 + d.microseconds / 86400e6, date1904)
    if isinstance(v, dt.date):
        return str((dt.datetime(v.year, v.month, v.day) - _EPOCH[date1904]).days)
    if isinstance(v, dt.time):
        return _number((v.hour * 3600 + v.minute * 60 + v.second) / 86400, date1904)
    if isinstance(v, dt.timedelta):
        return _number(v.total_seconds() / 86400, date1904)
    return None


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]")


_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")


def _xml_text(s: str) -> str:
    """Text for an XML element: escaped, control characters (and CR) as Excel stores them (_x000B_), a literal
    '_x0041_' kept literal (_x005F_) — calamine and Excel read all of it back as the original text."""
    if not _SPECIAL.search(s):      # most text needs none of it
        return s
    s = re.sub(r"_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1", s)
    s = _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", s)
    return escape(s, quote=False)


def _same(a, b) -> bool:
    """Whether a value written equals the value read (so the cell, formula and all, is left as it was)."""
    if a is None:
        return b is None
    if b is None:
        return False
    ta, tb = type(a), type(b)
    if ta is tb and ta is not dt.datetime:
        return a == b
    if ta is bool or tb is bool:
        return False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dt.date) and isinstance(b, dt.date):
        da = a if isinstance(a, dt.datetime) else dt.datetime(a.year, a.month, a.day)
        db = b if isinstance(b, dt.datetime) else dt.datetime(b.year, b.month, b.day)
        return abs((da.replace(tzinfo=None) - db.replace(tzinfo=None)).total_seconds()) < 0.001
    return False


def _cached(formula: str):
    """The value a formula we write shows, where we know it (HYPERLINK's label), else None."""
    m = re.match(r'^=HYPERLINK\(\s*"(?:[^"]|"")*"\s*,\s*"((?:[^"]|"")*)"\s*\)$', formula, re.I)
    return m.group(1).replace('""', '"') if m else None


def _merged_ranges(sh: _Sheet, raw: bool = False):
    if not hasattr(sh, "_merged"):
        refs = SheetXml(sh.text).merged() if sh.text else []
        sh._merged = refs, [(*_range_ends(r)[0][::-1], *_range_ends(r)[1][::-1]) for r in refs if r]
    return sh._merged[0] if raw else sh._merged[1]


def _in_merge(merged, r: int, c: int) -> bool:
    return any(r0 <= r <= r1 and c0 <= c <= c1 and (r, c) != (r0, c0) for r0, c0, r1, c1 in merged)


def _overlaps(a: str, b: str) -> bool:
    (ac0, ar0), (ac1, ar1) = _range_ends(a)
    (bc0, br0), (bc1, br1) = _range_ends(b)
    return ac0 <= bc1 and bc0 <= ac1 and ar0 <= br1 and br0 <= ar1


def _formula1(validation: str) -> str | None:
    m = re.search(r"<(?:\w+:)?formula1>(.*?)</(?:\w+:)?formula1>", validation, re.S)
    return unescape(m.group(1)) if m else None


def _text_width(v) -> int:
    """Characters a value shows as: a date as 2024/04/01 (with its time when it has one), full-width as two."""
    if isinstance(v, dt.datetime):
        return 16 if v.hour or v.minute else 10
    if isinstance(v, dt.date):
        return 10
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(v))


def _escape_x(s: str) -> str:
    return s.replace("\r", "_x000d_").replace("\n", "_x000a_")


def _unescape_x(s: str) -> str:
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), s)


_F_TEXT = re.compile(rb"<(?:\w+:)?f\b[^>/]*>([^<]*)</(?:\w+:)?f>")   # a formula's text holds no "<" (escaped)


_F_PLAIN, _F_COLON = re.compile(rb"<f[\s>/]"), re.compile(rb":f[\s>/]")   # literal prefixes: fast scans


# Large sheets' cells as read, kept between books while `sharing_reads()` is on: the demo runs job after job on one
# book, and a sheet no job writes (注文, 370,000 rows) is parsed once, not once a job. Off for a single job, whose
# memory they would weigh on. Never changed in place by anyone who reads them.
_SHARED: dict[tuple, list] = {}
_FRAMES: dict[tuple, object] = {}     # conformed tables (DataFrames), likewise (FileBook.read)
_FORMULA_FREE: set[tuple] = set()     # parts found to hold no formula, likewise (FileBook._formula_free)
_SHARING = False


SHARE_ROWS = 20_000     # a sheet this long is worth sharing (a 1,000-customer book's are parsed in milliseconds)


def _share(key: tuple, grid: list) -> None:
    """Keep `grid` as the cells of the part `key` names: the last five used, of this book only (the demo's jobs
    read four large sheets between them, 顧客, 注文, 対応履歴 and フォローリスト, and write a few more)."""
    for k in [k for k in _SHARED if k[0] != key[0] or k[1] == key[1]] + list(_SHARED)[:-4]:
        _SHARED.pop(k, None)
    _SHARED[key] = grid


_DAY = dt.time()
_EARLIEST = dt.datetime(1900, 3, 1)     # before it Excel's serials count a 29 February 1900


def _as_read(sh: _Sheet) -> list[list] | None:
    """The sheet's cells as calamine reads them back once written (see FileBook._carry), or None when one is not
    certain. Only the cells written can differ from the ones read (which came from calamine); the rows are made as
    wide as the widest, as calamine gives them."""
    grid = sh.cur
    cols = sorted(sh.written)
    for r in sh.dirty:
        row = grid[r - 1] if r <= len(grid) else None
        if not row:
            continue
        n = len(row)
        for c in cols:
            if c > n:
                break
            v = row[c - 1]
            t = type(v)
            if v is None or t is str and v or t is bool:
                continue
            if t is int or t is float:
                row[c - 1] = float(v)
            elif t is str:
                row[c - 1] = None
            elif isinstance(v, dt.datetime):     # pandas' Timestamp too
                if v.tzinfo is not None or v.microsecond or v < _EARLIEST:
                    return None
                row[c - 1] = v.date() if v.time() == _DAY else dt.datetime(*v.timetuple()[:6])
            elif t is dt.date:
                if v < _EARLIEST.date():
                    return None
            else:
                return None
    width = max(map(len, grid), default=0)
    for row in grid:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    return grid


@contextmanager
def sharing_reads():
    global _SHARING
    _SHARING = True
    try:
        yield
    finally:
        _SHARING = False
        _SHARED.clear()
        _FRAMES.clear()
        _FORMULA_FREE.clear()


def _has_formula(data: bytes) -> bool:
    """Whether a worksheet part holds a formula element (<f>; not <formula1> of a validation). Literal-prefix scans
    first: a 170 MB 注文 sheet is scanned in a fraction of a second."""
    if _F_PLAIN.search(data):
        return True
    return any(re.search(rb"<\w+$", data[max(0, m.start() - 16):m.start()]) for m in _F_COLON.finditer(data))


def _formula_refs(sheet_xml: bytes) -> list[str]:
    """The part's formulas that refer to cells, string literals taken out (HYPERLINK("#'顧客'!A5","C1") refers to
    nothing: its target is text)."""
    out = []
    for f in _F_TEXT.findall(sheet_xml):
        bare = re.sub(r'"(?:[^"]|"")*"', '""', unescape(f.decode("utf-8")))
        if re.search(r"\$?[A-Z]{1,3}\$?\d+|\$?[A-Z]{1,3}:\$?[A-Z]{1,3}|\d+:\d+|!|[^\W\d]\w*(?![\w(])", bare):
            out.append(bare)
    return out


def _refers_to(formulas: list[str], sheet: str) -> bool:
    quoted = "'" + sheet.replace("'", "''") + "'!"
    return any(quoted in f or f"{sheet}!" in f for f in formulas)


def _insert_before(wb: str, later: tuple[str, ...], element: str) -> str:
    """workbook.xml with `element` put before the first of `later` present (schema order), else at the end."""
    for tag in later:
        m = re.search(rf"<(?:\w+:)?{tag}\b", wb)
        if m:
            return wb[:m.start()] + element + wb[m.start():]
    m = re.search(r"</(?:\w+:)?workbook>", wb)
    return wb[:m.start()] + element + wb[m.start():]


def _add_sheet(wb: str, name: str, rid: str, hidden) -> str:
    """workbook.xml with one more <sheet> (a fresh sheetId; hidden, or very hidden with hidden="very")."""
    root = re.search(r"<(\w+:)?workbook\b[^>]*>", wb)
    p = root.group(1) or ""
    rp = re.search(r'xmlns:(\w+)="' + re.escape(OFFICE_REL) + '"', root.group(0))
    if rp is None:
        wb = wb[:root.end() - 1] + f' xmlns:r="{OFFICE_REL}"' + wb[root.end() - 1:]
        rprefix = "r"
    else:
        rprefix = rp.group(1)
    ids = [int(x) for x in re.findall(r'<(?:\w+:)?sheet\b[^>]*\bsheetId="(\d+)"', wb)]
    state = ' state="veryHidden"' if hidden == "very" else ' state="hidden"' if hidden else ""
    el = f'<{p}sheet name="{escape(name)}" sheetId="{max(ids + [0]) + 1}"{state} {rprefix}:id="{rid}"/>'
    m = re.search(rf"</{re.escape(p)}sheets>", wb)
    return wb[:m.start()] + el + wb[m.start():]


def _chart(chart, quoted: str, BarChart, LineChart, Reference, Series):
    """An openpyxl chart object for a `report.Chart` (openpyxl only serialises it: no workbook is loaded)."""
    (vc0, vr0), (vc1, vr1) = _range_ends(chart.values)
    (cc, cr0), (_, cr1) = _range_ends(chart.categories)

    def ref(c0, r0, c1, r1):
        return Reference(range_string=f"{quoted}!${col_letter(c0)}${r0}:${col_letter(c1)}${r1}")
    bar = chart.kind == "bar"
    ch = BarChart() if bar else LineChart()
    if bar:
        ch.type, ch.gapWidth = ("bar" if chart.horizontal else "col"), chart.gap_width
        if chart.stacked:
            ch.grouping, ch.overlap = "stacked", 100
    ch.title = chart.title
    if chart.series_in_first_row:
        ch.add_data(ref(vc0, vr0, vc1, vr1), titles_from_data=True)
    else:
        for col in range(vc0, vc1 + 1):
            ch.series.append(Series(ref(col, vr0, col, vr1), title=chart.series_name or None))
    ch.set_categories(ref(cc, cr0, cc, cr1))
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
    ch.anchor = chart.anchor
    return ch
