"""The RFM job and command.

* `refresh_rfm(book, settings)` — ribbon tag "rfm": scores every customer from 注文 and writes the RFM columns
  of 顧客 (the columns in `RFM_COLUMNS`; staff's own columns are not touched).
* `rfm_file(input, out, as_of)` — the `xlcrm rfm` command: INPUT is a workbook or an orders CSV with Japanese or
  English headers. Its readers and writers serve the lapse command too (jobs/lapse.py).

The CSV path imports neither pandas nor openpyxl when the file is clean (ids, ISO or y/m/d dates, plain numbers):
pyarrow reads it and numpy scores it, because a whole `xlcrm rfm orders.csv` run is compared with a DuckDB script
and importing pandas alone costs about as much as DuckDB's whole run. Anything else (和暦, ¥ and commas, blanks,
a bad cell) goes through `schema.conform`, whose errors name the CSV line.
"""
from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import numpy as np

from .. import messages, rfm
from ..rfm import _buffer_ints, _from_numpy, encode_arrow_ids, factorize_ids, order_days
from . import JobResult
from .formats import COUNT, DATE, WHOLE, YEN, dress_customer_columns
from .orders import cell_namer, check_days
from .orders import PURCHASE_READS
from .orders import read_orders as read_book_orders

# Imported where used, for start-up time (`xlcrm rfm orders.csv` is compared with a DuckDB script): pyarrow
# (about 0.4 s) only for CSV input and output, xlcrm.schema / csvio (pandas, about 1.4 s) and the book layer only
# for input that is not a clean CSV or is a workbook.

# Columns of 顧客 these jobs own: key -> (Japanese header, English header).
RFM_COLUMNS = {
    "rfm_code": ("RFM", "RFM"),
    "r": ("R", "R"),
    "f": ("F", "F"),
    "m": ("M", "M"),
    "rfm_sum": ("RFM合計", "RFM sum"),
    "segment": ("セグメント", "Segment"),
    "orders": ("注文回数", "Orders"),
    "monetary": ("購入金額", "Monetary"),
    "first_order": ("初回注文日", "First order"),
    "last_order": ("最終注文日", "Last order"),
    "recency_days": ("最終注文からの日数", "Days since last order"),
}

# what staff read in each: number format (None: as written) and the width of the values
RFM_FORMATS = {"rfm_code": (WHOLE, 5), "r": (WHOLE, 3), "f": (WHOLE, 3), "m": (WHOLE, 3), "rfm_sum": (WHOLE, 4),
               "segment": (None, 12), "orders": (COUNT, 6), "monetary": (YEN, 11), "first_order": (DATE, 11),
               "last_order": (DATE, 11), "recency_days": (COUNT, 6)}


def rfm_options(settings) -> dict:
    """Core parameters of `rfm.summarize` / `rfm.score` from 設定."""
    return {
        "method": settings.rfm_method,
        "frequency": settings.rfm_frequency,
        "monetary": settings.rfm_monetary,
        "thresholds": {"r": settings.rfm_r_days, "f": settings.rfm_f_orders,
                       "m": settings.rfm_m_yen},
        "segment_map": {r: settings[f"rfm_segments_r{r}"] for r in range(1, 6) if f"rfm_segments_r{r}" in settings},
    }


def _headers(cols: dict, lang: str) -> dict:
    return {k: (ja if lang == "ja" else en) for k, (ja, en) in cols.items()}


def scores(orders, as_of, opts: dict):
    """The scored RFM table for `orders` with options from `rfm_options` (one row per customer with orders)."""
    summary = rfm.summarize(orders, as_of, frequency=opts["frequency"], monetary=opts["monetary"])
    thresholds = {k: v for k, v in opts.get("thresholds", {}).items() if v is not None}
    return rfm.score(summary, method=opts["method"], thresholds=thresholds, segment_map=opts.get("segment_map"))


