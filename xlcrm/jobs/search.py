"""Search jobs: the 検索 sheet (query cell → results table with links to 顧客), and the read-only CLI search.

The 検索 sheet as the built workbook lays it out (xlcrm/build/src/template.json): title in A1, the label 検索語 in
A2 with the query in B2 (defined name 検索語), and the results table 検索結果表 with its header in row 5. The query
is found by its label in the first rows (the value is the cell to its right), so staff may move it; an optional
件数 label works the same way for the number of rows. A book without the sheet gets that layout on first use.
The results' 顧客ID cells are `=HYPERLINK("#'顧客'!A12","C0001")` links to the customer's row; B4, beside the
検索結果 label, says how many matched and how many are shown (「51件中20件を表示…」).

Ties rank the most recently active customer first: the job reads 注文 and 対応履歴 for `last_active` (core
`search.last_active`). Those sheets are optional here, and one that cannot be read (a bad date) only costs the
tie-break, never the search: staff must find a customer even while an order row is wrong.
"""
from __future__ import annotations

import unicodedata

import pandas as pd

from .. import messages, schema
from .. import search as core
from ..book import open_book
from ..book.base import col_letter
from ..messages import BadInput, Problem
from . import JobResult

SHEET = "検索"
TITLE = "顧客検索"
RESULTS_TABLE = "検索結果表"  # not 検索結果: the built workbook has a defined name of that name, and Excel
                              # refuses a table that shares its name with a defined name
RESULTS_ROW = 5          # header row of 検索結果, as in the built workbook
RESULTS_LABEL = "検索結果"  # in A4, as in the built workbook
COUNT_CELL = f"B{RESULTS_ROW - 1}"  # beside the 検索結果 label
QUERY_LABELS = ("検索語", "検索", "キーワード", "query")
LIMIT_LABELS = ("件数", "表示件数", "limit")
_SCAN_ROWS, _SCAN_COLS = RESULTS_ROW - 1, 12  # where labels are looked for: above the results


def _fold(h) -> str:
    return unicodedata.normalize("NFKC", str(h)).strip().lower()


def _top_cells(book) -> list[list]:
    """The cells above the results table, where the query and its label are."""
    return book.read_range(SHEET, "A1", _SCAN_ROWS, _SCAN_COLS)


def read_query(book) -> tuple[str, object, dict]:
    """(query, limit cell value, where) from the 検索 sheet; where = {"row", "column", "cell", "limit_*"}."""
    where: dict = {}
    query, limit = "", None
    queries, limits = set(map(_fold, QUERY_LABELS)), set(map(_fold, LIMIT_LABELS))
    for i, row in enumerate(_top_cells(book)):
        for j, v in enumerate(row[:-1]):
            if v is None or v == "":
                continue
            f = _fold(v)
            cell = f"{col_letter(j + 2)}{i + 1}"
            if f in queries and "cell" not in where:
                where.update(row=i + 1, column=str(v), cell=cell)
                query = schema.parse_text(row[j + 1])
            elif f in limits and "limit_cell" not in where:
                where.update(limit_row=i + 1, limit_column=str(v), limit_cell=cell)
                limit = row[j + 1]
    return query, limit, where


def _limit(value, default: int, where: dict) -> int:
    if schema.is_blank(value):
        return default
    try:
        n = schema.parse_number(value)
    except ValueError:
        n = None
    if n is None or not float(n).is_integer() or n < 1:
        raise BadInput([Problem(SHEET, where.get("limit_row"), where.get("limit_column", "件数"), "search_bad_limit",
                                cell=where.get("limit_cell", ""))])
    return int(n)


def _link(sheet: str, cell: str, text: str) -> str:
    """A HYPERLINK formula to a cell of this book; quotes in the text are doubled so it stays one string."""
    sheet_ref = "'" + sheet.replace("'", "''") + "'"
    text = text.replace('"', '""')
    return f'=HYPERLINK("#{sheet_ref}!{cell}","{text}")'


