"""CSV in and out, as small Japanese shops meet it: UTF-8 (with or without BOM) from web tools, cp932
(Shift_JIS) from Excel on Windows and from DM / shipping software.

`read_csv` gives the raw table (every value a str, headers as in the file, index = the file's line numbers) for
`schema.conform`; `write_csv` writes a table atomically, refusing — by row and column — characters the target
encoding cannot hold instead of replacing them, and neutralising cells a spreadsheet would run as a formula.

Formula neutralisation (OWASP "CSV Injection"): a cell starting with = + - @ tab or CR gets a leading single
quote. Exempt are cells that are a plain decimal number ('-500', '+3', '1.5', '2e3'): Excel and LibreOffice read
those as numbers, never as formulas, and a refund of -3,980 yen must stay a number for the tool that reads the
file. A phone number typed '+81 90-1234-5678' is not a plain number, so it is quoted (Excel would otherwise try it
as a formula and show #NAME?). To keep export → import lossless, `read_csv` removes exactly one such quote, and
`write_csv` adds one to a cell that already starts with quotes followed by a trigger character ("'=x" → "''=x").

Writing cp932 (what DM, label and shipping tools read), a character cp932 lacks becomes its nearest cp932
counterpart and each such substitution is reported with its cell (`strict=True` refuses instead, naming the cells).
No PyPI library maps "the nearest cp932 character" (jaconv and mojimoji convert widths and kana only; Windows'
best-fit table bestfit932.txt is not packaged for Python), so the mapping is assembled, in this order, from: a
short table of the characters Japanese Windows and Shift_JIS software disagree on (the 〜/－/∥ mapping
differences, the ASCII-range ¥, dashes), the 異体字 table of `normalize` (𠮷 → 吉, 﨑 kept since cp932 has it),
NFKC (no-break space, ㍻ → 平成, compatibility forms), Python's own cp932 best-fit (〜 → ～), and 〓 (the geta mark
Japanese typesetting uses for a missing character) when nothing fits. Variation selectors are dropped: the base
character stays.

Encodings are detected by strict decodes in a fixed order (BOM → UTF-8 → cp932) rather than by a statistical
detector (chardet / charset-normalizer): only these three are supported, and a strict decode is exact where a
detector guesses. Python's cp932 codec decodes the bytes Windows leaves undefined to private-use characters; such
text is refused as well. An EUC-JP file decodes as cp932 half-width kana; its headers then match no table, so
`guess_table` returns None and the import stops there.
"""
from __future__ import annotations

import bisect
import codecs
import csv
import datetime as dt
import io
import math
import os
import re
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .messages import BadInput, Problem