def refresh_rfm(book, settings, *, method: str | None = None, as_of=None) -> JobResult:
    """Ribbon "rfm": R, F, M, code, sum, segment and order dates into 顧客 (customers without orders: blank)."""
    opts = rfm_options(settings)
    if method:
        opts["method"] = method
    as_of = as_of if as_of is not None else settings.as_of_date()
    pushed = book.pushdown("rfm", as_of=as_of, opts=opts)    # a database store scores in SQL
    if pushed is not None:
        s, n_customers, dates = pushed
    else:
        got = read_book_orders(book, as_of, **PURCHASE_READS, writes=("customers",))
        s, n_customers, dates = scores(got.orders, as_of, opts), len(got.customers), got.dates
    lang = settings.lang
    if lang == "ja":
        s["segment"] = s["segment_ja"]
    s["rfm_code"] = s["rfm_code"].astype(int)     # 455 as a number: no "number stored as text" flag in Excel
    heads = _headers(RFM_COLUMNS, settings.header_lang)
    out = s[["customer_id", *RFM_COLUMNS]].rename(columns=heads)
    book.update_columns("customers", out, key="customer_id")
    dress_customer_columns(book, {heads[k]: v for k, v in RFM_FORMATS.items()})
    day = str(as_of)[:10]
    kw = {"n": n_customers, "scored": len(s), "as_of": day}
    ja, en = dates.add_to(messages.text("rfm_done", "ja", **kw), messages.text("rfm_done", "en", **kw))
    book.journal("rfm", ja, en)
    return JobResult(ja, en, {"customers": n_customers, "scored": len(s), "method": opts["method"],
                              "segments": s["segment"].value_counts().to_dict(), **dates.counts()})


# --- CSV / workbook input for the CLI ----------------------------------------------------------------------------

# Header names the fast CSV path recognizes without importing xlcrm.schema (and pandas); every other spelling the
# schema accepts still works through the general path. tests/test_rfm_jobs.py checks these against the schema.
FAST_HEADERS = {"customer_id": ("customer_id", "顧客ID"), "order_date": ("order_date", "注文日"),
                "amount": ("amount", "金額")}
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".ods")   # the last two: refused, saying how to convert


class Orders:
    """Orders as arrays: customer code per order, `ids[code]`, order day (days since 1970) and amount;
    `where(i)` names order i's date cell (注文!C12, orders.csv!B7) for messages."""

    def __init__(self, codes, ids, days, amounts, where=None):
        self.codes, self.ids, self.days, self.amounts, self.where = codes, ids, days, amounts, where


