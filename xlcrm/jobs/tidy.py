"""データ整形 (ribbon "tidy", `xlcrm tidy BOOK`): dates and amounts staff typed as text become real dates and numbers,
in place, so Excel's own sort and date filter work on the column.

On 顧客, 注文 and 対応履歴, every cell of a date, date-time, amount or number column that holds text is read the way
every job reads it (`xlcrm.schema`: 和暦 令和7年7月30日 / R7.7.30, 2023/12/6, full-width digits, ¥1,000, 1,000円,
△500) and, when it reads, replaced by the date or number it means — only those cells (`Book.write_cells`), dressed
as the column's dates or numbers. What the cells held is kept for 取り消し (`xlcrm undo`). A cell that cannot be
read is left as it is and named by sheet, row and column, for staff to type again.
"""
from __future__ import annotations

import datetime as dt

from .. import messages, schema
from . import JobResult
from .formats import COUNT, DATE, DATETIME

TABLES = ("customers", "orders", "contacts")
PARSERS = {"date": schema.parse_date, "datetime": schema.parse_date, "amount": schema.parse_amount,
           "number": schema.parse_number}
FORMATS = {"date": DATE, "datetime": DATETIME, "amount": COUNT}    # a number column keeps its own format
SHOWN = 20        # unreadable cells named in the summary; the rest are counted


def _value(kind: str, parsed):
    """The cell value for a parsed date or number: the datetime as typed (a date is at midnight), a whole number
    as an int."""
    if isinstance(parsed, dt.datetime):
        return parsed
    return int(parsed) if float(parsed).is_integer() else float(parsed)


def find(book) -> tuple[dict, list]:
    """({sheet: ({(row, col): value}, {(row, col): number format})}, [unreadable cells]) for the book's tables.
    An unreadable cell is (sheet, row, column header, cell reference)."""
    changes, unreadable = {}, []
    for key in TABLES:
        t = schema.table(key)
        raw = book.read_raw(t.ja)
        if raw is None:
            raw = book.read_raw(t.key)
        if raw is None or raw.empty:
            continue
        sheet = raw.attrs.get("sheet", t.ja)
        loc = book.locate(sheet) or book.locate(t.ja)
        headers = list(raw.columns)
        cells, fmts = {}, {}
        for h, k in schema.header_map(headers, t).items():
            c = t.by_key.get(k)
            if c is None or c.kind not in PARSERS:
                continue
            col = loc.first_col + headers.index(h)
            letter = raw.attrs.get("letters", {}).get(h, "")
            for row, v in raw[h].items():
                if not isinstance(v, str) or schema.is_blank(v):
                    continue       # already a date or a number (or empty, or a 「-」 for nothing)
                try:
                    parsed = PARSERS[c.kind](v)
                except ValueError:
                    unreadable.append((sheet, int(row), str(h), f"{letter}{row}"))
                    continue
                if parsed is None:
                    continue
                cells[(int(row), col)] = _value(c.kind, parsed)
                if c.kind in FORMATS:
                    fmts[(int(row), col)] = FORMATS[c.kind]
        if cells:
            changes[sheet] = (cells, fmts)
    return changes, unreadable


def tidy(book, settings) -> JobResult:
    """Turn the text dates and amounts of 顧客 / 注文 / 対応履歴 into dates and numbers; name what cannot be read."""
    changes, unreadable = find(book)
    done = {sheet: book.write_cells(sheet, cells, number_formats=fmts) for sheet, (cells, fmts) in changes.items()}
    done = {sheet: k for sheet, k in done.items() if k}     # a cell holding staff's formula is never replaced
    n = sum(done.values())
    out = {}
    for g in ("ja", "en"):
        if n:
            detail = ("、" if g == "ja" else ", ").join(messages.text("tidy_sheet", g, sheet=s, n=k)
                                                      for s, k in done.items())
            lines = [messages.text("tidy_done", g, changed=n, detail=detail)]
        else:
            lines = [messages.text("tidy_nothing", g)]
        if unreadable:
            lines.append(messages.text("tidy_unreadable", g, n=len(unreadable)))
            lines += [messages.text("tidy_cell", g, sheet=s, row=r, column=h, cell=c)
                      for s, r, h, c in unreadable[:SHOWN]]
            if len(unreadable) > SHOWN:
                lines.append("  " + messages.text("more_problems", g, n=len(unreadable) - SHOWN))
        if n:
            lines.append(messages.text("tidy_undo", g))
        out[g] = "\n".join(lines)
    if n:
        book.journal("tidy", out["ja"].splitlines()[0], out["en"].splitlines()[0])
    return JobResult(out["ja"], out["en"], {"changed": n, "by_sheet": done,
                                            "unreadable": [{"sheet": s, "row": r, "column": h, "cell": c}
                                                           for s, r, h, c in unreadable]})