def results_table(results: pd.DataFrame, customers: pd.DataFrame, lang: str = "ja") -> pd.DataFrame:
    """Search results as the 検索結果表 table: headers in `lang`, 顧客ID as links to the customer's row."""
    sheet = customers.attrs.get("sheet", schema.CUSTOMERS.ja)
    id_header = customers.attrs.get("headers", {}).get("customer_id", schema.CUSTOMERS.header("customer_id"))
    letter = customers.attrs.get("letters", {}).get(id_header, "A")
    ids = [_link(sheet, f"{letter}{row}", cid) for row, cid in zip(results.index, results["customer_id"])]
    cols = {}
    for k in core.RESULT_COLUMNS:
        if k == "score":
            h = messages.text("search_col_score", lang)
        elif k == "matched":
            h = messages.text("search_col_matched", lang)
        elif k == "address":
            h = schema.CUSTOMERS.header("address", lang)
        else:
            h = schema.CUSTOMERS.header(k, lang)
        cols[h] = ids if k == "customer_id" else results[k].to_numpy()
    return pd.DataFrame(cols)


def find(customers: pd.DataFrame, query: str, limit: int = 20, lang: str | None = None) -> pd.DataFrame:
    """Core search over a conformed customers table, reusing its index while the table is unchanged;
    `.attrs["total"]` = how many matched."""
    return core.search(core.index_for(customers), query, limit, lang=lang)


def count_line(results: pd.DataFrame, where: str, lang: str | None = None, cell: str = "") -> str:
    """「51件中20件を表示(--limit で増やせます)」: `where` is "cli" or "sheet"; on the sheet, `cell` is the 件数
    cell to raise (without one, the 設定 sheet's 検索の表示件数)."""
    total, shown = results.attrs.get("total", len(results)), len(results)
    if total > shown:
        key = "search_count_more_cli" if where == "cli" else \
            "search_count_more_sheet" if cell else "search_count_more_settings"
        return messages.text(key, lang, total=total, shown=shown, cell=cell)
    return messages.text("search_count", lang, total=total, shown=shown)


def read_customers(book) -> pd.DataFrame:
    """顧客 with `last_active` from 注文 and 対応履歴 (each optional; unreadable = unknown, see the docstring)."""
    customers = book.read("customers")
    tables = {}
    for name in ("orders", "contacts"):
        try:
            tables[name] = book.read(name, required=False)
        except BadInput:
            tables[name] = None
    customers["last_active"] = core.last_active(customers, tables["orders"], tables["contacts"])
    return customers


def search_book(book_path, query: str, limit: int | None = None, lang: str | None = None) -> pd.DataFrame:
    """What `xlcrm search BOOK "query"` prints: results (`.attrs["total"]` = all matches), nothing written.

    `limit` defaults to the 設定 sheet's 検索の表示件数 (20). A book open in Excel is read as last saved."""
    with open_book(book_path, read_only=True) as book:
        customers = read_customers(book)
        if limit is None:
            limit = book.settings().search_limit
    return find(customers, query, limit, lang)


def search(book, settings, *, query: str | None = None, limit: int | None = None, **_options) -> JobResult:
    """The ribbon's 検索 button: read the query on 検索, write 検索結果表 with links to 顧客."""
    lang = settings.header_lang
    sheet_query, sheet_limit, where = read_query(book)
    if query is None:
        query = sheet_query
    if not str(query).strip():
        raise BadInput([Problem(SHEET, where.get("row") or 2, where.get("column", QUERY_LABELS[0]),
                                "search_empty_query", cell=where.get("cell", "B2"))])
    n = limit if limit is not None else _limit(sheet_limit, settings.search_limit, where)
    customers = read_customers(book)
    results = find(customers, query, n, settings.lang)
    table = results_table(results, customers, lang)
    if not where.get("cell"):  # no query cell yet: lay the sheet out as the built workbook does
        book.write_range(SHEET, "A1", [[TITLE], [QUERY_LABELS[0], query, LIMIT_LABELS[0], n]])
        book.write_range(SHEET, f"A{RESULTS_ROW - 1}", [[RESULTS_LABEL]])
        where.update(cell="B2", limit_cell="D2")
    limit_cell = where.get("limit_cell", "")
    book.write_range(SHEET, COUNT_CELL, [[count_line(results, "sheet", settings.lang, limit_cell)]])
    book.write_table(RESULTS_TABLE, table, sheet=SHEET, at=f"A{RESULTS_ROW}", formula_columns=(table.columns[0],))
    total = results.attrs.get("total", len(results))
    ja = messages.text("search_done", "ja", query_cell=where["cell"], n=len(results), total=total)
    en = messages.text("search_done", "en", query_cell=where["cell"], n=len(results), total=total)
    book.journal("search", ja, en)  # the query itself may be a customer's name: never in the journal
    return JobResult(ja, en, {"results": len(results), "total": total})