def _detect_encoding(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    if not head.strip(b" \t\r\n\xef\xbb\xbf") or b"\x00" in head:
        from ..csvio import decode
        decode(head, path.name)   # empty, UTF-16 or binary: raises the message that says which and what to do
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 3:   # a character cut by the sample's end
            return "utf-8"
    try:
        head.decode("cp932")
        return "cp932"
    except UnicodeDecodeError:
        raise messages.BadInput(key="csv_encoding", name=path.name) from None


def read_orders_csv(path) -> Orders:
    """Orders from a CSV (UTF-8, UTF-8 BOM or cp932; Japanese or English headers)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    path = Path(path)
    enc = _detect_encoding(path)
    header = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding=enc)).schema.names
    found = {k: next((h for h in header if h.strip() in names), None) for k, names in FAST_HEADERS.items()}
    if all(found.values()):
        ids, dates, amounts = (found[k] for k in ("customer_id", "order_date", "amount"))
        ropts = pacsv.ReadOptions(encoding=enc, block_size=1 << 22)
        # typed first (ISO dates, plain numbers: no type inference), then y/m/d dates; anything else -> conform
        for convert in (
                pacsv.ConvertOptions(include_columns=[ids, dates, amounts], strings_can_be_null=True,
                                     column_types={ids: pa.string(), dates: pa.date32(), amounts: pa.float64()}),
                pacsv.ConvertOptions(include_columns=[ids, dates, amounts], strings_can_be_null=True,
                                     column_types={ids: pa.string()},
                                     timestamp_parsers=[pacsv.ISO8601, "%Y/%m/%d"])):
            try:
                table = pacsv.read_csv(path, read_options=ropts, convert_options=convert)
            except pa.ArrowInvalid:
                continue
            fast = _fast_arrays(table, found)
            if fast is not None:
                fast.where = _csv_date_cell(path, enc, header.index(dates))
                return fast
            break
    return _conformed_csv(path)


def _fast_arrays(table, found) -> Orders | None:
    """Arrays straight from Arrow when every value is already clean; None sends the file to `schema.conform`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    ids, dates, amounts = (table.column(found[k]) for k in ("customer_id", "order_date", "amount"))
    if ids.null_count or dates.null_count or amounts.null_count:
        return None
    if not (pa.types.is_integer(amounts.type) or pa.types.is_floating(amounts.type)):
        return None
    if pa.types.is_timestamp(dates.type):
        days = np.floor_divide(_buffer_ints(pc.cast(dates, pa.timestamp("s")).cast(pa.int64())), 86400)
    elif pa.types.is_date32(dates.type):
        days = _buffer_ints(dates.cast(pa.int32())).astype(np.int64)
    else:
        return None
    if len(days) and (days.min() < -25567 or days.max() >= 47482):   # schema's 1900..2100 range
        return None
    ids = ids.combine_chunks()
    if len(ids) and _maybe_padded(ids):
        return None     # padded or quoted ids: csvio and the schema treat them exactly as for sheets
    if len(ids) and pc.min(pc.binary_length(ids)).as_py() == 0:
        return None
    amt = _buffer_ints(amounts).astype(np.float64)
    if not np.isfinite(amt).all():
        return None
    codes, uniq = _encode(ids)
    return Orders(codes, uniq, days, amt)


def _csv_date_cell(path: Path, enc: str, column: int):
    """`where` for the fast path, which keeps no line numbers: order i's date cell (name!C12), found by reading
    the file up to it only when a message needs it. Its records are its non-blank lines (pyarrow skips blank
    ones, and a file with a line break inside a cell takes the general path)."""
    letter, i = "", column + 1
    while i:
        i, r = divmod(i - 1, 26)
        letter = chr(65 + r) + letter

    def where(k: int) -> str:
        with open(path, encoding=enc, newline="") as f:
            reader = csv.reader(f)
            seen, last = -1, 0          # -1: the header record
            for fields in reader:
                start, last = last + 1, reader.line_num
                if fields:
                    if seen == k:
                        return f"{path.name}!{letter}{start}"
                    seen += 1
        return path.name
    return where


def _maybe_padded(ids) -> bool:
    """Whether any id may need csvio's or the schema's cleaning: it starts or ends with ASCII whitespace or a
    non-ASCII byte (which covers the ideographic space), or starts with an apostrophe. Two bytes per id."""
    import pyarrow as pa
    wide = pa.types.is_large_string(ids.type)
    buf = ids.buffers()
    off = np.frombuffer(buf[1], dtype=np.int64 if wide else np.int32)[ids.offset:ids.offset + len(ids) + 1]
    if buf[2] is None:
        return False
    data = np.frombuffer(buf[2], dtype=np.uint8)
    nonempty = off[1:] > off[:-1]
    first, last = data[off[:-1][nonempty]], data[off[1:][nonempty] - 1]
    # an apostrophe in front is csvio's formula neutralisation ('=…), which csvio.read_csv removes
    return bool(((first <= 32) | (first >= 0x80) | (first == 0x27) | (last <= 32) | (last >= 0x80)).any())


def _encode(ids):
    """Codes and distinct ids (an Arrow array) of an Arrow string array."""
    return encode_arrow_ids(ids.combine_chunks() if hasattr(ids, "combine_chunks") else ids)


class Labels:
    """A column of labels as indices into a short list (segments, statuses): written as an Arrow dictionary."""

    def __init__(self, index, labels):
        self.index, self.labels = np.asarray(index), list(labels)

    def values(self) -> np.ndarray:
        return np.asarray(self.labels, dtype=object)[self.index]


def _strings(values):
    """Python strings as an Arrow string array, built from its buffers (see `rfm._from_numpy`)."""
    import pyarrow as pa
    b = [str(v).encode("utf-8") for v in values]
    off = np.zeros(len(b) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in b], out=off[1:])
    return pa.Array.from_buffers(pa.large_string(), len(b), [None, pa.py_buffer(off), pa.py_buffer(b"".join(b))])


