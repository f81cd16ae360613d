"""RFM: recency, frequency and monetary value per customer, scored 1-5 and named by an R×F segment map.

Core functions take DataFrames (English keys of `xlcrm.schema`) and return DataFrames. The array functions below
them (`summarize_arrays`, `quintile_scores`, `fixed_scores`, `SegmentMap.lookup`) are shared with the sheet
formulas and the CSV command, which skip pandas for speed.

Scoring rules (the 設定 sheet explains them to staff in each setting's 説明):

* **quintile** — customers are ranked by value (R: fewer days is better; F and M: more is better). A customer's
  score is ``1 + floor(5 × (customers with a strictly worse value) / customers)``. Equal values therefore always get
  equal scores, whatever the order of the rows, and each score holds about a fifth of the customers unless one
  value is shared by more than a fifth (then that group keeps one score and the next score starts after it).
  In SQL: ``1 + floor(5 * (rank() over (order by x) - 1) / count(*) over ())``.
* **fixed** — four cut points per axis as Japanese repeat-order shops write them (defaults below, editable on 設定):
  R by days since the last order, F by orders, M by yen.

Segments come from a 5×5 R×F lookup (M stays its own score), not from patterns. On 設定 it is five rows,
「RFMセグメント R5」 … 「RFMセグメント R1」, each five names for F1 … F5 separated by 、 or commas. A name may be a
segment key, its English or Japanese label (Champions / 優良), or the shop's own word, which is then used as is in
both languages.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .purchases import distinct_days, is_purchase

__all__ = ["DEFAULT_THRESHOLDS", "SEGMENTS", "DEFAULT_SEGMENT_MAP", "segment_key", "SegmentMap", "DEFAULT_SEGMENTS",
           "summarize_arrays", "quintile_scores", "fixed_scores", "check_bounds", "score_arrays", "rfm_codes",
           "factorize_ids", "encode_arrow_ids", "order_days", "summarize", "score", "name_scores", "CODES",
           "labels"]

# --- fixed thresholds --------------------------------------------------------------------------------------------
# Defaults follow the 単品リピート convention of うちでのこづち (a Japanese repeat-order CRM tool): R5 ≤ 30 days …
# R1 ≥ 366 days; F1 = 1 order … F5 ≥ 12; M1 ≤ ¥5,000 … M5 ≥ ¥20,001. The middle cut points are ours.
#   r: days at most for R5, R4, R3, R2 (more than the last → R1)
#   f: orders at least for F2, F3, F4, F5 (fewer than the first → F1)
#   m: yen at most for M1, M2, M3, M4 (more than the last → M5)
DEFAULT_THRESHOLDS = {
    "r": (30, 90, 180, 365),
    "f": (2, 3, 6, 12),
    "m": (5000, 10000, 15000, 20000),
}

# --- segments ----------------------------------------------------------------------------------------------------
# key: (English label, Japanese label)
SEGMENTS = {
    "champions": ("Champions", "優良"),
    "loyal": ("Loyal", "ロイヤル"),
    "potential_loyalist": ("Potential loyalist", "ロイヤル予備軍"),
    "new": ("New", "新規"),
    "promising": ("Promising", "有望"),
    "need_attention": ("Need attention", "要注意"),
    "about_to_sleep": ("About to sleep", "休眠予備軍"),
    "at_risk": ("At risk", "離脱危険"),
    "cant_lose": ("Can't lose", "失いたくない"),
    "hibernating": ("Hibernating", "休眠"),
}

# The widely used R×F grid (R on rows 5..1, F on columns 1..5), written as a lookup rather than regexes.
DEFAULT_SEGMENT_MAP = {
    5: ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    1: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
}


def _fold(s: str) -> str:
    import unicodedata
    return unicodedata.normalize("NFKC", str(s)).strip().lower().replace("'", "").replace("’", "").replace(" ", "_")


_SEGMENT_BY_NAME = {}
for _k, (_en, _ja) in SEGMENTS.items():
    for _name in (_k, _en, _ja):
        _SEGMENT_BY_NAME[_fold(_name)] = _k


def segment_key(name: str) -> str | None:
    """The segment key for a name typed in English or Japanese (Champions / champions / 優良), else None."""
    return _SEGMENT_BY_NAME.get(_fold(name))


@dataclass(frozen=True)
class SegmentMap:
    """A 5×5 R×F lookup: `en[r-1][f-1]` and `ja[r-1][f-1]`. Unknown names typed by staff stay as custom labels."""

    en: tuple
    ja: tuple

    @classmethod
    def from_rows(cls, rows: dict | None = None) -> "SegmentMap":
        """`rows` maps R (1..5) to five names for F1..F5 (keys, English or Japanese labels, or custom text)."""
        rows = {**DEFAULT_SEGMENT_MAP, **(rows or {})}
        en, ja = [], []
        for r in range(1, 6):
            names = list(rows[r])
            if len(names) != 5:
                raise ValueError("rfm_bad_segment_row")
            row_en, row_ja = [], []
            for name in names:
                k = segment_key(name)
                e, j = SEGMENTS[k] if k else (str(name).strip(), str(name).strip())
                row_en.append(e[:255])
                row_ja.append(j[:255])
            en.append(tuple(row_en))
            ja.append(tuple(row_ja))
        return cls(tuple(en), tuple(ja))

    def lookup(self, r: np.ndarray, f: np.ndarray, lang: str = "en") -> np.ndarray:
        """Segment label per customer (object array) from R and F scores (1..5)."""
        table = np.array([x for row in (self.en if lang == "en" else self.ja) for x in row], dtype=object)
        return table[(np.asarray(r, dtype=np.int64) - 1) * 5 + (np.asarray(f, dtype=np.int64) - 1)]


DEFAULT_SEGMENTS = SegmentMap.from_rows()


# --- array core --------------------------------------------------------------------------------------------------

def summarize_arrays(codes: np.ndarray, n: int, days: np.ndarray, amounts: np.ndarray, as_of_day: int, *,
                     frequency: str = "orders", monetary: str = "total") -> dict:
    """Per-customer figures from order arrays.

    `codes` (int, 0..n-1) is each order's customer, `days` each order's date as whole days since 1970-01-01,
    `amounts` its amount; orders after `as_of_day` must already be dropped. Customers without orders get
    orders = 0 and NaN/sentinel dates (callers drop or blank them).
    Only rows with a positive amount are purchases: a return (negative) or a ¥0 row (sample, cancellation)
    counts for no order, recency or tenure, but returns do reduce the money spent, which is floored at 0.
    """
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iu":
        codes = codes.astype(np.intp)
    days = np.asarray(days, dtype=np.int64)
    amounts = np.asarray(amounts, dtype=np.float64)
    total = np.maximum(np.bincount(codes, weights=amounts, minlength=n), 0.0)
    buy = is_purchase(amounts)
    if not buy.all():
        codes, days = codes[buy], days[buy]
    count = np.bincount(codes, minlength=n)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, codes, days)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, days)
    if frequency == "orders":
        freq = count.astype(np.int64)
    elif frequency == "days":
        freq = distinct_days(codes, n, days)     # rows left are purchases
    else:
        raise ValueError(f"frequency must be 'orders' or 'days', not {frequency!r}")
    if monetary == "total":
        money = total
    elif monetary == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            money = total / count
    else:
        raise ValueError(f"monetary must be 'total' or 'mean', not {monetary!r}")
    return {"orders": count, "frequency": freq, "monetary": money, "first": first, "last": last,
            "recency_days": as_of_day - last, "tenure_days": as_of_day - first}


def quintile_scores(x: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..5: ``1 + floor(5 × (values strictly worse) / n)``; equal values always share a score."""
    x = np.asarray(x)
    if not higher_is_better:
        x = -x
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    return 1 + (5 * _below(x)) // n