# --- the sheet formula =CRM_SEARCH(query, 顧客[#All], [limit]) ------------------------------------------------------

# 登録日 too, when the range has it: it breaks ties between equal scores (the formula sees no orders)
_SEARCH_KEYS = [c for c in core.COLUMNS + core.ACTIVITY_COLUMNS if c in schema.CUSTOMERS.by_key]
_CELL_PARSERS = {"phone": schema.parse_phone, "postcode": schema.parse_postcode,
                 "date": lambda v: (d.date().isoformat() if (d := schema.parse_date(v)) else "")}
_INDEXES: dict[int, core.SearchIndex] = {}  # hash of the cells passed → their index (one table at a time)


def _cell_text(v, kind: str) -> str:
    try:
        return _CELL_PARSERS.get(kind, schema.parse_text)(v)
    except ValueError:
        return ""  # a 32,768-character cell is not searchable; the rest of the table still is


def customers_from_cells(table: list[list]) -> pd.DataFrame | None:
    """The searchable columns of a customers range passed to a UDF (header row included); None without headers."""
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in (table or [])]
    for h, header in enumerate(rows[:20]):  # the header row: the first with at least two known headers
        hmap = schema.header_map([str(v) for v in header if v not in (None, "")], schema.CUSTOMERS)
        if sum(1 for k in hmap.values() if k in _SEARCH_KEYS) >= 2:
            break
    else:
        return None
    key_of = schema.header_map([str(v) if v not in (None, "") else f"列{i}" for i, v in enumerate(header)],
                               schema.CUSTOMERS)
    body = rows[h + 1:]
    while body and all(v in (None, "") for v in body[-1]):
        body.pop()
    cols = {}
    for j, v in enumerate(header):
        k = key_of.get(str(v) if v not in (None, "") else f"列{j}")
        if k in _SEARCH_KEYS and k not in cols:
            kind = schema.CUSTOMERS.by_key[k].kind
            cols[k] = [_cell_text(r[j] if j < len(r) else None, kind) for r in body]
    df = pd.DataFrame(cols, index=pd.RangeIndex(h + 2, h + 2 + len(body)), dtype="str")
    df.attrs = {"sheet": schema.CUSTOMERS.ja, "headers": {}, "letters": {}}
    return df


def cells_search(query, table, limit=None, lang: str | None = None) -> list[list]:
    """=CRM_SEARCH: a header row and result rows as cell values ("" for blank, text ≤ 255 characters)."""
    lang = lang or messages.default_lang()
    if schema.is_blank(limit):
        n = 20
    else:
        try:
            n = int(schema.parse_number(limit))
        except (TypeError, ValueError):
            n = 0
    if n < 1 or not isinstance(table, (list, tuple)):
        return [[messages.text("search_udf_usage", lang)]]
    try:
        h = hash(tuple(tuple(r) if isinstance(r, (list, tuple)) else (r,) for r in table))
    except TypeError:  # an unhashable cell value: no caching, still correct
        h = None
    index = _INDEXES.get(h) if h is not None else None
    if index is None:  # recalculation with an unchanged table reuses the index without rebuilding the frame
        customers = customers_from_cells(table)
        if customers is None:
            return [[messages.text("search_udf_no_header", lang)]]
        index = core.build_index(customers)
        if h is not None:
            _INDEXES.clear()
            _INDEXES[h] = index
    res = core.search(index, schema.parse_text(query), n, lang=lang)
    header = [schema.CUSTOMERS.header(k, lang) if k in schema.CUSTOMERS.by_key else
              messages.text(f"search_col_{k}", lang) for k in core.RESULT_COLUMNS]
    out = [header]
    for rec in res.itertuples(index=False):
        out.append([("" if v is None else (v[:255] if isinstance(v, str) else float(v))) for v in rec])
    return out