ENCODINGS = {  # accepted spellings -> (Python codec, name shown to users)
    "utf-8-sig": ("utf-8-sig", "UTF-8 (BOM)"), "utf8-sig": ("utf-8-sig", "UTF-8 (BOM)"),
    "utf-8": ("utf-8", "UTF-8"), "utf8": ("utf-8", "UTF-8"),
    "cp932": ("cp932", "cp932 (Shift_JIS)"), "shift_jis": ("cp932", "cp932 (Shift_JIS)"),
    "sjis": ("cp932", "cp932 (Shift_JIS)"), "windows-31j": ("cp932", "cp932 (Shift_JIS)"),
}
_TRIGGER = "=+-@\t\r"
_FIRST = frozenset(_TRIGGER + "'")
_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_BAD_CP932 = re.compile("[\x00\x80-\x9f\ue000-\uf8ff]")  # undefined or user-defined (外字) cp932 bytes
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def column_letter(i: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the column as a spreadsheet shows it."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def decode(data: bytes, name: str) -> tuple[str, str]:
    """The text and the codec it was in: UTF-8 with BOM, UTF-8, or cp932. BadInput(csv_encoding) otherwise."""
    if not data.strip(b" \t\r\n") or data == codecs.BOM_UTF8:
        raise BadInput(key="csv_empty", name=name)
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or data[1:200:2].count(0) > 20:
        raise BadInput(key="csv_utf16", name=name)   # Excel's "Unicode text": UTF-16, a NUL in every ASCII char
    if data.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    else:
        candidates = ("utf-8", "cp932")
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:   # text with a NUL byte in it: a damaged file, or a binary one named .csv
            raise BadInput(key="csv_nul", name=name, line=text.count("\n", 0, text.index("\x00")) + 1)
        if enc == "cp932" and _BAD_CP932.search(text):
            break
        return text, enc
    if b"\x00" in data:
        raise BadInput(key="csv_binary", name=name)
    raise BadInput(key="csv_encoding", name=name)


# --- reading ------------------------------------------------------------------------------------------------------

def read_csv(path, table: str | None = None) -> pd.DataFrame:
    """The file as a raw table: values str, headers as in the file, index = the line each record starts on.

    Blank lines and rows with every field empty are skipped; short rows are padded with "". `attrs` carries
    "sheet" (the file name), "letters" (header → column letter), "encoding", and "table" (`table`, or the table
    the headers look like, or None).
    """
    path = Path(path)
    name = path.name
    text, encoding = decode(path.read_bytes(), name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records, lines = [], []
    add_record, add_line = records.append, lines.append
    last = 0
    try:
        for fields in reader:
            start, last = last + 1, reader.line_num
            if any(fields):
                add_record(fields)
                add_line(start)
    except csv.Error:
        raise BadInput([Problem(name, None, "", "csv_malformed", name=name, line=last + 1)]) from None
    if not records:
        return _frame([], [], [], name, encoding, table)
    header, body, header_line, lines = records[0], records[1:], lines[0], lines[1:]
    width = len(header)
    problems = []
    for line, fields in zip(lines, body):
        if len(fields) > width:
            extra = [i for i in range(width, len(fields)) if fields[i] != ""]
            if extra:
                problems.append(Problem(name, line, column_letter(extra[0]), "csv_extra_fields",
                                        cell=f"{column_letter(extra[0])}{line}"))
    headers = [_unquote(h) if h != "" else f"列{column_letter(i)}" for i, h in enumerate(header)]
    seen = {}
    for i, h in enumerate(headers):
        if h in seen:
            problems.append(Problem(name, header_line, h, "csv_duplicate_header",
                                    cell=f"{column_letter(i)}{header_line}", other=column_letter(seen[h])))
        seen.setdefault(h, i)
    if problems:
        raise BadInput(problems)
    for i, f in enumerate(body):
        if len(f) != width:
            body[i] = f[:width] if len(f) > width else f + [""] * (width - len(f))
    for i in _records_with_quoted_cells(text, lines):  # undo write_csv's formula neutralisation
        body[i] = [_unquote(x) for x in body[i]]
    return _frame(body, headers, lines, name, encoding, table)


def _records_with_quoted_cells(text: str, lines: list[int]) -> list[int]:
    """Indexes of the records that may hold a cell starting with an apostrophe, found by scanning the text for
    apostrophes (str.find and str.count run in C) rather than looking at every cell of a big file."""
    out, line, prev, q = set(), 1, 0, text.find("'")
    while q != -1:
        p = q - 1 if q and text[q - 1] == '"' else q  # the cell's start, inside its quotes or not
        if p == 0 or text[p - 1] in ",\r\n":
            line += text.count("\n", prev, p) + text.count("\r", prev, p) - text.count("\r\n", prev, p)
            prev = p
            rec = bisect.bisect_right(lines, line) - 1
            if rec >= 0:
                out.add(rec)
        q = text.find("'", q + 1)
    return sorted(out)


def _unquote(s: str) -> str:
    return s[1:] if _QUOTED.match(s) else s


def _frame(body, headers, lines, name, encoding, table) -> pd.DataFrame:
    arr = np.array(body, dtype=object).reshape(len(body), len(headers))
    df = pd.DataFrame(arr, columns=headers, index=pd.Index(lines, dtype="int64"), dtype=object)
    key = schema.table(table).key if table else guess_table(headers)
    df.attrs = {"sheet": name, "letters": {h: column_letter(i) for i, h in enumerate(headers)},
                "encoding": encoding, "table": key}
    return df


def closest_table(headers) -> tuple[str, list[str]]:
    """For headers that fit no table: the table that recognises most of them, and its required headers missing."""
    best = None
    for t in (schema.CUSTOMERS, schema.ORDERS, schema.CONTACTS):
        found = set(schema.header_map(headers, t).values())
        missing = [c.ja for c in t.columns if c.required and c.key not in found]
        score = (len(found & set(t.by_key)) - len(missing), -len(missing))
        if best is None or score > best[0]:
            best = (score, t.ja, missing)
    return best[1], best[2]


def guess_table(headers) -> str | None:
    """'customers', 'orders' or 'contacts': the table whose required columns are all among `headers` and which
    recognises the most of them; None when none or two tables fit equally well."""
    scores = []
    for t in (schema.CUSTOMERS, schema.ORDERS, schema.CONTACTS):
        hmap = schema.header_map(headers, t)
        found = {k for k in hmap.values() if k in t.by_key}
        if all(c.key in found for c in t.columns if c.required):
            scores.append((len(found), t.key))
    scores.sort(reverse=True)
    if not scores or len(scores) > 1 and scores[0][0] == scores[1][0]:
        return None
    return scores[0][1]


# --- writing ------------------------------------------------------------------------------------------------------

def _cell_text(v) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return ""
        return str(int(f)) if f.is_integer() and abs(f) < 1e16 else repr(f)
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.strftime("%Y-%m-%d") if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0) \
            else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _column_texts(col: pd.Series) -> list[str]:
    if pd.api.types.is_datetime64_any_dtype(col):
        day = col.dt.strftime("%Y-%m-%d")
        full = col.dt.strftime("%Y-%m-%d %H:%M:%S")
        out = day.where(col == col.dt.normalize(), full)
        return out.where(col.notna(), "").tolist()
    return [v if type(v) is str else _cell_text(v) for v in col.tolist()]


def neutralise(s: str) -> str:
    """The cell text with a leading quote if a spreadsheet would read it as a formula (see module docstring)."""
    if s[:1] in _FIRST:
        if _NEEDS_QUOTE.match(s) and not _PLAIN_NUMBER.fullmatch(s):
            return "'" + s
    return s


def write_csv(df: pd.DataFrame, path, encoding: str = "utf-8-sig", *, sheet: str | None = None,
              strict: bool = True, substitutions: list | None = None, numbers=()) -> Path:
    """Write `df` (its column names as the header row) to `path`, atomically (temp file, then os.replace).

    encoding: "utf-8-sig" (UTF-8 with BOM, which Excel needs to read UTF-8), "utf-8" (no BOM) or "cp932"
    (Shift_JIS). With `strict`, a cell the encoding cannot hold — or that cp932 would silently turn into another
    character, like 〜 (U+301C) into ～ — raises BadInput(csv_unencodable) before anything is written. Otherwise
    each such character becomes its nearest counterpart (module docstring) and a `Substitution` per cell is
    appended to `substitutions`; in the columns named in `numbers` (amounts) a cell like "¥12,960" becomes 12960.
    Problems and substitutions name the source sheet — `sheet`, or `df.attrs["sheet"]` as a book's `read_raw`
    sets it — with the frame's index as rows and `df.attrs["letters"]` as columns, so staff can fix the cell in
    the workbook; for a frame from nowhere, the file and the line the cell would have been written on.
    """
    path = Path(path)
    try:
        codec, label = ENCODINGS[encoding.lower()]
    except KeyError:
        raise ValueError(f"unsupported encoding {encoding!r}: use utf-8-sig, utf-8 or cp932") from None
    headers = [_cell_text(h) for h in df.columns]
    columns = [[neutralise(s) if s[:1] in _FIRST else s for s in _column_texts(df.iloc[:, j])]
               for j in range(df.shape[1])]
    headers = [neutralise(h) for h in headers]
    sheet = sheet or df.attrs.get("sheet")
    letters = df.attrs.get("letters", {}) if sheet else {}
    letters = [letters.get(h) or column_letter(j) for j, h in enumerate(df.columns)]
    if not strict:
        subs = _substitute(headers, columns, df.index, codec, path.name, sheet, letters,
                           {j for j, h in enumerate(df.columns) if h in set(numbers)})
        if substitutions is not None:
            substitutions.extend(subs)
    _check_encodable(headers, columns, df.index, codec, label, path.name, sheet, letters)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    w.writerows(zip(*columns))
    _atomic_write(path, buf.getvalue().encode(codec))
    return path


def _encodes(s: str, codec: str) -> bool:
    try:
        return s.encode(codec).decode(codec) == s
    except UnicodeError:
        return False


def _rows(columns, index, sheet) -> tuple[list[int], int]:
    """The row each record is named by, and the header's: the sheet's rows, or for a frame from nowhere the line
    each record would start on in the file (line 1 is the header row)."""
    if sheet is None:
        breaks = [sum(len(_LINE_BREAK.findall(col[i])) for col in columns) for i in range(len(index))]
        rows = (2 + np.arange(len(breaks)) + np.concatenate([[0], np.cumsum(breaks)[:-1]])).astype(int).tolist()
        return rows, 1
    rows = [int(r) if isinstance(r, (int, np.integer)) else i + 2 for i, r in enumerate(index)]
    return rows, rows[0] - 1 if rows else 1


def _check_encodable(headers, columns, index, codec, label, name, sheet, letters):
    if all(_encodes("\n".join(col), codec) for col in columns) and _encodes("\n".join(headers), codec):
        return
    rows, header_row = _rows(columns, index, sheet)
    bad = [(header_row, j) for j, h in enumerate(headers) if not _encodes(h, codec)]
    for j, col in enumerate(columns):
        if not _encodes("\n".join(col), codec):
            bad += [(rows[i], j) for i, s in enumerate(col) if not _encodes(s, codec)]
    raise BadInput([Problem(sheet or name, row, headers[j], "csv_unencodable", cell=f"{letters[j]}{row}",
                            encoding=label) for row, j in sorted(bad)])


# --- the nearest character an encoding has --------------------------------------------------------------------

class Substitution:
    """One cell whose text was changed to fit the encoding: where, and each (character, replacement) pair
    (replacement None: the amount written as a plain number)."""

    __slots__ = ("sheet", "row", "column", "cell", "pairs")

    def __init__(self, sheet, row, column, cell, pairs):
        self.sheet, self.row, self.column, self.cell, self.pairs = sheet, row, column, cell, pairs

    def __repr__(self) -> str:
        return f"Substitution({self.sheet!r}, {self.cell!r}, {self.pairs!r})"


# What Japanese Windows (cp932) and Shift_JIS / Unicode software disagree on, and the ASCII-range yen sign.
_NEAREST = {
    "\u00a5": "円",        # ¥: Python's cp932 has no yen sign below 0x80 (0x5C is the backslash)
    "\u301c": "\uff5e",   # 〜 WAVE DASH → ～ (the character cp932 has at 0x8160)
    "\u2016": "\u2225",   # ‖ → ∥
    "\u2212": "\uff0d",   # − MINUS SIGN → －
    "\u2014": "\u2015",   # — EM DASH → ―
    "\u2013": "\uff0d", "\u2010": "\uff0d", "\u2011": "\uff0d", "\u2012": "\uff0d",   # – ‐ ‑ ‒ → －
    "\u00a2": "\uffe0", "\u00a3": "\uffe1", "\u00ac": "\uffe2", "\u00a6": "\uffe4",   # ¢ £ ¬ ¦ → full width
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "",   # zero-width characters and joiners: nothing to show
}
_YEN_AMOUNT = re.compile(r"\u00a5\s*([0-9０-９][0-9０-９,，.]*)")
GETA = "〓"


def nearest(c: str, codec: str = "cp932") -> str:
    """The character (or characters, or "") that stands for `c` in `codec`; 〓 when nothing does."""
    if c in _NEAREST:
        return _NEAREST[c]
    from .normalize import ITAIJI
    cp = ord(c)
    if cp in ITAIJI:
        v = ITAIJI[cp]
        if v is None or _encodes(v, codec):   # None: a variation selector, the base character before it stays
            return v or ""
    k = unicodedata.normalize("NFKC", c)
    if k != c and _encodes(k, codec):
        return k
    try:
        return c.encode(codec).decode(codec)   # the codec's own best fit (〜 → ～)
    except UnicodeError:
        return GETA


def fit_text(s: str, codec: str = "cp932", *, number: bool = False) -> tuple[str, list[tuple[str, str]]]:
    """`s` with every character `codec` cannot hold replaced by its nearest one, and the (was, now) pairs.

    number: the cell is an amount ("¥12,960" → "12960"). Elsewhere ¥ before digits moves behind them as 円."""
    if number:
        try:
            v = schema.parse_amount(s)
        except ValueError:
            v = None
        if v is not None:
            return _cell_text(v), [("¥" if "\u00a5" in s else s[:1], None)]   # None: "as a plain number"
    t = unicodedata.normalize("NFC", s)   # the same text, composed (か + ゛ → が): not a substitution
    pairs = []
    if "\u00a5" in t:
        t, n = _YEN_AMOUNT.subn(r"\1円", t)
        if n:
            pairs.append(("¥", "円"))
    out = []
    for c in t:
        if _encodes(c, codec):
            out.append(c)
        else:
            r = nearest(c, codec)
            out.append(r)
            pairs.append((c, r))
    return "".join(out), pairs


def _substitute(headers, columns, index, codec, name, sheet, letters, numbers) -> list[Substitution]:
    """Replace, in place, what `codec` cannot hold; one Substitution per changed cell."""
    out = []
    rows = None
    for j, col in enumerate([headers, *columns]):
        if _encodes("\n".join(col), codec):
            continue
        if rows is None:
            rows, header_row = _rows(columns, index, sheet)
        for i, s in enumerate(col):
            if _encodes(s, codec):
                continue
            t, pairs = fit_text(s, codec, number=j - 1 in numbers)
            col[i] = neutralise(t) if t[:1] in _FIRST else t
            k = j - 1 if j else i
            row = rows[i] if j else header_row
            out.append(Substitution(sheet or name, row, headers[k], f"{letters[k]}{row}", pairs))
    return out


def _atomic_write(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain new file (or the old one) would have
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
