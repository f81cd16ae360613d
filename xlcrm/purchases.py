"""What a purchase is, for every analysis (RFM, lapse, BG/NBD, the follow-up rules, dashboard, journey, steps,
referrals, pipeline): an order line dated on or before the as-of day with a positive amount. Returns (negative
amounts) and ¥0 rows (samples, cancellations) are no purchase, and two lines of one day's basket are one purchase
day. Money is another matter: revenue figures stay net of returns, each module sums amounts itself.

The array functions take per-order customer codes (0..n-1), days since 1970-01-01 and amounts; the DataFrame ones
take conformed orders (customer_id, order_date, amount) and import pandas only when called (the CSV path of
`xlcrm rfm` runs without it). tests/test_purchases.py checks that every analysis
reports the same purchase days, first and last purchase as these.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["is_purchase", "sorted_unique", "distinct_days", "history", "purchase_days", "first_purchase"]


def is_purchase(amounts, days=None, as_of_day: int | None = None) -> np.ndarray:
    """Per order line: is it a purchase (amount > 0, and dated on or before `as_of_day` when given)?"""
    buy = np.asarray(amounts, dtype=np.float64) > 0
    if as_of_day is not None:
        buy &= np.asarray(days, dtype=np.int64) <= as_of_day
    return buy


def sorted_unique(a: np.ndarray, return_counts: bool = False):
    """np.unique by sorting: numpy 2's hash-based unique is several times slower on a million integers."""
    s = np.sort(a, kind="stable" if a.dtype.kind == "V" else None)
    if len(s) == 0:
        return (s, np.zeros(0, dtype=np.int64)) if return_counts else s
    new = np.empty(len(s), dtype=bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    u = s[new]
    if not return_counts:
        return u
    return u, np.diff(np.r_[np.flatnonzero(new), len(s)])


def _select(codes, days, amounts, as_of_day):
    codes = np.asarray(codes)
    codes = codes.astype(np.int64) if codes.dtype != np.int64 else codes
    days = np.asarray(days, dtype=np.int64)
    if amounts is None and as_of_day is None:
        return codes, days
    buy = (is_purchase(amounts, days, as_of_day) if amounts is not None
           else days <= as_of_day)
    return (codes, days) if buy.all() else (codes[buy], days[buy])


def _day_pairs(codes: np.ndarray, days: np.ndarray):
    """Sorted distinct (customer, day) pairs, as two arrays: one sort of a packed int64 key."""
    if len(days) == 0:
        return codes[:0], days[:0]
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    key = sorted_unique(codes * span + (days - lo))
    return key // span, key % span + lo


def distinct_days(codes, n: int, days, amounts=None, as_of_day: int | None = None) -> np.ndarray:
    """Purchase days per customer (two lines of one day count once). Without `amounts`, every row given counts
    (callers that already kept purchases only)."""
    c, _ = _day_pairs(*_select(codes, days, amounts, as_of_day))
    return np.bincount(c.astype(np.intp), minlength=n).astype(np.int64)


def history(codes, n: int, days, amounts=None, as_of_day: int | None = None, *, gaps: bool = True) -> dict:
    """Per customer (arrays of length n): first and last purchase day, number of purchase days ("distinct"),
    second purchase day and, with `gaps`, the median gap between purchase days.

    Customers without a purchase get first = last = second = -1 and distinct = 0. `amounts` and `as_of_day`
    select the purchases; without them every row given counts.
    """
    c, d = _day_pairs(*_select(codes, days, amounts, as_of_day))
    first = np.full(n, -1, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    distinct = np.zeros(n, dtype=np.int64)
    second = np.full(n, -1, dtype=np.int64)
    median_gap = np.full(n, np.nan)
    out = {"first": first, "last": last, "distinct": distinct, "second": second}
    if gaps:
        out["median_gap"] = median_gap
    if len(c) == 0:
        return out
    start = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    cust = c[start]
    cnt = np.diff(np.r_[start, len(c)])
    first[cust] = d[start]
    last[cust] = d[start + cnt - 1]
    distinct[cust] = cnt
    rep = cnt > 1
    second[cust[rep]] = d[start[rep] + 1]
    if gaps:
        same = c[1:] == c[:-1]
        gap, gc = (d[1:] - d[:-1])[same], c[1:][same]
        if len(gap):
            gspan = int(gap.max()) + 1
            g = np.sort(gc * gspan + gap)
            gcust, gval = g // gspan, (g % gspan).astype(np.float64)
            gs = np.flatnonzero(np.r_[True, gcust[1:] != gcust[:-1]])
            gn = np.diff(np.r_[gs, len(g)])
            median_gap[gcust[gs]] = (gval[gs + (gn - 1) // 2] + gval[gs + gn // 2]) / 2
    return out


def _as_of_day(as_of) -> int:
    import pandas as pd
    return int(np.datetime64(pd.Timestamp(as_of).date(), "D").astype(np.int64))


def _order_arrays(orders: pd.DataFrame):
    """(customer codes, labels, days) of conformed orders; rows without a date get a day past any as-of."""
    import pandas as pd
    codes, labels = pd.factorize(orders["customer_id"].astype(str), sort=True)
    dates = orders["order_date"].to_numpy(dtype="datetime64[D]")
    day = np.where(np.isnat(dates), np.iinfo(np.int64).max, dates.astype(np.int64))
    return codes.astype(np.int64), np.asarray(labels, dtype=object), day


def purchase_days(orders: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per customer and purchase day up to `as_of`, sorted by customer and day; `n` numbers each
    customer's purchase days from 0. Customers are integer codes while sorting (string sorts of a million ids
    were most of the time)."""
    import pandas as pd
    codes, labels, day = _order_arrays(orders)
    c, d = _day_pairs(*_select(codes, day, orders["amount"].to_numpy(dtype=float), _as_of_day(as_of)))
    lead = np.r_[True, c[1:] != c[:-1]] if len(c) else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(lead, np.arange(len(c)), 0))
    return pd.DataFrame({"customer_id": pd.array(labels[c], dtype="str"),
                         "order_date": d.astype("datetime64[D]").astype("datetime64[ns]"),
                         "n": np.arange(len(c)) - start})


def first_purchase(orders: pd.DataFrame, as_of) -> pd.Series:
    """Each buyer's first purchase day up to `as_of` (index customer_id)."""
    import pandas as pd
    d = purchase_days(orders, as_of)
    first = d[d["n"].eq(0).to_numpy()]
    return pd.Series(first["order_date"].to_numpy(), index=pd.Index(first["customer_id"].astype(object),
                                                                      name="customer_id"), name="order_date")
