"""One worksheet part as text, patched where a job writes and copied everywhere else.

The part is split at its `sheetData`: the rows a job writes are re-rendered, every other row is kept as the exact
text it was (formulas with their cached values, shared formulas, rich text, styles, attributes from other
programs). Elements around the cells (columns, panes, validations, conditional formats, page setup, table parts)
are replaced or inserted one by one at the place the schema gives them, leaving the rest as it was.
"""
from __future__ import annotations

import re
from bisect import bisect_left

from .package import Pieces, attrs, set_attr

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SKELETON = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{R_NS}"><sheetData/></worksheet>')
# CT_Worksheet's children, in the order the schema requires
ORDER = ["sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
         "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState", "dataConsolidate",
         "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks",
         "printOptions", "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks", "customProperties",
         "cellWatches", "ignoredErrors", "smartTags", "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF",
         "picture", "oleObjects", "controls", "webPublishItems", "tableParts", "extLst"]
_HEAD = set(ORDER[:ORDER.index("sheetData")])
_COLUMN = re.compile(rb"([A-Z]+)\d")


def _index_rows(data, start: int, end: int, p: str, prev: int, offset: int, nums: list, spans: list, *,
                whole: bool) -> tuple[int, int]:
    """Append the rows of data[start:end] — their numbers, and their (start, end) plus `offset` — to nums and
    spans; `prev`: the number of the row before. Returns where the scan stopped and the last row's number: at
    `end` when `whole`; else at the start of a row (or of a tag) that `end` cuts, to be scanned again with more."""
    raw = not isinstance(data, str)
    enc = (lambda t: t.encode("utf-8")) if raw else (lambda t: t)
    pat = re.compile(enc(rf"<{re.escape(p)}row\b([^>]*?)(/?)>"))
    r_is = re.compile(enc(r'\sr="(\d+)"'))
    close = enc(f"</{p}row>")
    pos = start
    for m in pat.finditer(data, start, end):
        a = m.group(1)
        hit = r_is.match(a)     # nearly always the first attribute
        if hit:
            r = int(hit.group(1))
        else:
            r = attrs(a.decode("utf-8") if raw else a).get("r")
            r = int(r) if r else prev + 1
        if m.group(2):
            e = m.end()
        else:
            e = data.find(close, m.end(), end)
            if e < 0:
                if whole:
                    raise ValueError("a row without its end")
                return m.start(), prev
            e += len(close)
        nums.append(r)
        spans.append((m.start() + offset, e + offset))
        prev, pos = r, e
    if whole:
        return end, prev
    cut = data.rfind(enc("<"), pos, end)
    return (cut if cut >= 0 else end), prev


def row_index(chunks) -> tuple[list[int], list[tuple[int, int]]] | None:
    """SheetXml(part).rows() from the part's bytes given a few MB at a time (never held whole: worked out while a
    larger sheet is read, a 100 MB 顧客 would add its size to the job's peak). None for a part SheetXml mends."""
    buf, off, pos, prev, p = b"", 0, 0, 0, None
    nums, spans = [], []
    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        if p is None:
            root = re.search(rb"<(\w+:)?worksheet\b", buf)
            if root is None:
                if len(buf) > 1 << 20:
                    return None
                continue
            prefix = (root.group(1) or b"").decode()
            m = re.compile(rf"<{re.escape(prefix)}sheetData\b[^>]*?(/?)>".encode()).search(buf)
            if m is None:
                if len(buf) > 16 << 20:
                    return None     # no sheetData: SheetXml mends it
                continue
            if m.group(1):
                return [], []
            p, pos = prefix, m.end()
        end = buf.find(f"</{p}sheetData>".encode(), pos)
        if end >= 0:
            _index_rows(buf, pos, end, p, prev, off, nums, spans, whole=True)
            return nums, spans
        stop, prev = _index_rows(buf, pos, len(buf), p, prev, off, nums, spans, whole=False)
        buf, off, pos = buf[stop:], off + stop, 0
    return None


def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