def _take(ids, sel):
    """ids[sel] for an Arrow array or a numpy array; `sel` None means all."""
    if sel is None:
        return ids
    return ids.take(_from_numpy(np.asarray(sel, dtype=np.int64))) if hasattr(ids, "take") and not isinstance(
        ids, np.ndarray) else ids[sel]


def _orders_subset_table():
    from .. import schema
    cols = tuple(schema.ORDERS.by_key[k] for k in ("customer_id", "order_date", "amount"))
    return schema.Table("orders", schema.ORDERS.ja, cols)


def _conformed_csv(path: Path) -> Orders:
    """The general path: `csvio.read_csv` (line numbers, column letters, cp932) and `schema.conform`, so every
    bad value is reported by CSV line and column before anything is written."""
    from .. import csvio, schema
    raw = csvio.read_csv(path)
    df = schema.conform(raw, _orders_subset_table(), sheet=path.name, check_ids=False)
    return _frame_arrays(df)


def _frame_arrays(df) -> Orders:
    """Orders arrays from a conformed orders DataFrame (workbook or the general CSV path)."""
    import pyarrow as pa
    codes, uniq = factorize_ids(df["customer_id"].array)
    return Orders(codes, pa.array(uniq), order_days(df["order_date"]), df["amount"].to_numpy(dtype=np.float64),
                  cell_namer(df))


def is_workbook(path) -> bool:
    """Whether the `rfm` / `lapse` INPUT is read as a workbook (else as an orders CSV)."""
    return Path(path).suffix.lower() in _WORKBOOK_SUFFIXES


def read_orders(input_path) -> tuple[Orders, dict | None]:
    """Orders from a workbook (its 注文 table, checked as the jobs check it; also returns its 設定) or a CSV
    (settings None). A workbook open in Excel is read as last saved: nothing is written to it."""
    p = Path(input_path)
    if not p.is_file():
        raise messages.BadFile("book_not_found" if is_workbook(p) else "csv_not_found", name=p.name)
    if is_workbook(p):
        from ..book import open_book
        with open_book(p, read_only=True) as book:
            orders = read_book_orders(book).orders
            s = book.settings()
        return _frame_arrays(orders), s
    return read_orders_csv(p), None


def _dates(o: Orders, day: int):
    """The `DateCheck` of the file's orders against the as-of day (and today)."""
    return check_days(o.days, np.datetime64(day, "D"), o.where)


def _as_of_day(as_of) -> int:
    if as_of is None:
        as_of = dt.date.today()
    return int(np.datetime64(str(as_of)[:10], "D").astype(np.int64))


