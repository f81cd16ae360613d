"""Search jobs: the 検索 sheet (query cell → results table with links to 顧客), and the read-only CLI search.

Layout of the 検索 sheet (written on first use if missing): the results table 検索結果 at A1; to its right the
labels 検索語 (J1) and 件数 (K1) with the query in J2 and the number of rows in K2. The query cell is found by its
label anywhere in the sheet's first row, so staff may move it. The results' 顧客ID cells are
`=HYPERLINK("#'顧客'!A12","C0001")` links to the customer's row.
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
RESULTS_TABLE = "検索結果"
QUERY_LABELS = ("検索語", "検索", "キーワード", "query")
LIMIT_LABELS = ("件数", "表示件数", "limit")
QUERY_CELL = "J1"  # where the labels go when the sheet has none: J1 検索語, K1 件数, values below


def _fold(h) -> str:
    return unicodedata.normalize("NFKC", str(h)).strip().lower()


def read_query(book) -> tuple[str, object, dict]:
    """(query, limit cell value, where) from the 検索 sheet; where = {"row", "column", "cell", "limit_*"}."""
    raw = book.read_raw(SHEET)
    if raw is None:
        return "", None, {}
    letters = raw.attrs.get("letters", {})
    where = {}
    query, limit = "", None
    first = raw.index[0] if len(raw) else None
    for h in raw.columns:
        f = _fold(h)
        if f in map(_fold, QUERY_LABELS) and "cell" not in where:
            where.update(row=(first if first is not None else None), column=str(h),
                         cell=f"{letters.get(h, '')}{first if first is not None else ''}")
            query = "" if first is None else schema.parse_text(raw.at[first, h])
        elif f in map(_fold, LIMIT_LABELS) and "limit_cell" not in where:
            where.update(limit_column=str(h), limit_cell=f"{letters.get(h, '')}{first if first is not None else ''}")
            limit = None if first is None else raw.at[first, h]
    return query, limit, where


def _limit(value, default: int, where: dict) -> int:
    if schema.is_blank(value):
        return default
    try:
        n = schema.parse_number(value)
    except ValueError:
        n = None
    if n is None or not float(n).is_integer() or n < 1:
        raise BadInput([Problem(SHEET, where.get("row"), where.get("limit_column", "件数"), "search_bad_limit",
                                cell=where.get("limit_cell", ""))])
    return int(n)


def _link(sheet: str, cell: str, text: str) -> str:
    """A HYPERLINK formula to a cell of this book; quotes in the text are doubled so it stays one string."""
    sheet_ref = "'" + sheet.replace("'", "''") + "'"
    text = text.replace('"', '""')
    return f'=HYPERLINK("#{sheet_ref}!{cell}","{text}")'


def results_table(results: pd.DataFrame, customers: pd.DataFrame, lang: str = "ja") -> pd.DataFrame:
    """Search results as the 検索結果 table: headers in `lang`, 顧客ID as links to the customer's row."""
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
    """Core search over a conformed customers table, reusing its index while the table is unchanged."""
    return core.search(core.index_for(customers), query, limit, lang=lang)


def search_book(book_path, query: str, limit: int | None = None, lang: str | None = None) -> pd.DataFrame:
    """What `xlcrm search BOOK "query"` prints: results, nothing written to the book.

    `limit` defaults to the 設定 sheet's 検索の表示件数 (20)."""
    with open_book(book_path) as book:
        customers = book.read("customers")
        if limit is None:
            limit = book.settings().get("search_limit", 20)
    return find(customers, query, limit, lang)


def search(book, settings, *, query: str | None = None, limit: int | None = None, **_options) -> JobResult:
    """The ribbon's 検索 button: read the query on 検索, write 検索結果 with links to 顧客."""
    lang = settings.get("header_lang", "ja")
    sheet_query, sheet_limit, where = read_query(book)
    if query is None:
        query = sheet_query
    if not str(query).strip():
        raise BadInput([Problem(SHEET, where.get("row") or 2, where.get("column", QUERY_LABELS[0]),
                                "search_empty_query", cell=where.get("cell", "J2"))])
    n = limit if limit is not None else _limit(sheet_limit, settings.get("search_limit", 20), where)
    customers = book.read("customers")
    results = find(customers, query, n, settings.get("lang"))
    table = results_table(results, customers, lang)
    id_header = table.columns[0]
    book.write_table(RESULTS_TABLE, table, sheet=SHEET, formula_columns=(id_header,))
    if not where.get("cell"):  # no query cell yet: write it, so staff see where to type next time
        book.write_range(SHEET, QUERY_CELL, [[QUERY_LABELS[0], LIMIT_LABELS[0]], [query, n]])
        where["cell"] = "J2"
    ja = messages.text("search_done", "ja", query_cell=where["cell"], n=len(results))
    en = messages.text("search_done", "en", query_cell=where["cell"], n=len(results))
    book.journal("search", ja, en)  # the query itself may be a customer's name: never in the journal
    return JobResult(ja, en, {"results": len(results)})


# --- the sheet formula =CRM_SEARCH(query, 顧客[#All], [limit]) ------------------------------------------------------

_SEARCH_KEYS = [c for c in core.COLUMNS if c in schema.CUSTOMERS.by_key]
_CELL_PARSERS = {"phone": schema.parse_phone, "postcode": schema.parse_postcode}
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