class SheetXml:
    """A worksheet part: head (up to and with <sheetData>), the rows, and the tail (from </sheetData>).

    Given the part's bytes, the rows stay bytes and each is decoded when it is read: as one str, a 100,000-row
    sheet holding a single character beyond the BMP would take four bytes a character. `render` then gives bytes."""

    def __init__(self, text: str | bytes, rows: tuple | None = None):
        raw = isinstance(text, bytes)
        if raw and re.search(rb"<(?:\w+:)?sheetData\b", text) is None:
            text, raw = text.decode("utf-8"), False     # to be mended below
        m = re.search(rb"<(\w+:)?worksheet\b" if raw else r"<(\w+:)?worksheet\b", text)
        p = m.group(1) if m and m.group(1) else (b"" if raw else "")
        self.p = p.decode() if raw else p
        self._raw = raw
        pat = re.compile(self._x(rf"<{re.escape(self.p)}sheetData\b[^>]*?(/?)>"))
        m = pat.search(text)
        if m is None:                       # a worksheet without sheetData is invalid, but cheap to mend
            at = self._insert_at(text, "sheetData")
            text = text[:at] + f"<{self.p}sheetData/>" + text[at:]
            m = pat.search(text)
        dec = (lambda b: b.decode("utf-8")) if raw else (lambda t: t)
        if m.group(1):
            self.head = dec(text[:m.start()]) + dec(text[m.start():m.end() - 2]).rstrip() + ">"
            self._data, self._b0, self._b1 = text[:0], 0, 0
            self.tail = f"</{self.p}sheetData>" + dec(text[m.end():])
        else:
            close = text.index(self._x(f"</{self.p}sheetData>"), m.end())
            self.head, self.tail = dec(text[:m.end()]), dec(text[close:])
            self._data, self._b0, self._b1 = text, m.end(), close   # the body is _data[_b0:_b1], not a copy
        if rows is not None and rows[1] and not (self._b0 <= rows[1][0][0] and rows[1][-1][1] <= self._b1):
            rows = None        # not this text's
        self._rows = rows      # rows() of this very text, when it was worked out before (row_index)
        self.new_rows: dict[int, str | bytes] = {}     # of the kind the body is
        self.tails: dict[int, bytes] = {}   # cells put at the end of a row on disk, before its </row> (bytes only)

    def _x(self, s: str):
        """`s` as the body's kind: bytes or str."""
        return s.encode("utf-8") if self._raw else s

    # --- rows ------------------------------------------------------------------------------------------------
    def rows(self) -> tuple[list[int], list[tuple[int, int]]]:
        """Row numbers in document order and their (start, end) in the part."""
        if self._rows is None:
            nums, spans = [], []
            _index_rows(self._data, self._b0, self._b1, self.p, 0, 0, nums, spans, whole=True)
            self._rows = (nums, spans)
        return self._rows

    def last_row(self) -> int | None:
        """The body's last row number (rows are in order) without indexing every row — rows appended below a
        200,000-row sheet need no more — or None when its row carries no number."""
        if self._rows is not None:
            return self._rows[0][-1] if self._rows[0] else 0
        data, b0 = self._data, self._b0
        tag = self._x(f"<{self.p}row")
        after = [self._x(ch) for ch in (" ", ">", "/", "\t", "\n", "\r")]
        i = data.rfind(tag, b0, self._b1)
        while i >= 0 and data[i + len(tag):i + len(tag) + 1] not in after:
            i = data.rfind(tag, b0, i)
        if i < 0:
            return 0
        m = re.compile(self._x(rf'<{re.escape(self.p)}row\b[^>]*?\sr="(\d+)"')).match(data, i, self._b1)
        return int(m.group(1)) if m else None

    def _beyond(self, r: int) -> bool:
        """Whether row r is below every row of the body (known without indexing them)."""
        if self._rows is not None:
            return False
        last = self.last_row()
        return last is not None and r > last

    def row_text(self, r: int) -> str | None:
        row = self.row_bytes(r)
        return row.decode("utf-8") if self._raw and row is not None else row

    @property
    def raw(self) -> bool:
        """Whether the part came as bytes (then `row_bytes` and `append_cells` work)."""
        return self._raw

    def row_bytes(self, r: int) -> bytes | str | None:
        """Row r as the body holds it: bytes when the part came as bytes."""
        if r in self.new_rows:
            return self.new_rows[r]
        if self._beyond(r):
            return None
        nums, spans = self.rows()
        i = bisect_left(nums, r)
        if i < len(nums) and nums[i] == r:
            s, e = spans[i]
            if r in self.tails:
                n = len(self._close)
                return self._data[s:e - n] + self.tails[r] + self._data[e - n:e]
            return self._data[s:e]
        return None

    @property
    def _close(self) -> bytes:
        return f"</{self.p}row>".encode("utf-8")

    def rows_left_of(self, r: int, col: int, limit: int) -> int:
        """How many rows from r on (r, r + 1, … at most `limit`) are on disk as they were, written `<row …>…</row>`,
        with every cell left of column `col` and the last one beginning with its reference — rows new cells can
        be put at the end of. Their bytes are looked at in place (100,000 rows of 顧客), not copied."""
        if not self._raw:
            return 0
        nums, spans = self.rows()
        i = bisect_left(nums, r)
        data, close, p = self._data, self._close, self.p.encode("utf-8")
        nc, tag, ref_tag = len(close), b"<" + p + b"c", b"<" + p + b'c r="'
        at = len(ref_tag)
        limit_letters = letter(col).encode()
        bound = (len(limit_letters), limit_letters)
        new, tails, n = self.new_rows, self.tails, 0
        while n < limit and i < len(nums) and nums[i] == r + n and r + n not in new and r + n not in tails:
            s, e = spans[i]
            if data[e - nc:e] != close:
                break
            j = data.rfind(ref_tag, s, e)
            k = data.find(tag, j + 1 if j >= 0 else s, e)
            while k >= 0 and data[k + len(tag):k + len(tag) + 1] not in b" >/":     # <color> of rich text
                k = data.find(tag, k + 1, e)
            if k >= 0:
                break       # a cell without its reference first
            if j >= 0:
                m = _COLUMN.match(data, j + at)
                if m is None or (len(m.group(1)), m.group(1)) >= bound:
                    break
            n += 1
            i += 1
        return n

    def append_cells(self, r: int, cells: bytes) -> None:
        """Put cells at the end of row r, a row written `<row …>…</row>` (a row on disk is not copied for it)."""
        if r in self.new_rows:
            row, n = self.new_rows[r], len(self._close)
            self.new_rows[r] = row[:-n] + cells + row[-n:]
        else:
            self.tails[r] = self.tails.get(r, b"") + cells

    def set_row(self, r: int, text: str | None) -> None:
        # as bytes at once when the part came as bytes: 100,000 new rows are not held twice
        self.tails.pop(r, None)
        self.new_rows[r] = (text or "").encode("utf-8") if self._raw else (text or "")

    def max_row(self) -> int:
        last = self.last_row()
        nums = [last] if last is not None else self.rows()[0]
        return max([0] + nums + [r for r, t in self.new_rows.items() if t])

    def _view(self):
        """The part's text to slice pieces of the body from: a view of the bytes (the pieces are not copies)."""
        return memoryview(self._data) if self._raw else self._data

    def _body_parts(self) -> list:
        """The body as pieces: views of the rows on disk as they were, the rows replaced whole, and the cells put
        at the end of rows on disk (before their </row>)."""
        data, b0, b1, n = self._view(), self._b0, self._b1, len(self._close)
        new, tails = self.new_rows, self.tails
        if not new and not tails:
            return [data[b0:b1]]
        if not tails and self._beyond(min(new)):      # rows appended at the end only
            return [data[b0:b1]] + [new[r] for r in sorted(new)]
        nums, spans = self.rows()
        out, last = [], b0
        have = set(nums)
        pending = sorted(r for r in new if r not in have)
        j = 0
        for r, (s, e) in zip(nums, spans):
            while j < len(pending) and pending[j] < r:
                out.append(data[last:s])
                last = s
                out.append(new[pending[j]])
                j += 1
            if r in new:
                out.append(data[last:s])
                out.append(new[r])
                last = e
            elif r in tails:
                out.append(data[last:e - n])
                out.append(tails[r])
                last = e - n
        out.append(data[last:b1])
        out.extend(new[r] for r in pending[j:])
        return out

    def render(self) -> bytes | Pieces:
        """The part as bytes; as its Pieces when it came as bytes (a 100 MB sheet is not copied once more)."""
        if 'r:id="' in self.head + self.tail:     # cells carry no r:id: the elements around them do
            m = re.search(r"<(?:\w+:)?worksheet\b[^>]*>", self.head)
            if m and "xmlns:r=" not in m.group(0):
                self.head = self.head[:m.start()] + re.sub(r"(<(?:\w+:)?worksheet\b)", rf'\1 xmlns:r="{R_NS}"',
                                                           m.group(0), count=1) + self.head[m.end():]
        if self._raw:
            return Pieces([self.head.encode("utf-8"), *self._body_parts(), self.tail.encode("utf-8")])
        return "".join([self.head, *self._body_parts(), self.tail]).encode("utf-8")

    # --- elements around the cells -----------------------------------------------------------------------------
    def _part(self, tag: str) -> str:
        return "head" if tag in _HEAD else "tail"

    def _scope(self, where: str) -> tuple[str, int]:
        """The text to search for top-level elements (the tail stops at extLst, whose content is not ours)."""
        text = getattr(self, where)
        if where == "tail":
            m = re.search(rf"<{re.escape(self.p)}extLst\b", text)
            return text, (m.start() if m else len(text))
        return text, len(text)

    def _pattern(self, tag: str):
        p = re.escape(self.p)
        return re.compile(rf"<{p}{tag}\b(?:[^>]*?/>|[^>]*?>.*?</{p}{tag}>)", re.S)

    def get_all(self, tag: str) -> list[str]:
        text, limit = self._scope(self._part(tag))
        return [m.group(0) for m in self._pattern(tag).finditer(text, 0, limit)]

    def get(self, tag: str) -> str | None:
        found = self.get_all(tag)
        return found[0] if found else None

    def set_all(self, tag: str, elements: list[str]) -> None:
        """Replace every `tag` element by `elements` (none: removed), at the place the schema gives them."""
        where = self._part(tag)
        text, limit = self._scope(where)
        matches = list(self._pattern(tag).finditer(text, 0, limit))
        if matches:
            at = matches[0].start()
            for m in reversed(matches):
                text = text[:m.start()] + text[m.end():]
        else:
            at = self._insert_at(text, tag, where)
        text = text[:at] + "".join(elements) + text[at:]
        setattr(self, where, text)

    def set(self, tag: str, element: str | None) -> None:
        self.set_all(tag, [] if element is None else [element])

    def _insert_at(self, text: str, tag: str, where: str = "head") -> int:
        p = re.escape(self.p)
        later = ORDER[ORDER.index(tag) + 1:]
        best = None
        for t in later:
            m = re.search(rf"<{p}{t}\b", text)
            if m and (best is None or m.start() < best):
                best = m.start()
        if best is not None:
            return best
        if where == "head":
            return len(text) - len(re.search(rf"<{p}sheetData\b[^>]*>$", text).group(0)) \
                if re.search(rf"<{p}sheetData\b[^>]*>$", text) else len(text)
        return text.rindex(f"</{self.p}worksheet>")

    # --- columns -----------------------------------------------------------------------------------------------
    def col_ranges(self) -> list[list]:
        """[[min, max, attrs], …] from <cols>."""
        cols = self.get("cols")
        if not cols:
            return []
        cached = getattr(self, "_cols", None)
        if cached is None or cached[0] != cols:     # asked for once per new cell: parse <cols> once
            p = re.escape(self.p)
            cached = self._cols = (cols, [[int(a["min"]), int(a["max"]), a] for a in
                                          (attrs(m.group(1)) for m in re.finditer(rf"<{p}col\b([^>]*?)/?>", cols))])
        return [[lo, hi, dict(a)] for lo, hi, a in cached[1]]

    def col_style(self, c: int) -> int:
        for lo, hi, a in self.col_ranges():
            if lo <= c <= hi:
                return int(a.get("style", 0) or 0)
        return 0

    def col_width(self, c: int) -> float | None:
        for lo, hi, a in self.col_ranges():
            if lo <= c <= hi and a.get("width"):
                return float(a["width"])
        return None

    def set_col_widths(self, widths: dict[int, float]) -> None:
        ranges = self.col_ranges()
        for c, w in sorted(widths.items()):
            hit = next((x for x in ranges if x[0] <= c <= x[1]), None)
            if hit is None:
                ranges.append([c, c, {"min": str(c), "max": str(c)}])
                hit = ranges[-1]
            else:
                lo, hi, a = hit
                ranges.remove(hit)
                if lo < c:
                    ranges.append([lo, c - 1, dict(a, max=str(c - 1))])
                if c < hi:
                    ranges.append([c + 1, hi, dict(a, min=str(c + 1))])
                hit = [c, c, dict(a, min=str(c), max=str(c))]
                ranges.append(hit)
            hit[2]["width"] = f"{w:g}"
            hit[2]["customWidth"] = "1"
        ranges.sort(key=lambda x: x[0])
        order = ["min", "max", "width", "style", "hidden", "bestFit", "customWidth", "phonetic", "outlineLevel",
                 "collapsed"]
        els = []
        for _lo, _hi, a in ranges:
            keys = [k for k in order if k in a] + [k for k in a if k not in order]
            els.append(f"<{self.p}col " + " ".join(f'{k}="{a[k]}"' for k in keys) + "/>")
        new = f"<{self.p}cols>" + "".join(els) + f"</{self.p}cols>"
        if new != self.get("cols"):
            self.set("cols", new)

    # --- small settings ---------------------------------------------------------------------------------------
    def set_dimension(self, ref: str) -> None:
        old = self.get("dimension")
        if old is not None and attrs(old).get("ref") != ref:
            self.set("dimension", f'<{self.p}dimension ref="{ref}"/>')

    def freeze(self, cell: str, row: int) -> None:
        pane = (f'<{self.p}pane ySplit="{row - 1}" topLeftCell="{cell}" activePane="bottomLeft" state="frozen"/>'
                f'<{self.p}selection pane="bottomLeft" activeCell="{cell}" sqref="{cell}"/>')
        self.set("sheetViews", f'<{self.p}sheetViews><{self.p}sheetView workbookViewId="0">{pane}'
                               f"</{self.p}sheetView></{self.p}sheetViews>")

    def set_fit_to_page(self) -> None:
        pr = self.get("sheetPr")
        p = self.p
        if pr is None:
            self.set("sheetPr", f'<{p}sheetPr><{p}pageSetUpPr fitToPage="1"/></{p}sheetPr>')
            return
        m = re.search(rf"<{re.escape(p)}pageSetUpPr\b[^>]*?/>", pr)
        if m:
            new = pr[:m.start()] + set_attr(m.group(0), "fitToPage", "1") + pr[m.end():]
        elif pr.endswith("/>"):
            new = pr[:-2].rstrip() + f'><{p}pageSetUpPr fitToPage="1"/></{p}sheetPr>'
        else:
            i = pr.rindex("</")
            new = pr[:i] + f'<{p}pageSetUpPr fitToPage="1"/>' + pr[i:]
        if new != pr:
            self.set("sheetPr", new)

    def merged(self) -> list[str]:
        mc = self.get("mergeCells") or ""
        return [attrs(m.group(1)).get("ref", "") for m in re.finditer(rf"<{re.escape(self.p)}mergeCell\b([^>]*)/>", mc)]


