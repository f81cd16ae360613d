"""顧客一覧(印刷用) (ribbon "print_list", `xlcrm run print_list BOOK`): the columns of 顧客 staff print, on a sheet
of their own that prints legibly — A4 landscape, one page wide, the header row on every page.

顧客 itself has some 40 columns (staff's 20 and the ones jobs compute): printed, they shrink to an unreadable page
width. A print area cannot pick columns out of it: a print area of several ranges ('顧客'!A:D,'顧客'!K:K, …) prints
each range on pages of its own, in Excel and in LibreOffice alike, and hiding columns would hide them on screen
too. So this job copies the chosen columns (設定「印刷する列(顧客)」, in that order) into 顧客一覧(印刷用), values as
they stand, each column formatted as on 顧客 (¥, 1,000, 2025/08/01). The sheet is the job's own: it is rewritten
on every run; edits belong on 顧客.
"""
from __future__ import annotations

import re
import unicodedata

import pandas as pd

from .. import messages, schema
from ..messages import BadInput, Problem
from . import JobResult
from .formats import COUNT, DATE, YEN, header_width
from .io import _text_headers

PRINT_SHEET = "顧客一覧(印刷用)"
TOP = 3                 # the table's header row: a title and a note above it
MAX_WIDTH = 40          # a column wider than this (a long 住所) would shrink the whole page


def _fold(h) -> str:
    return unicodedata.normalize("NFKC", str(h)).strip().lower()


def pick_columns(headers: list, wanted: list[str]) -> tuple[list, list[str]]:
    """(the headers of 顧客 to print, in `wanted`'s order; the wanted names 顧客 lacks). A name matches its header
    as typed (width and case folded) or, for a column of the schema, under any header the schema reads as it
    (電話 for 電話番号)."""
    t = schema.table("customers")
    hmap = schema.header_map([str(h) for h in headers], t)
    by_key = {k: h for h, k in hmap.items()}
    got, missing = [], []
    for w in wanted:
        h = next((x for x in headers if _fold(x) == _fold(w)), None)
        if h is None:
            k = schema.header_map([w], t).get(w)
            h = by_key.get(k) if k else None
        if h is None:
            missing.append(w)
        elif h not in got:
            got.append(h)
    return got, missing


def number_format(header: str) -> str | None:
    """A column's format by what its header says: ¥ for amounts, 1,000 for counts, 2025/08/01 for days."""
    h = str(header)
    if re.search(r"金額|売上|単価", h):
        return YEN
    if re.search(r"回数|人数|件数|日数$", h):
        return COUNT
    if re.search(r"日$|日付$", h):
        return DATE
    return None


def _width(s: pd.Series, header) -> int:
    def w(v):
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return 0
        if hasattr(v, "strftime"):
            return 10
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(v))
    longest = max((w(v) for v in s.head(2000)), default=0)
    return min(max(longest + 1, header_width(header)), MAX_WIDTH)


def print_list(book, settings) -> JobResult:
    """Rewrite 顧客一覧(印刷用) from 顧客: the columns 設定「印刷する列(顧客)」 names."""
    lang = settings.lang
    t = schema.table("customers")
    raw = book.read_raw(t.ja)
    if raw is None:
        raw = book.read_raw(t.key)
    if raw is None:
        raise BadInput([Problem(t.ja, None, t.ja, "missing_table", table=t.ja)])
    cols, missing = pick_columns(list(raw.columns), list(settings.print_columns))
    if not cols:
        raise BadInput([Problem("設定", None, "印刷する列(顧客)", "print_no_columns")])
    df = raw[cols].reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    # printed, not edited: full-width digits and letters as half-width (０９０－１２３４ reads 090-1234 and takes
    # half the width), half-width kana as full-width
    df = df.map(lambda v: unicodedata.normalize("NFKC", v) if isinstance(v, str) else v)
    old = book.locate(PRINT_SHEET)
    book.write_table(PRINT_SHEET, df, at=f"A{TOP}", reorder=True, text_columns=_text_headers(t, df.columns),
                     retire=[str(h) for h in (old.headers if old else ()) if h is not None])
    note = messages.text("print_note", lang)
    book.write_range(PRINT_SHEET, "A1", [[messages.text("print_title", lang)], [note]])
    caps = book.capabilities()
    if "fonts" in caps:
        book.set_font(PRINT_SHEET, ["A1"], bold=True, size=14)
        book.set_font(PRINT_SHEET, ["A2"], size=9, color="595959")
    book.dress_table(PRINT_SHEET, number_formats={c: f for c in df.columns if (f := number_format(c))},
                     widths={c: _width(df[c], c) for c in df.columns}, exact_widths=True, header=True)
    kw = {"rows": len(df), "cols": len(cols), "sheet": PRINT_SHEET}
    ja, en = messages.text("print_done", "ja", **kw), messages.text("print_done", "en", **kw)
    if missing:
        ja += messages.text("print_missing", "ja", names="、".join(missing))
        en += messages.text("print_missing", "en", names=", ".join(missing))
    book.journal("print_list", ja, en)
    return JobResult(ja, en, {"rows": len(df), "columns": [str(c) for c in cols], "missing": missing})
