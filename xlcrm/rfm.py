"""RFM: recency, frequency and monetary value per customer, scored 1-5 and named by an R×F segment map.

Core functions take DataFrames (English keys of `xlcrm.schema`) and return DataFrames. The array functions below
them (`summarize_arrays`, `quintile_scores`, `fixed_scores`, `SegmentMap.lookup`) are shared with the sheet
formulas and the CSV command, which skip pandas for speed.

Scoring rules (documented for staff on 設定 and in docs/rfm.md):

* **quintile** — customers are ranked by value (R: fewer days is better; F and M: more is better). A customer's
  score is ``1 + floor(5 × (customers with a strictly worse value) / customers)``. Equal values therefore always get
  equal scores, whatever the order of the rows, and each score holds about a fifth of the customers unless one
  value is shared by more than a fifth (then that group keeps one score and the next score starts after it).
  In SQL: ``1 + floor(5 * (rank() over (order by x) - 1) / count(*) over ())``.
* **fixed** — four cut points per axis as Japanese repeat-order shops write them (defaults below, editable on 設定):
  R by days since the last order, F by orders, M by yen.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --- fixed thresholds --------------------------------------------------------------------------------------------
# Defaults follow the 単品リピート convention quoted in /work/shared/FINDINGS.md (うちでのこづち): R5 ≤ 30 days …
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
    """
    codes = np.asarray(codes, dtype=np.intp)
    days = np.asarray(days, dtype=np.int64)
    count = np.bincount(codes, minlength=n)
    total = np.bincount(codes, weights=np.asarray(amounts, dtype=np.float64), minlength=n)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, codes, days)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, days)
    if frequency == "orders":
        freq = count.astype(np.int64)
    elif frequency == "days":
        freq = distinct_days(codes, n, days)
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


def distinct_days(codes: np.ndarray, n: int, days: np.ndarray) -> np.ndarray:
    """Number of distinct order days per customer (two orders on one day count once)."""
    lo = int(days.min()) if len(days) else 0
    span = int(days.max()) - lo + 1 if len(days) else 1
    key = np.unique(codes.astype(np.int64) * span + (days - lo))
    return np.bincount((key // span).astype(np.intp), minlength=n).astype(np.int64)


def quintile_scores(x: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..5: ``1 + floor(5 × (values strictly worse) / n)``; equal values always share a score."""
    x = np.asarray(x, dtype=np.float64)
    if not higher_is_better:
        x = -x
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    below = np.searchsorted(np.sort(x), x, side="left")
    return 1 + (5 * below) // n


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
    """(codes, uniques) for a column of ids, fast for the short ids shops use (see `_pack_short_strings`)."""
    import pandas as pd
    packed = _pack_short_strings(ids)
    if packed is not None:
        codes = pd.factorize(packed)[0]
        # uniques in order of first appearance, taken from the original column
        n = int(codes.max()) + 1 if len(codes) else 0
        first = np.full(n, len(codes), dtype=np.int64)
        np.minimum.at(first, codes, np.arange(len(codes)))
        return codes, np.asarray(ids.take(first) if hasattr(ids, "take") else np.asarray(ids)[first], dtype=object)
    codes, uniques = pd.factorize(ids)
    return codes, np.asarray(uniques, dtype=object)


def _pack_short_strings(ids):
    """Each id of at most 8 bytes packed into one uint64, or None.

    Hashing a million distinct strings is the slowest step of an RFM run (pandas and Arrow both take ~2 s for
    10M orders); integers hash ~5× faster. Packing is exact: shorter ids are padded with NUL bytes, and ids
    holding a NUL byte are left to the general path.
    """
    try:
        import pyarrow as pa
        arr = pa.array(ids) if not isinstance(ids, (pa.Array, pa.ChunkedArray)) else ids
    except Exception:  # not strings arrow can take (mixed objects): use the general path
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or arr.null_count or len(arr) == 0:
        return None
    wide = pa.types.is_large_string(arr.type)
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32)[arr.offset:arr.offset + len(arr) + 1]
    lengths = np.diff(offsets)
    if lengths.max() > 8:
        return None
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(1, np.uint8)
    if (data[offsets[0]:offsets[-1]] == 0).any():  # a NUL byte would make "A" and "A\0" pack alike
        return None
    starts = offsets[:-1].astype(np.int64)
    out = np.zeros(len(arr), dtype=np.uint64)
    for k in range(int(lengths.max())):
        has = lengths > k
        byte = np.where(has, data[np.minimum(starts + k, len(data) - 1)], 0).astype(np.uint64)
        out = (out << np.uint64(8)) | byte
    return out


def summarize(orders, as_of, *, frequency: str = "orders", monetary: str = "total"):
    """One row per customer with orders on or before `as_of`.

    Columns: customer_id, recency_days, frequency, monetary, first_order, last_order, tenure_days, orders.
    `frequency`: "orders" (count of orders) or "days" (distinct order days). `monetary`: "total" or "mean"
    (per order). Orders dated after `as_of` are ignored, so a past as-of date gives the scores as they were then.
    """
    import pandas as pd
    as_of_day = _day(as_of)
    d = orders["order_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    keep = d <= as_of_day
    ids = orders["customer_id"]
    if not keep.all():
        ids, d = ids[keep], d[keep]
        amounts = orders["amount"].to_numpy(dtype=np.float64)[keep]
    else:
        amounts = orders["amount"].to_numpy(dtype=np.float64)
    codes, uniques = factorize_ids(ids.array if hasattr(ids, "array") else ids)
    s = summarize_arrays(codes, len(uniques), d, amounts, as_of_day, frequency=frequency, monetary=monetary)
    return pd.DataFrame({
        "customer_id": pd.array(uniques, dtype=object).astype(str) if len(uniques) else pd.Series([], dtype=str),
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
    sm = segment_map if isinstance(segment_map, SegmentMap) else SegmentMap.from_rows(segment_map)
    r, f, m = score_arrays(summary["recency_days"].to_numpy(), summary["frequency"].to_numpy(),
                           summary["monetary"].to_numpy(), method=method, thresholds=thresholds)
    out = summary.copy()
    out["r"], out["f"], out["m"] = r.astype(np.int64), f.astype(np.int64), m.astype(np.int64)
    out["rfm_code"] = rfm_codes(r, f, m)
    out["rfm_code"] = out["rfm_code"].astype(str)
    out["rfm_sum"] = (r + f + m).astype(np.int64)
    out["segment"] = sm.lookup(r, f, "en")
    out["segment"] = out["segment"].astype(str)
    out["segment_ja"] = sm.lookup(r, f, "ja")
    out["segment_ja"] = out["segment_ja"].astype(str)
    return out