_CELL = {}
_R = re.compile(r'\br="([A-Z]+)')
_COLS: dict[str, int] = {}


def _col(letters: str) -> int:
    n = _COLS.get(letters)
    if n is None:
        n = _COLS[letters] = col_number(letters)
    return n


def cells_of(row: str, p: str = "", start: int | None = None) -> list[tuple[int, int, int, str]]:
    """The cells of one row's text: (column, start, end, start-tag text); from offset `start` (a cell's start)
    when given."""
    pat = _CELL.get(p)
    if pat is None:
        q = re.escape(p)
        # the reference is nearly always the first attribute: read its letters in the same match
        pat = _CELL[p] = re.compile(rf'<{q}c\b(?:\s+r="([A-Z]+)\d*")?([^>]*?)(?:/>|>.*?</{q}c>)', re.S)
    out, prev = [], 0
    for m in pat.finditer(row, row.find(">") + 1 if start is None else start):
        letters = m.group(1)
        if letters is None:
            r = _R.search(m.group(2))
            c = _col(r.group(1)) if r else prev + 1
        else:
            c = _col(letters)
        out.append((c, m.start(), m.end(), m.group(0)[:m.end(2) - m.start()]))
        prev = c
    return out


_LETTERS: dict[int, str] = {}


def letter(c: int) -> str:
    """Column number → letters (3 → "C"), remembered."""
    out = _LETTERS.get(c)
    if out is None:
        n, out = c, ""
        while n:
            n, rem = divmod(n - 1, 26)
            out = chr(65 + rem) + out
        _LETTERS[c] = out
    return out