def _below(x: np.ndarray) -> np.ndarray:
    """For each value, how many values are strictly smaller."""
    if x.dtype.kind in "iu" or (x.dtype.kind == "f" and np.array_equal(x, np.floor(x)) and np.abs(x).max() < 2**52):
        lo, hi = x.min(), x.max()
        if hi - lo < 4 * len(x) + 1024:         # days, order counts, yen totals in a narrow band: count, don't sort
            v = (x - lo).astype(np.int64)
            counts = np.bincount(v)
            before = np.cumsum(counts) - counts
            return before[v]
    order = np.argsort(x, kind="stable")
    xs = x[order]
    idx = np.arange(len(x))
    run_start = np.maximum.accumulate(np.where(np.r_[True, xs[1:] != xs[:-1]], idx, 0))
    below = np.empty(len(x), dtype=np.int64)
    below[order] = run_start
    return below


def fixed_scores(x: np.ndarray, bounds, axis: str) -> np.ndarray:
    """Scores 1..5 from four cut points (see DEFAULT_THRESHOLDS for how each axis reads them)."""
    b = np.asarray(check_bounds(bounds), dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if axis == "r":
        return 5 - np.searchsorted(b, x, side="left")
    if axis == "f":
        return 1 + np.searchsorted(b, x, side="right")
    if axis == "m":
        return 1 + np.searchsorted(b, x, side="left")
    raise ValueError(axis)


def check_bounds(bounds) -> tuple:
    """Four strictly increasing numbers, or ValueError('rfm_bad_thresholds')."""
    try:
        b = tuple(float(v) for v in bounds)
    except (TypeError, ValueError):
        raise ValueError("rfm_bad_thresholds") from None
    if len(b) != 4 or any(not np.isfinite(v) for v in b) or any(b[i] >= b[i + 1] for i in range(3)):
        raise ValueError("rfm_bad_thresholds")
    return b


def score_arrays(recency_days, frequency, monetary, *, method: str = "quintile", thresholds: dict | None = None):
    """(r, f, m) score arrays by the chosen method."""
    if method == "quintile":
        return (quintile_scores(recency_days, higher_is_better=False), quintile_scores(frequency),
                quintile_scores(monetary))
    if method == "fixed":
        t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        return (fixed_scores(recency_days, t["r"], "r"), fixed_scores(frequency, t["f"], "f"),
                fixed_scores(monetary, t["m"], "m"))
    raise ValueError(f"method must be 'quintile' or 'fixed', not {method!r}")


def rfm_codes(r, f, m) -> np.ndarray:
    """'545'-style codes (object array of str)."""
    n = np.asarray(r, dtype=np.int64) * 100 + np.asarray(f, dtype=np.int64) * 10 + np.asarray(m, dtype=np.int64)
    table = np.array([str(i) for i in range(556)], dtype=object)  # 111..555; a lookup beats str() per row
    return table[n]


# --- DataFrame API -----------------------------------------------------------------------------------------------

_EPOCH_DAY = np.datetime64("1970-01-01", "D")


def _day(ts) -> int:
    import pandas as pd
    return int((np.datetime64(pd.Timestamp(ts).normalize().to_datetime64(), "D") - _EPOCH_DAY).astype(np.int64))


def factorize_ids(ids):
    """(codes, uniques) for a column of ids: codes index `uniques` (a pandas str array)."""
    import pandas as pd
    arr = _as_arrow_strings(ids)
    if arr is not None:
        codes, uniq = encode_arrow_ids(arr)
        return codes, pd.array(uniq, dtype="str")
    codes, uniques = pd.factorize(ids)
    return codes, pd.array(np.asarray(uniques, dtype=object), dtype="str")


def _as_arrow_strings(ids):
    """The ids as one null-free Arrow string array, or None (mixed objects, blanks as None)."""
    try:
        import pyarrow as pa
        arr = ids if isinstance(ids, (pa.Array, pa.ChunkedArray)) else pa.array(ids)
    except Exception:  # not strings Arrow can take: the general path
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or arr.null_count:
        return None
    return arr


def encode_arrow_ids(arr):
    """(codes, distinct ids as an Arrow array) for a null-free Arrow string array, without pandas.

    Hashing a million distinct strings is the slowest step of an RFM run (pandas and Arrow take ~2 s for 10M
    orders), so the id formats shops use get faster routes, each exact:
    * one width, a constant prefix and digits (C0000001, 000123): the number itself indexes a table (no hashing);
    * at most 8 bytes: each id packed into one uint64 (integers hash several times faster than strings);
    * anything else: Arrow's dictionary encoding of the strings.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.intp), arr
    wide = pa.types.is_large_string(arr.type)
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(1, np.uint8)
    mm = pc.min_max(pc.binary_length(arr))
    lo_len, hi_len = mm["min"].as_py(), mm["max"].as_py()
    codes = None
    if lo_len == hi_len and 0 < hi_len:
        block = data[offsets[0]:offsets[-1]].reshape(n, hi_len)
        codes = _dense_digit_codes(block)
        if codes is None and hi_len <= 8:
            packed = np.zeros((n, 8), dtype=np.uint8)
            packed[:, 8 - hi_len:] = block
            codes = _dictionary_codes(packed.view(">u8").ravel().astype(np.uint64))
    elif hi_len <= 8 and not (data[offsets[0]:offsets[-1]] == 0).any():   # NUL would make "A" and "A\0" alike
        lengths = np.diff(offsets)
        starts = offsets[:-1].astype(np.int64)
        packed = np.zeros(n, dtype=np.uint64)
        for k in range(hi_len):
            byte = np.where(lengths > k, data[np.minimum(starts + k, len(data) - 1)], 0).astype(np.uint64)
            packed = (packed << np.uint64(8)) | byte
        codes = _dictionary_codes(packed)
    if codes is None:
        enc = pc.dictionary_encode(arr)
        return _buffer_ints(enc.indices), enc.dictionary
    first = np.empty(int(codes.max()) + 1, dtype=np.int64)
    first[codes] = np.arange(n)                       # any row of each id will do as its representative
    return codes, arr.take(_from_numpy(first))


def _dense_digit_codes(block: np.ndarray):
    """Codes for fixed-width ids made of a constant prefix and up to 8 digits, in number order; else None.

    The digits are checked and converted eight at a time inside one uint64 (the SWAR routine of simdjson's
    `is_made_of_eight_digits_fast` / `parse_eight_digits_unrolled`), so 10M ids take a few vector passes.
    """
    n, w = block.shape
    row = block[0]
    nondigit = np.flatnonzero((row < 48) | (row > 57))
    p = int(nondigit[-1]) + 1 if len(nondigit) else 0
    k = w - p
    if k == 0 or k > 8 or (p and not (block[:, :p] == row[:p]).all()):
        return None
    v = np.empty(n, dtype=np.int64)
    step = 1 << 20                                   # chunks: a few small buffers reused instead of n-sized temporaries
    buf = np.full((min(step, n), 8), 0x30, dtype=np.uint8)   # left-padded with '0': eight digit characters
    tmp = np.empty(min(step, n), dtype=np.uint64)
    c = np.uint64
    for a in range(0, n, step):
        m = min(step, n - a)
        buf[:m, 8 - k:] = block[a:a + m, p:]
        u = buf[:m].view("<u8").ravel().copy()
        t = tmp[:m]
        np.add(u, c(0x0606060606060606), out=t)
        t &= c(0xF0F0F0F0F0F0F0F0)
        t >>= c(4)
        t |= u & c(0xF0F0F0F0F0F0F0F0)
        if not np.all(t == c(0x3333333333333333)):
            return None
        u -= c(0x3030303030303030)
        np.right_shift(u, c(8), out=t)
        u *= c(10)
        u += t
        np.right_shift(u, c(16), out=t)
        t &= c(0x000000FF000000FF)
        t *= c(1 + (10000 << 32))
        u &= c(0x000000FF000000FF)
        u *= c(100 + (1000000 << 32))
        u += t
        u >>= c(32)
        v[a:a + m] = u.view(np.int64)
    lo = int(v.min())
    span = int(v.max()) - lo + 1
    if span > max(8 * n, 1 << 22):                  # a sparse range would make the table larger than the data
        return None
    if lo:
        v -= lo
    present = np.zeros(span, dtype=bool)
    present[v] = True
    rank = np.cumsum(present, dtype=np.int32)        # int32: half the table, faster random reads
    rank -= 1
    return rank[v]


def _dictionary_codes(u64: np.ndarray) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc
    enc = pc.dictionary_encode(_from_numpy(u64, pa.uint64()))
    return _buffer_ints(enc.indices)


def _from_numpy(a: np.ndarray, type_=None, valid: np.ndarray | None = None):
    """A numpy array as an Arrow array built from its buffer (`pa.array` would import pandas, which the CSV
    command avoids); `valid` marks non-null entries."""
    import pyarrow as pa
    a = np.ascontiguousarray(a)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(type_ or pa.from_numpy_dtype(a.dtype), len(a), [bitmap, pa.py_buffer(a)])


def _buffer_ints(arr) -> np.ndarray:
    """A null-free numeric (Chunked)Array as numpy, from its buffers (pyarrow's to_numpy imports pandas)."""
    dtype = np.dtype(arr.type.to_pandas_dtype())
    parts = arr.chunks if hasattr(arr, "chunks") else [arr]
    chunks = [np.frombuffer(c.buffers()[1], dtype=dtype)[c.offset:c.offset + len(c)] for c in parts]
    return np.concatenate(chunks) if len(chunks) != 1 else (chunks[0] if chunks else np.zeros(0, dtype))


def order_days(dates) -> np.ndarray:
    """Whole days since 1970-01-01 of a datetime64[ns] column (conformed orders have no NaT)."""
    return dates.to_numpy(dtype="datetime64[ns]").view(np.int64) // 86_400_000_000_000


def summarize(orders, as_of, *, frequency: str = "orders", monetary: str = "total"):
    """One row per customer with orders on or before `as_of`.

    Columns: customer_id, recency_days, frequency, monetary, first_order, last_order, tenure_days, orders.
    `frequency`: "orders" (count of orders) or "days" (distinct order days). `monetary`: "total" or "mean"
    (per order). Orders dated after `as_of` are ignored, so a past as-of date gives the scores as they were then.
    """
    import pandas as pd
    as_of_day = _day(as_of)
    d = order_days(orders["order_date"])
    amounts = orders["amount"].to_numpy(dtype=np.float64)
    ids = orders["customer_id"]
    codes, uniques = factorize_ids(ids.array if hasattr(ids, "array") else ids)
    keep = d <= as_of_day
    if not keep.all():          # filter the integer codes, not the strings; customers left without orders go
        codes, d, amounts = codes[keep], d[keep], amounts[keep]
    s = summarize_arrays(codes, len(uniques), d, amounts, as_of_day, frequency=frequency, monetary=monetary)
    if not (s["orders"] > 0).all():
        has = np.flatnonzero(s["orders"] > 0)
        s = {k: v[has] for k, v in s.items()}
        uniques = uniques[has]
    return pd.DataFrame({
        "customer_id": pd.array(uniques, dtype="str"),
        "recency_days": s["recency_days"],
        "frequency": s["frequency"],
        "monetary": s["monetary"],
        "first_order": s["first"].astype("datetime64[D]").astype("datetime64[ns]"),
        "last_order": s["last"].astype("datetime64[D]").astype("datetime64[ns]"),
        "tenure_days": s["tenure_days"],
        "orders": s["orders"],
    })


def score(summary, *, method: str = "quintile", thresholds: dict | None = None,
          segment_map: SegmentMap | dict | None = None):
    """`summary` plus r, f, m (1..5), rfm_code ('545'), rfm_sum, segment (English) and segment_ja.

    `thresholds` (fixed method) overrides DEFAULT_THRESHOLDS per axis; `segment_map` is a SegmentMap or the rows
    accepted by `SegmentMap.from_rows`.
    """
    r, f, m = score_arrays(summary["recency_days"].to_numpy(), summary["frequency"].to_numpy(),
                           summary["monetary"].to_numpy(), method=method, thresholds=thresholds)
    return name_scores(summary, r, f, m, segment_map)


def name_scores(summary, r, f, m, segment_map: SegmentMap | dict | None = None):
    """`summary` plus the scores r, f, m and what follows from them: code, sum, segment (English, Japanese).
    `score` computes the scores here; a database store computes them in SQL (xlcrm/store/sql.py)."""
    sm = segment_map if isinstance(segment_map, SegmentMap) else SegmentMap.from_rows(segment_map)
    out = summary.copy()
    out["r"], out["f"], out["m"] = r.astype(np.int64), f.astype(np.int64), m.astype(np.int64)
    out["rfm_code"] = labels((r - 1) * 25 + (f - 1) * 5 + (m - 1), CODES)
    out["rfm_sum"] = (r + f + m).astype(np.int64)
    cell = (r - 1) * 5 + (f - 1)
    out["segment"] = labels(cell, [x for row in sm.en for x in row])
    out["segment_ja"] = labels(cell, [x for row in sm.ja for x in row])
    return out


CODES = [f"{a}{b}{c}" for a in range(1, 6) for b in range(1, 6) for c in range(1, 6)]   # index (r-1)*25+(f-1)*5+m-1


def labels(index: np.ndarray, names: list):
    """A pandas str column from indices into a short list of names (Arrow dictionary decode: no Python loop)."""
    import pandas as pd
    import pyarrow as pa
    dictionary = pa.array(names, type=pa.string())
    arr = pa.DictionaryArray.from_arrays(_from_numpy(np.asarray(index, dtype=np.int32)), dictionary)
    return pd.array(arr.cast(pa.string()), dtype="str")