def rfm_table(o: Orders, as_of_day: int, *, method="quintile", frequency="orders", monetary="total",
              thresholds=None, segment_map=None) -> dict:
    """Column name -> array: the CSV the `rfm` command writes (the columns of rfm.score)."""
    keep = o.days <= as_of_day
    codes, days, amounts = (o.codes, o.days, o.amounts) if keep.all() else \
        (o.codes[keep], o.days[keep], o.amounts[keep])
    s = rfm.summarize_arrays(codes, len(o.ids), days, amounts, as_of_day, frequency=frequency, monetary=monetary)
    has = s["orders"] > 0
    sel = None if has.all() else np.flatnonzero(has)
    pick = (lambda a: a) if sel is None else (lambda a: a[sel])
    thresholds = {k: v for k, v in (thresholds or {}).items() if v is not None}
    r, f, m = rfm.score_arrays(pick(s["recency_days"]), pick(s["frequency"]), pick(s["monetary"]), method=method,
                               thresholds=thresholds)
    sm = rfm.SegmentMap.from_rows(segment_map) if segment_map else rfm.DEFAULT_SEGMENTS
    cell = ((r - 1) * 5 + (f - 1)).astype(np.int8)
    code = (r - 1) * 25 + (f - 1) * 5 + (m - 1)
    return {"customer_id": _take(o.ids, sel), "recency_days": pick(s["recency_days"]),
            "frequency": pick(s["frequency"]), "monetary": pick(s["monetary"]), "first_order": pick(s["first"]),
            "last_order": pick(s["last"]), "tenure_days": pick(s["tenure_days"]), "orders": pick(s["orders"]),
            "r": r, "f": f, "m": m,
            "rfm_code": Labels(code.astype(np.int8), [f"{a}{b}{c}" for a in range(1, 6) for b in range(1, 6)
                                                     for c in range(1, 6)]),
            "rfm_sum": r + f + m,
            "segment": Labels(cell, [x for row in sm.en for x in row]),
            "segment_ja": Labels(cell, [x for row in sm.ja for x in row])}


def _write_csv(cols: dict, out, date_cols=()) -> None:
    """UTF-8 with BOM so Excel on Japanese Windows opens the Japanese labels correctly; dates as YYYY-MM-DD."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    arrays = {}
    for k, v in cols.items():
        if isinstance(v, Labels):
            arrays[k] = pa.DictionaryArray.from_arrays(_from_numpy(v.index.astype(np.int32)), _strings(v.labels))
        elif not isinstance(v, np.ndarray):
            arrays[k] = v                                  # already Arrow
        elif k in date_cols:
            v = np.asarray(v, dtype=np.float64)
            ok = np.isfinite(v) & (np.abs(v) < 1e7)
            arrays[k] = _from_numpy(np.where(ok, v, 0).astype(np.int32), pa.date32(), None if ok.all() else ok)
        elif v.dtype == object:
            arrays[k] = _strings(v)
        else:
            ok = np.isfinite(v) if v.dtype.kind == "f" else None
            arrays[k] = _from_numpy(v, None, None if ok is None or ok.all() else ok)
    table = pa.Table.from_arrays(list(arrays.values()), names=list(arrays))
    opts = pacsv.WriteOptions(quoting_style="needed")
    if out in (None, "-"):
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, write_options=opts)
        sys.stdout.write(sink.getvalue().to_pybytes().decode("utf-8"))
        sys.stdout.flush()
        return
    with open(out, "wb") as f:
        f.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, f, write_options=opts)


def rfm_file(input_path, out, as_of=None, method: str | None = None) -> JobResult:
    """`xlcrm rfm INPUT --as-of DATE [--method quintile|fixed] --out rfm.csv`.

    A workbook INPUT brings its 設定 (method, thresholds, segment map); `method` given here wins.
    """
    o, s = read_orders(input_path)
    opts = rfm_options(s) if s is not None else {}
    if method:
        if method not in ("quintile", "fixed"):
            raise messages.XlcrmError("rfm_bad_method")
        opts["method"] = method
    if as_of is None and s is not None:
        as_of = s.as_of_date()
    day = _as_of_day(as_of)
    cols = rfm_table(o, day, **opts)
    if len(cols["r"]) == 0:
        raise messages.BadInput(key="rfm_no_orders")
    _write_csv(cols, out, date_cols=("first_order", "last_order"))
    n = len(cols["r"])
    dates = _dates(o, day)
    ja, en = dates.add_to(messages.text("rfm_file_done", "ja", n=n, out=out),
                          messages.text("rfm_file_done", "en", n=n, out=out))
    return JobResult(ja, en, {"customers": n, **dates.counts(), "dates": dates})