def tail_start(row: str, r: int, c: int, p: str = "") -> int | None:
    """Where in row `r`'s text the cells from column `c` on begin — the start of cell c or of one of the three
    cells before it — or None (then the whole row must be read). A job writing its columns at the right of a
    long row (the RFM columns of 顧客) reads only those, not the forty before them."""
    for cc in range(c, max(0, c - 4), -1):
        i = row.find(f'<{p}c r="{letter(cc)}{r}"')
        if i > 0:
            return i
    return None


def patch_row(row: str | None, r: int, cells: dict[int, str | None], p: str = "",
              height: float | None = None, existing: list | None = None, start: int | None = None) -> str:
    """Row `r`'s text with `cells` (column → cell text, None to remove) put in column order (`existing`: the
    row's `cells_of`, when the caller has it; read from offset `start`: the cells before it stay as they are)."""
    if row is None:
        row = f'<{p}row r="{r}"/>'
        existing, start = [], None
    elif existing is None:
        existing = cells_of(row, p, start)
    if start is not None and height is None and "spans=" not in row[:start]:
        # the common case: the text up to `start` as it is, then the cells from there merged in column order
        keep = [(c, row[s:e]) for c, s, e, _a in existing if c not in cells]
        keep += [(c, t) for c, t in cells.items() if t]
        if keep:
            keep.sort()
            return row[:start] + "".join([t for _c, t in keep]) + f"</{p}row>"
    head_end = row.find(">") + 1
    head = row[:head_end]
    self_closing = head.endswith("/>")
    keep = [(c, row[s:e]) for c, s, e, _a in existing if c not in cells]
    keep += [(c, t) for c, t in cells.items() if t]
    merged = sorted(keep)       # columns are unique: the text never decides
    prefix = row[head_end:start] if start is not None and start > head_end else ""
    if self_closing:
        head = head[:-2].rstrip() + ">"
    cols = [c for c, _t in merged]
    if prefix:      # the row's first cell is in it (for spans)
        m = re.match(rf'\s*<{re.escape(p)}c\b[^>]*?\br="([A-Z]+)', prefix)
        cols.insert(0, _col(m.group(1)) if m else 1)
    if "spans=" in head:
        spans = f"{min(cols)}:{max(cols)}" if cols else None
        if spans is None or f'spans="{spans}"' not in head:
            head = set_attr(head, "spans", spans)
    if height is not None:
        head = set_attr(set_attr(head, "ht", f"{height:g}"), "customHeight", "1")
    if not cols and height is None and 's="' not in head and "ht=" not in head and "hidden=" not in head:
        return ""
    return head + prefix + "".join(t for _c, t in merged) + f"</{p}row>"